//! API key lifecycle and tenant isolation.

use wati_tests::*;

/// Asserts a change of a key answered 200 with the key now `status`.
fn assert_key_status(reply: Reply, status: &str) {
    assert_eq!(
        (reply.status, &reply.body["key"]["status"]),
        (StatusCode::OK, &json!(status)),
        "{}",
        reply.body
    );
}

/// Asserts `key` is refused with a 401 saying `error`.
async fn refused(app: &TestApp, key: &str, error: &str) {
    app.with_key(key)
        .get("/api/keys")
        .await
        .expect_body(StatusCode::UNAUTHORIZED, json!({ "error": error }));
}

#[tokio::test]
async fn keys_are_shown_once_disabled_enabled_and_revoked() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let created = t
        .create_key(json!({"name": "CRM", "rateLimitPerMinute": 100}))
        .await
        .expect(StatusCode::CREATED);
    let key = created["apiKey"].string();
    let id = created["key"]["id"].string();
    assert!(wati_tests::shared::is_well_formed(&key));
    assert_eq!(created["key"]["rateLimitPerMinute"], 100);

    let list = app.with_key(&key).get_ok("/api/keys").await;
    let keys = list["keys"].array().clone();
    assert_eq!(keys.len(), 2);
    for k in &keys {
        let mut fields: Vec<&str> = k
            .as_object()
            .expect("a key is an object")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                "createdAt",
                "id",
                "lastUsedAt",
                "name",
                "prefix",
                "rateLimitPerMinute",
                "status"
            ]
        );
    }
    assert!(!list.to_string().contains(&key) && !list.to_string().contains(&t.key));

    let path = format!("/api/keys/{id}");
    let patch = |body: Value| t.patch(&path, body);
    assert_key_status(patch(json!({"status": "disabled"})).await, "disabled");
    refused(&app, &key, "API key is disabled").await;

    patch(json!({"status": "active"})).await.ok();
    assert_eq!(
        app.with_key(&key).status_of("/api/keys").await,
        StatusCode::OK
    );

    assert_key_status(t.delete(&format!("/api/keys/{id}")).await, "revoked");
    refused(&app, &key, "API key has been revoked").await;
    assert_eq!(
        patch(json!({"status": "active"})).await.status,
        StatusCode::CONFLICT,
        "a revoked key stays revoked"
    );
    assert_eq!(
        t.delete(&format!("/api/keys/{id}")).await.status,
        StatusCode::CONFLICT
    );

    // Revoked keys stay listed, with their status.
    let list = t.get("/api/keys").await.body;
    let statuses: Vec<&str> = list["keys"].strs("status");
    assert_eq!(statuses, vec!["active", "revoked"]);
}

#[tokio::test]
async fn another_tenants_key_is_not_found() {
    let app = TestApp::start().await;
    let a = app.tenant("pro").await;
    let b = app.tenant("pro").await;
    let b_key_id = b.body["key"]["id"].str();
    for method in [Method::PATCH, Method::DELETE] {
        let Reply { status, body, .. } = a
            .request(
                method.clone(),
                &format!("/api/keys/{b_key_id}"),
                Some(json!({"status": "disabled"})),
            )
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"error": "API key not found"})),
            "{method}"
        );
    }
    assert_eq!(
        b.get("/api/keys").await.status,
        StatusCode::OK,
        "B's key is untouched"
    );
    let list = a.get("/api/keys").await.body;
    assert_eq!(
        list["keys"].as_array().map(Vec::len),
        Some(1),
        "A sees only its own keys"
    );
}

#[tokio::test]
async fn bad_key_requests_are_400s() {
    let (_app, t) = TestApp::with_tenant("pro").await;
    let id = t.body["key"]["id"].string();
    let cases = [
        (
            Method::POST,
            "/api/keys".to_string(),
            json!({}),
            "missing field `name`",
        ),
        (
            Method::POST,
            "/api/keys".to_string(),
            json!({"name": ""}),
            "\"name\" must not be empty",
        ),
        (
            Method::POST,
            "/api/keys".to_string(),
            json!({"name": "x", "rateLimitPerMinute": 0}),
            "\"rateLimitPerMinute\" must be between 1 and 100000",
        ),
        (
            Method::PATCH,
            format!("/api/keys/{id}"),
            json!({}),
            "Nothing to change",
        ),
        (
            Method::PATCH,
            format!("/api/keys/{id}"),
            json!({"status": "revoked"}),
            "revoke a key with DELETE",
        ),
        (
            Method::PATCH,
            format!("/api/keys/{id}"),
            json!({"status": "paused"}),
            "Invalid \"status\"",
        ),
    ];
    for (method, path, body, expected) in cases {
        let Reply {
            status, body: res, ..
        } = t.request(method, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = res["error"].str();
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn live_keys_are_capped() {
    let (_app, t) = TestApp::with_tenant("agency").await;
    let cap = wati_tests::shared::MAX_LIVE_KEYS;
    for i in 1..cap {
        assert_eq!(
            t.create_key(json!({"name": format!("k{i}")})).await.status,
            StatusCode::CREATED
        );
    }
    let error = t
        .create_key(json!({"name": "one too many"}))
        .await
        .error(StatusCode::CONFLICT);
    assert!(error.contains("API key limit reached"), "{error}");
}
