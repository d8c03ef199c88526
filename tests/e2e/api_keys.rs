//! API key lifecycle and tenant isolation.

use wati_tests::*;

#[tokio::test]
async fn keys_are_shown_once_disabled_enabled_and_revoked() {
    let app = TestApp::start().await;
    let t = app.create_tenant("pro").await;
    let (status, _, created) = parts(
        app.req(Method::POST, "/api/keys", Some(&t.key))
            .json(&json!({"name": "CRM", "rateLimitPerMinute": 100}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["apiKey"].as_str().unwrap_or_default().to_string();
    let id = created["key"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(wati_shared::domain::api_keys::is_well_formed(&key));
    assert_eq!(created["key"]["rateLimitPerMinute"], 100);

    let (status, _, list) = parts(app.req(Method::GET, "/api/keys", Some(&key)).send().await).await;
    assert_eq!(status, StatusCode::OK);
    let keys = list["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 2);
    for k in &keys {
        let mut fields: Vec<&str> = k
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
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

    let patch = |body: Value| {
        app.req(Method::PATCH, &format!("/api/keys/{id}"), Some(&t.key))
            .json(&body)
            .send()
    };
    let (status, _, body) = parts(patch(json!({"status": "disabled"})).await).await;
    assert_eq!(
        (status, body["key"]["status"].clone()),
        (StatusCode::OK, json!("disabled"))
    );
    let (status, _, body) = parts(app.req(Method::GET, "/api/keys", Some(&key)).send().await).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "API key is disabled"})
        )
    );

    let (status, _, _) = parts(patch(json!({"status": "active"})).await).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = parts(app.req(Method::GET, "/api/keys", Some(&key)).send().await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, body) = parts(
        app.req(Method::DELETE, &format!("/api/keys/{id}"), Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        (status, body["key"]["status"].clone()),
        (StatusCode::OK, json!("revoked"))
    );
    let (status, _, body) = parts(app.req(Method::GET, "/api/keys", Some(&key)).send().await).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "API key has been revoked"})
        )
    );
    let (status, _, _) = parts(patch(json!({"status": "active"})).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "a revoked key stays revoked");
    let (status, _, _) = parts(
        app.req(Method::DELETE, &format!("/api/keys/{id}"), Some(&t.key))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Revoked keys stay listed, with their status.
    let (_, _, list) = parts(app.req(Method::GET, "/api/keys", Some(&t.key)).send().await).await;
    let statuses: Vec<&str> = list["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["active", "revoked"]);
}

#[tokio::test]
async fn another_tenants_key_is_not_found() {
    let app = TestApp::start().await;
    let a = app.create_tenant("pro").await;
    let b = app.create_tenant("pro").await;
    let b_key_id = b.body["key"]["id"].as_str().unwrap_or_default();
    for method in [Method::PATCH, Method::DELETE] {
        let (status, _, body) = parts(
            app.req(
                method.clone(),
                &format!("/api/keys/{b_key_id}"),
                Some(&a.key),
            )
            .json(&json!({"status": "disabled"}))
            .send()
            .await,
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"error": "API key not found"})),
            "{method}"
        );
    }
    let (status, _, _) = parts(app.req(Method::GET, "/api/keys", Some(&b.key)).send().await).await;
    assert_eq!(status, StatusCode::OK, "B's key is untouched");
    let (_, _, list) = parts(app.req(Method::GET, "/api/keys", Some(&a.key)).send().await).await;
    assert_eq!(
        list["keys"].as_array().map(Vec::len),
        Some(1),
        "A sees only its own keys"
    );
}

#[tokio::test]
async fn bad_key_requests_are_400s() {
    let app = TestApp::start().await;
    let t = app.create_tenant("pro").await;
    let id = t.body["key"]["id"].as_str().unwrap_or_default().to_string();
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
        let (status, _, res) = parts(
            app.req(method, &path, Some(&t.key))
                .json(&body)
                .send()
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = res["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn live_keys_are_capped() {
    let app = TestApp::start().await;
    let t = app.create_tenant("agency").await;
    let cap = wati_shared::store::api_keys::MAX_LIVE_KEYS;
    for i in 1..cap {
        let (status, _, _) = parts(
            app.req(Method::POST, "/api/keys", Some(&t.key))
                .json(&json!({"name": format!("k{i}")}))
                .send()
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _, body) = parts(
        app.req(Method::POST, "/api/keys", Some(&t.key))
            .json(&json!({"name": "one too many"}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("API key limit reached")));
}
