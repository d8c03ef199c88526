//! Per-key rate limits: exact under concurrency, shared through DynamoDB, per minute window.

use chrono::{DateTime, Duration, Utc};
use wati_shared::runtime::clock::Clock;
use wati_tests::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

async fn app_at(start: &str) -> TestApp {
    TestApp::start_with(TestOptions {
        clock: Clock::manual(at(start)),
        ..Default::default()
    })
    .await
}

async fn burst(
    app: &TestApp,
    key: &str,
    n: usize,
) -> Vec<(StatusCode, reqwest::header::HeaderMap, Value)> {
    let requests = (0..n)
        .map(|_| async { parts(app.req(Method::GET, "/api/keys", Some(key)).send().await).await });
    futures::future::join_all(requests).await
}

#[tokio::test]
async fn parallel_requests_never_exceed_the_limit() {
    let app = app_at("2026-11-24T10:00:05Z").await;
    let t = app.create_tenant("pro").await;
    let results = burst(&app, &t.key, 70).await;
    let ok = results.iter().filter(|r| r.0 == StatusCode::OK).count();
    let limited: Vec<_> = results
        .iter()
        .filter(|r| r.0 == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(
        (ok, limited.len()),
        (60, 10),
        "default 60 per minute, exactly"
    );
    for (_, headers, body) in &limited {
        assert_eq!(header(headers, "retry-after"), "55");
        assert_eq!(header(headers, "x-ratelimit-remaining"), "0");
        assert_eq!(header(headers, "x-ratelimit-limit"), "60");
        assert_eq!(
            body["error"],
            "Rate limit exceeded: 60 requests per minute for this API key"
        );
    }
    let mut remaining: Vec<u32> = results
        .iter()
        .filter(|r| r.0 == StatusCode::OK)
        .map(|r| header(&r.1, "x-ratelimit-remaining").parse().unwrap_or(999))
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
        .all(|r| header(&r.1, "x-ratelimit-reset") == reset));
}

#[tokio::test]
async fn a_new_minute_opens_a_new_window_and_limits_are_per_key() {
    let app = app_at("2026-11-24T10:00:30Z").await;
    let t = app.create_tenant("pro").await;
    let (_, _, created) = parts(
        app.req(Method::POST, "/api/keys", Some(&t.key))
            .json(&json!({"name": "tight", "rateLimitPerMinute": 5}))
            .send()
            .await,
    )
    .await;
    let tight = created["apiKey"].as_str().unwrap_or_default().to_string();
    let tight_id = created["key"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let results = burst(&app, &tight, 12).await;
    assert_eq!(results.iter().filter(|r| r.0 == StatusCode::OK).count(), 5);
    // The other key has its own budget.
    let (status, _, _) = parts(app.req(Method::GET, "/api/keys", Some(&t.key)).send().await).await;
    assert_eq!(status, StatusCode::OK);

    app.clock.advance(Duration::seconds(30));
    let (status, headers, _) =
        parts(app.req(Method::GET, "/api/keys", Some(&tight)).send().await).await;
    assert_eq!(status, StatusCode::OK, "next minute, next window");
    assert_eq!(header(&headers, "x-ratelimit-remaining"), "4");

    // Raising the limit applies at once, within the current window.
    let (status, _, _) = parts(
        app.req(
            Method::PATCH,
            &format!("/api/keys/{tight_id}"),
            Some(&t.key),
        )
        .json(&json!({"rateLimitPerMinute": 20}))
        .send()
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let results = burst(&app, &tight, 25).await;
    assert_eq!(results.iter().filter(|r| r.0 == StatusCode::OK).count(), 19);
}

#[tokio::test]
async fn an_authenticated_request_costs_one_dynamodb_call_for_auth() {
    let app = app_at("2026-11-24T10:00:00Z").await;
    let t = app.create_tenant("pro").await;
    // The first request of a minute opens the window (one extra call); later ones do not.
    let _ = parts(app.req(Method::GET, "/api/keys", Some(&t.key)).send().await).await;
    let (status, headers, _) =
        parts(app.req(Method::GET, "/api/keys", Some(&t.key)).send().await).await;
    assert_eq!(status, StatusCode::OK);
    // Auth + rate count (UpdateItem), then the key list (Query) and last-used times (BatchGetItem).
    assert_eq!(header(&headers, "x-aws-calls"), "3");
    assert_eq!(header(&headers, "x-aws-sequential"), "3");
    let (_, headers, _) = parts(
        app.req(
            Method::GET,
            "/api/keys",
            Some("wati_0000000000000000000000000000000000"),
        )
        .send()
        .await,
    )
    .await;
    assert_eq!(
        header(&headers, "x-aws-calls"),
        "1",
        "an unknown key costs one call"
    );
    let (_, headers, _) = parts(
        app.req(Method::GET, "/api/keys", Some("wati_bad"))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        header(&headers, "x-aws-calls"),
        "0",
        "a malformed key costs none"
    );
}
