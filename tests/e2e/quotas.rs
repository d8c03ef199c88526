//! Plan caps as conditional counters, usage, the REST gate and per-key limits set by the
//! platform admin — against DynamoDB Local.

use tower::ServiceExt;
use wati_tests::shared::store::Reserve;
use wati_tests::shared::{cap_for, Limit, Plan};
use wati_tests::*;

async fn granted_count(
    app: &TestApp,
    tenant: &str,
    limit: Limit,
    cap: Option<u32>,
    n: usize,
) -> usize {
    let now = app.clock.now();
    let tries = (0..n).map(|_| app.state.store.reserve(tenant, limit, cap, now));
    futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(Reserve::Granted(_))))
        .count()
}

#[tokio::test]
async fn a_hundred_parallel_sends_against_a_cap_of_fifty() {
    let (app, t) = TestApp::with_tenant("free").await;
    let cap = cap_for(Plan::Free, &Default::default(), Limit::MessagesPerDay);
    assert_eq!(cap, Some(50));
    assert_eq!(
        granted_count(&app, &t.id, Limit::MessagesPerDay, cap, 100).await,
        50
    );
    let used = app
        .state
        .store
        .usage(&t.id, app.clock.now())
        .await
        .expect("the store answers");
    assert_eq!(
        used.get(&Limit::MessagesPerDay),
        Some(&50),
        "the counter reads exactly 50"
    );
}

#[tokio::test]
async fn a_refused_message_gives_its_unit_back() {
    let (app, t) = TestApp::with_tenant("free").await;
    let store = &app.state.store;
    let now = app.clock.now();
    let mut last = None;
    for _ in 0..50 {
        if let Ok(Reserve::Granted(r)) = store
            .reserve(&t.id, Limit::MessagesPerDay, Some(50), now)
            .await
        {
            last = Some(r);
        }
    }
    let last = last.expect("no reservation");
    assert_eq!(last.used, 50);
    assert!(matches!(
        store
            .reserve(&t.id, Limit::MessagesPerDay, Some(50), now)
            .await,
        Ok(Reserve::Exceeded { cap: 50 })
    ));
    store.release(&last).await.unwrap();
    assert!(matches!(
        store
            .reserve(&t.id, Limit::MessagesPerDay, Some(50), now)
            .await,
        Ok(Reserve::Granted(_))
    ));
    let used = store.usage(&t.id, now).await.expect("the store answers");
    assert_eq!(used.get(&Limit::MessagesPerDay), Some(&50));
}

#[tokio::test]
async fn daily_counters_roll_over_at_midnight_utc_without_a_schedule() {
    let clock = Clock::manual(at("2026-11-24T23:59:58Z"));
    let app = TestApp::start_with(TestOptions {
        clock: clock.clone(),
        ..Default::default()
    })
    .await;
    let t = app.tenant("free").await;
    assert_eq!(
        granted_count(&app, &t.id, Limit::MessagesPerDay, Some(50), 60).await,
        50
    );
    clock.set(at("2026-11-25T00:00:00Z"));
    assert_eq!(
        granted_count(&app, &t.id, Limit::MessagesPerDay, Some(50), 3).await,
        3,
        "a new day, a new budget"
    );
    let usage = t.get_ok("/api/usage").await;
    assert_eq!(
        usage["messagesPerDay"],
        json!({"used": 3, "limit": 50, "resetsAt": "2026-11-26T00:00:00Z"})
    );
    // Yesterday's counter is kept as history.
    let yesterday = app
        .state
        .store
        .usage(&t.id, at("2026-11-24T12:00:00Z"))
        .await
        .expect("the store answers");
    assert_eq!(yesterday.get(&Limit::MessagesPerDay), Some(&50));
}

#[tokio::test]
async fn a_zero_cap_refuses_without_writing_and_unlimited_still_counts() {
    let (app, t) = TestApp::with_tenant("pro").await;
    let now = app.clock.now();
    let ai = cap_for(Plan::Free, &Default::default(), Limit::AiRepliesPerDay);
    assert!(matches!(
        app.state
            .store
            .reserve(&t.id, Limit::AiRepliesPerDay, ai, now)
            .await,
        Ok(Reserve::Exceeded { cap: 0 })
    ));
    let rules = cap_for(Plan::Pro, &Default::default(), Limit::AutoReplyRules);
    assert_eq!(rules, None);
    assert_eq!(
        granted_count(&app, &t.id, Limit::AutoReplyRules, rules, 30).await,
        30
    );
    let used = app
        .state
        .store
        .usage(&t.id, now)
        .await
        .expect("the store answers");
    assert_eq!(used.get(&Limit::AutoReplyRules), Some(&30));
    assert_eq!(used.get(&Limit::AiRepliesPerDay), Some(&0));
}

#[tokio::test]
async fn a_plan_change_applies_to_the_next_request() {
    let (app, t) = TestApp::with_tenant("free").await;
    let usage = t.get("/api/usage").await.body;
    assert_eq!(usage["plan"], "free");
    assert_eq!(usage["messagesPerDay"]["limit"], 50);
    assert_eq!(usage["restApi"], false);
    assert_eq!(
        usage["devices"],
        json!({"used": 0, "limit": 1, "resetsAt": null})
    );
    assert_eq!(usage["rateLimit"]["limit"], 60);

    assert_eq!(
        app.admin()
            .patch(
                &format!("/api/admin/tenants/{}", t.id),
                json!({"plan": "pro", "limits": {"messagesPerDay": 1234}})
            )
            .await
            .status,
        StatusCode::OK
    );
    let usage = t.get("/api/usage").await.body;
    assert_eq!(usage["plan"], "pro");
    assert_eq!(usage["messagesPerDay"]["limit"], 1234);
    assert_eq!(usage["autoReplyRules"]["limit"], Value::Null, "unlimited");
    assert_eq!(
        (usage["restApi"].clone(), usage["signedWebhooks"].clone()),
        (json!(true), json!(true))
    );
}

/// The REST gate on a route built the way every `/api/public/v1` function builds it.
#[tokio::test]
async fn the_public_rest_api_is_for_pro_and_agency_only() {
    use axum::middleware::{from_fn, from_fn_with_state};
    use axum::routing::get;
    use wati_tests::shared::{require_api_key, require_rest_access};

    let app = TestApp::start().await;
    let router = axum::Router::new()
        .route("/api/public/v1/probe", get(|| async { "ok" }))
        .route_layer(from_fn(require_rest_access))
        .route_layer(from_fn_with_state(app.state.clone(), require_api_key))
        .with_state(app.state.clone());
    for (plan, expected) in [
        (
            "free",
            Some("REST API access is not available on the free plan: upgrade to Pro or Agency"),
        ),
        (
            "starter",
            Some("REST API access is not available on the starter plan: upgrade to Pro or Agency"),
        ),
        ("pro", None),
        ("agency", None),
    ] {
        let t = app.tenant(plan).await;
        let req = axum::http::Request::get("/api/public/v1/probe")
            .header("authorization", format!("Bearer {}", t.key))
            .body(axum::body::Body::empty())
            .unwrap();
        let res = router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = res.status();
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .map(|b| b.to_bytes())
            .expect("the whole body");
        match expected {
            Some(message) => {
                assert_eq!(status, 409, "{plan}");
                assert_eq!(
                    serde_json::from_slice::<Value>(&bytes).expect("JSON"),
                    json!({"error": message})
                );
            }
            None => assert_eq!((status.as_u16(), &bytes[..]), (200, &b"ok"[..]), "{plan}"),
        }
    }
}

#[tokio::test]
async fn the_platform_admin_tunes_a_keys_rate_limit() {
    let app = TestApp::start_with(TestOptions {
        clock: Clock::manual(at("2026-11-24T10:00:00Z")),
        ..Default::default()
    })
    .await;
    let t = app.tenant("pro").await;
    let key_id = t.body["key"]["id"].string();
    let list = app
        .admin()
        .get_ok(&format!("/api/admin/tenants/{}/keys", t.id))
        .await;
    assert_eq!(list["keys"][0]["id"], key_id.as_str());

    let path = format!("/api/admin/tenants/{}/keys/{key_id}", t.id);
    let body = app
        .admin()
        .patch(&path, json!({"rateLimitPerMinute": 2}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["key"]["rateLimitPerMinute"], 2);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let status = t.get("/api/usage").await.status;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429]);

    for (body, code) in [
        (json!({"rateLimitPerMinute": 0}), 400),
        (json!({}), 400),
        (json!({"status": "revoked"}), 400),
    ] {
        let status = app.admin().patch(&path, &body).await.status;
        assert_eq!(status.as_u16(), code, "{body}");
    }
    assert_eq!(
        app.admin()
            .patch(
                &format!("/api/admin/tenants/{}/keys/nope", t.id),
                json!({"rateLimitPerMinute": 5})
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.admin().status_of("/api/admin/tenants/nope/keys").await,
        StatusCode::NOT_FOUND
    );
    // Tenant keys cannot reach these routes.
    assert_eq!(
        t.patch(&path, json!({"rateLimitPerMinute": 100}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn usage_reflects_each_counter() {
    let (app, t) = TestApp::with_tenant("starter").await;
    let now = app.clock.now();
    for (limit, n) in [
        (Limit::MessagesPerDay, 7),
        (Limit::AiRepliesPerDay, 2),
        (Limit::Devices, 1),
        (Limit::AutoReplyRules, 4),
    ] {
        for _ in 0..n {
            let _ = app.state.store.reserve(&t.id, limit, None, now).await;
        }
    }
    let usage = t.get_ok("/api/usage").await;
    assert_eq!(usage["messagesPerDay"]["used"], 7);
    assert_eq!(usage["messagesPerDay"]["limit"], 500);
    assert_eq!(usage["aiRepliesPerDay"]["used"], 2);
    assert_eq!(usage["devices"]["used"], 1);
    assert_eq!(
        usage["autoReplyRules"],
        json!({"used": 4, "limit": 20, "resetsAt": null})
    );
    assert_eq!(usage["seats"]["used"], 0);
    // One batch read for the counters, after authentication.
    let Reply { headers, .. } = t.get("/api/usage").await;
    assert_eq!(header(&headers, "x-aws-calls"), "2");
}
