//! Super admins and `wati-admin user …`.

use wati_tests::*;

#[tokio::test]
async fn a_super_admin_made_by_the_cli_administers_the_platform_with_a_jwt() {
    let app = TestApp::start().await;
    let out = app
        .cli(&[
            "user",
            "create",
            "--email",
            "Root@Platform.example",
            "--super-admin",
        ])
        .await
        .unwrap();
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["user"]["email"], "root@platform.example");
    assert_eq!(created["user"]["superAdmin"], true);
    let password = created["password"].string();

    let signed = app.login("root@platform.example", &password).await.ok();
    assert_eq!(signed["superAdmin"], true);
    assert_eq!(signed["tenant"], Value::Null);
    let root = app.with_key(signed["token"].str());
    let made = root
        .post(
            "/api/admin/tenants",
            json!({"name": "Via JWT", "plan": "pro"}),
        )
        .await
        .expect(StatusCode::CREATED);
    // Without a tenant the token opens no tenant route.
    assert_eq!(
        root.status_of("/api/contacts").await,
        StatusCode::UNAUTHORIZED
    );

    // A tenant's own admin is no super admin.
    let t = app.with_key(made["apiKey"].str());
    let invited = t.invite("owner@acme.example", "admin").await;
    let owner = app
        .accept_invitation(invited["invitation"]["token"].str(), "owner password")
        .await
        .ok();
    app.with_key(owner["token"].str())
        .get("/api/admin/tenants")
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs a super admin");

    let out = app.cli(&["user", "list", "--limit", "10"]).await.unwrap();
    let listed: Value = serde_json::from_str(&out).unwrap();
    let emails: Vec<&str> = listed["users"]
        .array()
        .iter()
        .map(|u| u["email"].str())
        .collect();
    assert_eq!(emails, ["root@platform.example", "owner@acme.example"]);

    // A reset from the terminal ends the sessions and sets the new password.
    app.cli(&[
        "user",
        "reset-password",
        "--email",
        "root@platform.example",
        "--password",
        "fresh password!",
    ])
    .await
    .unwrap();
    assert_eq!(
        root.status_of("/api/admin/tenants").await,
        StatusCode::UNAUTHORIZED
    );
    app.login("root@platform.example", "fresh password!")
        .await
        .ok();
    assert!(app
        .cli(&["user", "create", "--email", "root@platform.example"])
        .await
        .is_err_and(|e| e.contains("exists")));
}
