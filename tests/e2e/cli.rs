//! `wati-admin` prints the same JSON as the admin API.

use wati_tests::*;

#[tokio::test]
async fn tenant_create_get_update_list() {
    let app = TestApp::start().await;
    let out = app
        .cli(&["tenant", "create", "--name", "Acme", "--plan", "pro"])
        .await
        .unwrap();
    let created: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(created["tenant"]["name"], "Acme");
    assert_eq!(created["tenant"]["plan"], "pro");
    let key = created["apiKey"].str();
    let id = created["tenant"]["id"].str();

    // The key it printed works over HTTP.
    assert_eq!(
        app.with_key(key).get("/api/keys").await.status,
        StatusCode::OK
    );

    let out = app
        .cli(&["tenant", "update", id, "--suspended", "true"])
        .await
        .expect("the store answers");
    let updated: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(updated["tenant"]["suspended"], true);
    assert_eq!(
        app.with_key(key).get("/api/keys").await.status,
        StatusCode::FORBIDDEN
    );

    let out = app
        .cli(&["tenant", "get", id])
        .await
        .expect("the store answers");
    let over_http = app
        .admin()
        .get(&format!("/api/admin/tenants/{id}"))
        .await
        .body;
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("JSON"),
        over_http,
        "same JSON as the API"
    );

    let out = app
        .cli(&["tenant", "list", "--limit", "5"])
        .await
        .expect("the store answers");
    let list: Value = serde_json::from_str(&out).expect("JSON");
    assert!(list["tenants"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["id"] == id)));

    for bad in [
        &["tenant", "create"][..],
        &["tenant", "create", "--name", "X", "--plan", "gold"],
        &["tenant", "update", id, "--suspended", "maybe"],
        &["tenant", "get", "missing"],
        &["nonsense"],
    ] {
        assert!(app.cli(bad).await.is_err(), "{bad:?}");
    }
}
