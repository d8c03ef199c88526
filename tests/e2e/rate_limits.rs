//! Per-key rate limits: exact under concurrency, shared through DynamoDB, per minute window.

use chrono::Duration;
use wati_tests::*;

async fn app_at(start: &str) -> TestApp {
    TestApp::start_with(TestOptions::default().clock(clock_at(start))).await
}

async fn burst(app: &TestApp, key: &str, n: usize) -> Vec<Reply> {
    let api = app.with_key(key);
    let requests = (0..n).map(|_| api.get("/api/keys"));
    futures::future::join_all(requests).await
}

#[tokio::test]
async fn parallel_requests_never_exceed_the_limit() {
    let app = app_at("2026-11-24T10:00:05Z").await;
    let t = app.tenant("pro").await;
    let results = burst(&app, &t.key, 70).await;
    let ok = with_status(&results, StatusCode::OK).len();
    let limited = with_status(&results, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (ok, limited.len()),
        (60, 10),
        "default 60 per minute, exactly"
    );
    for r in &limited {
        assert_eq!(r.header("retry-after"), "55");
        assert_eq!(r.header("x-ratelimit-remaining"), "0");
        assert_eq!(r.header("x-ratelimit-limit"), "60");
        assert_eq!(
            r.body["error"],
            "Rate limit exceeded: 60 requests per minute for this API key"
        );
    }
    let mut remaining: Vec<u32> = with_status(&results, StatusCode::OK)
        .iter()
        .map(|r| r.count("x-ratelimit-remaining"))
        .collect();
    remaining.sort();
    assert_eq!(
        remaining,
        (0..60).collect::<Vec<u32>>(),
        "each request saw its own count"
    );
    let reset = at("2026-11-24T10:01:00Z").timestamp().to_string();
    assert!(results
        .iter()
        .all(|r| r.header("x-ratelimit-reset") == reset));
}

#[tokio::test]
async fn a_new_minute_opens_a_new_window_and_limits_are_per_key() {
    let app = app_at("2026-11-24T10:00:30Z").await;
    let t = app.tenant("pro").await;
    let created = t
        .create_key(json!({"name": "tight", "rateLimitPerMinute": 5}))
        .await
        .expect(StatusCode::CREATED);
    let tight = created["apiKey"].string();
    let tight_id = created["key"]["id"].string();

    let results = burst(&app, &tight, 12).await;
    assert_eq!(with_status(&results, StatusCode::OK).len(), 5);
    // The other key has its own budget.
    assert_eq!(t.get("/api/keys").await.status, StatusCode::OK);

    app.clock.advance(Duration::seconds(30));
    let Reply {
        status, headers, ..
    } = app.with_key(&tight).get("/api/keys").await;
    assert_eq!(status, StatusCode::OK, "next minute, next window");
    assert_eq!(header(&headers, "x-ratelimit-remaining"), "4");

    // Raising the limit applies at once, within the current window.
    assert_eq!(
        t.patch(
            &format!("/api/keys/{tight_id}"),
            json!({"rateLimitPerMinute": 20})
        )
        .await
        .status,
        StatusCode::OK
    );
    let results = burst(&app, &tight, 25).await;
    assert_eq!(with_status(&results, StatusCode::OK).len(), 19);
}

#[tokio::test]
async fn an_authenticated_request_costs_one_dynamodb_call_for_auth() {
    let app = app_at("2026-11-24T10:00:00Z").await;
    let t = app.tenant("pro").await;
    // The first request of a minute opens the window (one extra call); later ones do not.
    let _ = t.get("/api/keys").await;
    let Reply {
        status, headers, ..
    } = t.get("/api/keys").await;
    assert_eq!(status, StatusCode::OK);
    // Auth + rate count (UpdateItem), then the key list (Query) and last-used times (BatchGetItem).
    assert_eq!(header(&headers, "x-aws-calls"), "3");
    assert_eq!(header(&headers, "x-aws-sequential"), "3");
    let Reply { headers, .. } = app
        .with_key("wati_0000000000000000000000000000000000")
        .get("/api/keys")
        .await;
    assert_eq!(
        header(&headers, "x-aws-calls"),
        "1",
        "an unknown key costs one call"
    );
    let Reply { headers, .. } = app.with_key("wati_bad").get("/api/keys").await;
    assert_eq!(
        header(&headers, "x-aws-calls"),
        "0",
        "a malformed key costs none"
    );
}
