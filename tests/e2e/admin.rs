//! Tenants, the platform admin key, suspension and plan changes.

use wati_tests::*;

#[tokio::test]
async fn a_new_tenant_key_works_at_once_and_a_wrong_key_is_401_json() {
    let (app, t) = TestApp::with_tenant("pro").await;
    assert!(t.key.starts_with("wati_") && t.key.len() >= 37, "{}", t.key);
    assert_eq!(t.body["tenant"]["plan"], "pro");
    assert_eq!(t.body["tenant"]["suspended"], false);
    assert_eq!(t.body["tenant"]["effectiveLimits"]["messagesPerDay"], 2000);
    assert_eq!(t.body["key"]["status"], "active");
    assert_eq!(t.body["key"]["prefix"], &t.key[..12]);

    let Reply {
        status,
        headers,
        body,
    } = t.get("/api/keys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(header(&headers, "x-ratelimit-limit"), "60");
    assert!(
        !body.to_string().contains(&t.key),
        "the key is never shown again"
    );

    let wrong = format!("wati_{}", "x".repeat(40));
    for (token, message) in [
        (Some(wrong.as_str()), "Invalid API key"),
        (
            Some("wati_short"),
            "Malformed API key: expected 'wati_' followed by at least 32 letters and digits",
        ),
        (
            None,
            "Missing Authorization header: send 'Authorization: Bearer wati_…'",
        ),
    ] {
        let reply = app.caller(token).get("/api/keys").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(reply.header("content-type").starts_with("application/json"));
        assert_eq!(reply.body, json!({"error": message}));
    }
    let anonymous = app.anonymous();
    anonymous
        .send(
            anonymous
                .builder(Method::GET, "/api/keys")
                .header("authorization", format!("Basic {}", t.key)),
        )
        .await
        .expect_error(
            StatusCode::UNAUTHORIZED,
            "Malformed Authorization header: expected 'Bearer wati_…'",
        );
}

#[tokio::test]
async fn admin_routes_need_the_platform_admin_key_from_secrets_manager() {
    let app = TestApp::start().await;
    // The template points the functions at the admin-key secret; the value lives in moto.
    assert!(matches!(
        app.state.config.api.admin_key,
        wati_tests::shared::AdminKeySource::Secret(_)
    ));
    let t = app.tenant("free").await;
    for token in [None, Some("wrong"), Some(t.key.as_str())] {
        let error = app
            .caller(token)
            .get("/api/admin/tenants")
            .await
            .error(StatusCode::UNAUTHORIZED);
        assert!(!error.is_empty(), "{token:?}");
    }
    let body = app
        .admin()
        .get_ok(&format!("/api/admin/tenants/{}", t.id))
        .await;
    assert_eq!(body["tenant"]["id"], t.id.as_str());
    app.admin()
        .get("/api/admin/tenants/nope")
        .await
        .expect_body(StatusCode::NOT_FOUND, json!({"error": "Tenant not found"}));
}

#[tokio::test]
async fn suspension_and_plan_changes_take_effect_at_once() {
    let (app, t) = TestApp::with_tenant("free").await;
    // A second key, so the change must reach every key's copy of the plan.
    let created = t.create_key(json!({"name": "second"})).await.body;
    let second = created["apiKey"].string();

    let admin = app.admin();
    let path = format!("/api/admin/tenants/{}", t.id);
    let patch = |body: Value| admin.patch(&path, body);
    let body = patch(json!({"suspended": true})).await.ok();
    assert_eq!(body["tenant"]["suspended"], true);
    for key in [&t.key, &second] {
        let body = app
            .with_key(key)
            .get("/api/keys")
            .await
            .expect(StatusCode::FORBIDDEN);
        assert_eq!(
            body["error"],
            "This account is suspended: contact the platform administrator"
        );
    }
    let body = patch(
        json!({"suspended": false, "plan": "agency", "limits": {"messagesPerDay": 75, "seats": 3}}),
    )
    .await
    .ok();
    assert_eq!(body["tenant"]["plan"], "agency");
    assert_eq!(
        body["tenant"]["limits"],
        json!({"messagesPerDay": 75, "seats": 3})
    );
    assert_eq!(body["tenant"]["effectiveLimits"]["messagesPerDay"], 75);
    assert_eq!(body["tenant"]["effectiveLimits"]["devices"], 10);

    // Every key now carries the new plan and limits.
    for key in [&t.key, &second] {
        let hash = wati_tests::shared::hash_api_key(key);
        let outcome = app.state.store.authenticate(&hash, app.clock.now()).await;
        match outcome {
            Ok(wati_tests::shared::AuthOutcome::Granted(p)) => {
                assert_eq!(p.plan, wati_tests::shared::Plan::Agency);
                assert_eq!(p.limits.messages_per_day, Some(75));
            }
            other => panic!("expected access, got {other:?}"),
        }
    }
    // `null` removes an override; absent fields stay.
    let body = patch(json!({"limits": {"messagesPerDay": null}}))
        .await
        .body;
    assert_eq!(body["tenant"]["limits"], json!({"seats": 3}));
    assert_eq!(body["tenant"]["effectiveLimits"]["messagesPerDay"], 10000);
}

#[tokio::test]
async fn tenant_listing_pages_newest_first() {
    let app = TestApp::start().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.tenant("starter").await.id);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let page1 = app.admin().get_ok("/api/admin/tenants?limit=2").await;
    let got: Vec<&str> = page1["tenants"].strs("id");
    assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str()]);
    let cursor = page1["nextCursor"].str();
    let page2 = app
        .admin()
        .get(&format!("/api/admin/tenants?limit=2&cursor={cursor}"))
        .await
        .body;
    let got: Vec<&str> = page2["tenants"].strs("id");
    assert_eq!(got, vec![ids[0].as_str()]);
    assert_eq!(page2["nextCursor"], Value::Null);

    for bad in [
        "/api/admin/tenants?limit=0",
        "/api/admin/tenants?limit=abc",
        "/api/admin/tenants?cursor=garbage",
    ] {
        let Reply { status, body, .. } = app.admin().get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn bad_tenant_input_is_a_400_that_says_what_is_wrong() {
    let (app, t) = TestApp::with_tenant("free").await;
    let cases: Vec<(Method, String, &str, &str)> = vec![
        (
            Method::POST,
            "/api/admin/tenants".into(),
            "",
            "Request body must be a JSON object",
        ),
        (
            Method::POST,
            "/api/admin/tenants".into(),
            "{",
            "Request body is not valid JSON",
        ),
        (
            Method::POST,
            "/api/admin/tenants".into(),
            r#"{"plan":"pro"}"#,
            "missing field `name`",
        ),
        (
            Method::POST,
            "/api/admin/tenants".into(),
            r#"{"name":"  "}"#,
            "\"name\" must not be empty",
        ),
        (
            Method::POST,
            "/api/admin/tenants".into(),
            r#"{"name":"A","plan":"gold"}"#,
            "Invalid \"plan\": unknown variant `gold`",
        ),
        (
            Method::POST,
            "/api/admin/tenants".into(),
            r#"{"name":"A","colour":"red"}"#,
            "unknown field `colour`",
        ),
        (
            Method::PATCH,
            format!("/api/admin/tenants/{}", t.id),
            "{}",
            "Nothing to change",
        ),
        (
            Method::PATCH,
            format!("/api/admin/tenants/{}", t.id),
            r#"{"limits":{"seats":-1}}"#,
            "Invalid \"limits.seats\"",
        ),
        (
            Method::PATCH,
            format!("/api/admin/tenants/{}", t.id),
            r#"{"suspended":"yes"}"#,
            "Invalid \"suspended\"",
        ),
    ];
    for (method, path, body, expected) in cases {
        let Reply {
            status, body: res, ..
        } = app.admin().raw(method.clone(), &path, body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {res}"
        );
        let message = res["error"].str();
        assert!(
            message.contains(expected),
            "{body}: got {message:?}, expected {expected:?}"
        );
    }
    assert_eq!(
        app.admin()
            .patch("/api/admin/tenants/missing", json!({"plan": "pro"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
