//! Super admins and `wati-admin user …`.

use wati_tests::shared::admin_cli as run;
use wati_tests::*;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

async fn login(app: &TestApp, email: &str, password: &str) -> Reply {
    app.anonymous()
        .post(
            "/api/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
}

#[tokio::test]
async fn a_super_admin_made_by_the_cli_administers_the_platform_with_a_jwt() {
    let app = TestApp::start().await;
    let out = run(
        &app.state,
        &args(&[
            "user",
            "create",
            "--email",
            "Root@Platform.example",
            "--super-admin",
        ]),
    )
    .await
    .unwrap();
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["user"]["email"], "root@platform.example");
    assert_eq!(created["user"]["superAdmin"], true);
    let password = created["password"].string();

    let signed = login(&app, "root@platform.example", &password).await.ok();
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
        root.get("/api/contacts").await.status,
        StatusCode::UNAUTHORIZED
    );

    // A tenant's own admin is no super admin.
    let t = app.with_key(made["apiKey"].str());
    let invited = t
        .post(
            "/api/team",
            json!({"email": "owner@acme.example", "role": "admin"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let owner = app
        .anonymous()
        .post(
            "/api/auth/accept-invitation",
            json!({"token": invited["invitation"]["token"], "password": "owner password"}),
        )
        .await
        .ok();
    app.with_key(owner["token"].str())
        .get("/api/admin/tenants")
        .await
        .expect_error(StatusCode::FORBIDDEN, "This action needs a super admin");

    let out = run(&app.state, &args(&["user", "list", "--limit", "10"]))
        .await
        .unwrap();
    let listed: Value = serde_json::from_str(&out).unwrap();
    let emails: Vec<&str> = listed["users"]
        .array()
        .iter()
        .map(|u| u["email"].str())
        .collect();
    assert_eq!(emails, ["root@platform.example", "owner@acme.example"]);

    // A reset from the terminal ends the sessions and sets the new password.
    run(
        &app.state,
        &args(&[
            "user",
            "reset-password",
            "--email",
            "root@platform.example",
            "--password",
            "fresh password!",
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        root.get("/api/admin/tenants").await.status,
        StatusCode::UNAUTHORIZED
    );
    login(&app, "root@platform.example", "fresh password!")
        .await
        .ok();
    assert!(run(
        &app.state,
        &args(&["user", "create", "--email", "root@platform.example"])
    )
    .await
    .is_err_and(|e| e.contains("exists")));
}
