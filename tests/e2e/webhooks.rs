//! Signed outbound webhooks (issue 7): configuration, signing verified by independent
//! implementations, retries through SQS, the delivery log, redelivery, the SSRF guard at
//! delivery time, and isolation between tenants. The tenant's endpoint is a local receiver
//! (`wati_tests::webhooks::Receiver`) reached exactly as a real URL would be; only
//! `ALLOW_LOOPBACK_TARGETS=true` lets it through the guard.

use std::time::{Duration, Instant};
use wati_tests::shared::webhooks::{
    enqueue, event_id, publish, publish_all, publish_status, publish_with_key, CampaignCompleted,
    DispatchMessage, EventType, MessageKind, MessageReceived, MessageState, MessageStatus,
    WebhookEvent,
};
use wati_tests::webhooks::{verify_with_node, verify_with_standardwebhooks, Answer, Receiver};
use wati_tests::*;

/// An app whose webhook targets may be on this machine, with the dispatcher running.
async fn app(vars: &[(&str, &str)]) -> (TestApp, Workers) {
    // The tests poll the delivery log often: keys get more than the default 60/minute.
    let mut opts = TestOptions::default()
        .with("ALLOW_LOOPBACK_TARGETS", "true")
        .roomy_keys();
    for (k, v) in vars {
        opts = opts.with(k, v);
    }
    let app = TestApp::start_with(opts).await;
    let workers = app.spawn_workers();
    (app, workers)
}

const FAST: (&str, &str) = ("WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1");

fn received(n: u32) -> WebhookEvent {
    WebhookEvent::MessageReceived(MessageReceived {
        device_id: "3f1c8a52-2b7e-4a7e-9d1e-0c5b2f9a7d10".into(),
        from: "923001234567".into(),
        to: "923009999999".into(),
        text: format!("hello {n}"),
        message_id: format!("3EB0F5C8{n}"),
        kind: MessageKind::Text,
        media_url: None,
        media_error: None,
        timestamp: 1_733_832_000 + i64::from(n),
    })
}

fn campaign(n: u64) -> WebhookEvent {
    WebhookEvent::CampaignCompleted(CampaignCompleted {
        campaign_id: format!("campaign-{n}"),
        name: "November sale".into(),
        total: 10 + n,
        sent: 9 + n,
        failed: 1,
        timestamp: 1_733_832_100,
    })
}

fn status_event(n: u32) -> WebhookEvent {
    WebhookEvent::MessageStatus(MessageStatus {
        device_id: "d".into(),
        id: format!("m{n}"),
        message_id: format!("wamid.{n}"),
        to: "923001234567".into(),
        status: MessageState::Delivered,
        error: None,
        timestamp: 1_733_832_200,
    })
}

/// Publishes the events one at a time; their ids, in order.
async fn publish_each(
    app: &TestApp,
    tenant_id: &str,
    events: impl IntoIterator<Item = WebhookEvent>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for event in events {
        let id = publish(&app.state, tenant_id, event).await;
        ids.push(id.expect("the store answers"));
    }
    ids
}

async fn get_delivery(t: &Api, id: &str) -> (StatusCode, Value) {
    let Reply { status, body, .. } = t.get(&format!("/api/webhooks/deliveries/{id}")).await;
    (status, body["delivery"].clone())
}

/// Polls the delivery until it has `status` (and, if given, that many attempts), for up to
/// `secs`.
async fn wait_status(t: &Api, id: &str, status: &str, attempts: Option<usize>, secs: u64) -> Value {
    let what = format!("delivery {id} to be {status} ({attempts:?} attempts)");
    eventually(&what, Duration::from_secs(secs), || async {
        let (code, d) = get_delivery(t, id).await;
        let n = d["attempts"].as_array().map(Vec::len);
        (code == StatusCode::OK && d["status"] == status && attempts.is_none_or(|a| n == Some(a)))
            .then_some(d)
    })
    .await
}

async fn list(t: &Api, query: &str) -> (StatusCode, Value) {
    let Reply { status, body, .. } = t.get(&format!("/api/webhooks/deliveries{query}")).await;
    (status, body)
}

fn ids(page: &Value) -> Vec<String> {
    page["deliveries"]
        .array()
        .iter()
        .map(|d| d["id"].string())
        .collect()
}

#[tokio::test]
async fn configuration_is_validated_shown_without_its_secret_and_plan_gated() {
    // Production rules: https and public addresses only.
    let (strict, _w) = app(&[("ALLOW_LOOPBACK_TARGETS", "false")]).await;
    let free = strict.tenant("free").await;
    let starter = strict.tenant("starter").await;
    let pro = strict.tenant("pro").await;
    for (t, plan) in [(&free, "free"), (&starter, "starter")] {
        for (method, path) in [
            (Method::PUT, "/api/settings/webhook"),
            (Method::GET, "/api/settings/webhook"),
            (Method::POST, "/api/settings/webhook/rotate-secret"),
            (Method::POST, "/api/settings/webhook/test"),
            (Method::GET, "/api/webhooks/deliveries"),
        ] {
            let Reply { status, body, .. } = t
                .request(
                    method.clone(),
                    path,
                    Some(json!({"url": "https://8.8.8.8/hook"})),
                )
                .await;
            assert_eq!(
                (status, body),
                (
                    StatusCode::CONFLICT,
                    json!({"error": format!("Signed webhooks are not available on the {plan} plan: upgrade to Pro or Agency")})
                ),
                "{method} {path}"
            );
        }
    }
    // Turning a webhook off is never refused for the plan.
    assert_eq!(
        free.delete("/api/settings/webhook").await.status,
        StatusCode::NOT_FOUND
    );

    let put = |body: Value| pro.put("/api/settings/webhook", body);
    for (url, error) in [
        ("http://127.0.0.1:9/hook", "\"url\" must use https"),
        ("ftp://files.example/hook", "\"url\" must use https"),
        (
            "not a url",
            "\"url\" must be an absolute URL such as https://example.com/hook",
        ),
        (
            "https://user:pw@8.8.8.8/hook",
            "\"url\" must not contain a user name or password",
        ),
        (
            "https://10.1.2.3/hook",
            "\"url\" resolves to 10.1.2.3, which is not a public address",
        ),
        (
            "https://192.168.1.10/hook",
            "\"url\" resolves to 192.168.1.10, which is not a public address",
        ),
        (
            "https://169.254.169.254/latest/meta-data",
            "\"url\" resolves to 169.254.169.254, which is not a public address",
        ),
        (
            "https://[fd00::1]/hook",
            "\"url\" resolves to fd00::1, which is not a public address",
        ),
        (
            "https://127.0.0.1/hook",
            "\"url\" resolves to 127.0.0.1, which is not a public address",
        ),
    ] {
        let Reply { status, body, .. } = put(json!({ "url": url })).await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({ "error": error })),
            "{url}"
        );
    }
    // A name is judged by the addresses it resolves to.
    let error = put(json!({"url": "https://localhost/hook"}))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(error.contains("which is not a public address"), "{error}");
    for (body, error) in [
        (json!({"url": "https://8.8.8.8/h", "events": []}), "\"events\" must name at least one event type (leave it out for all of them)"),
        (json!({"url": "https://8.8.8.8/h", "events": ["message.sent"]}), "\"events\" may contain only message.received, message.status, conversation.assigned, campaign.completed, device.status, template.status, contact.opted_out, contact.opted_in; got \"message.sent\""),
        (json!({"url": "https://8.8.8.8/h", "events": ["webhook.test"]}), "\"events\" may contain only message.received, message.status, conversation.assigned, campaign.completed, device.status, template.status, contact.opted_out, contact.opted_in; got \"webhook.test\""),
    ] {
        let Reply { status, body: res, .. } = put(body).await;
        assert_eq!((status, res), (StatusCode::BAD_REQUEST, json!({ "error": error })));
    }
    put(json!({"url": "https://8.8.8.8/h", "secret": "x"}))
        .await
        .expect(StatusCode::BAD_REQUEST);

    pro.get("/api/settings/webhook")
        .await
        .expect(StatusCode::NOT_FOUND);

    // Created: the secret is shown this once.
    let created = put(json!({"url": "https://8.8.8.8/hook"}))
        .await
        .expect(StatusCode::CREATED);
    let secret = created["secret"].string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(
        created["webhook"]["events"],
        json!([
            "message.received",
            "message.status",
            "conversation.assigned",
            "campaign.completed",
            "device.status",
            "template.status",
            "contact.opted_out",
            "contact.opted_in"
        ])
    );
    let prefix = created["webhook"]["secretPrefix"]
        .str()
        .trim_end_matches('…')
        .to_string();
    assert!(secret.starts_with(&prefix) && prefix.len() >= 10);

    let shown = pro.get_ok("/api/settings/webhook").await;
    assert!(
        !shown.to_string().contains(&secret),
        "never the secret again"
    );
    assert_eq!(shown["webhook"]["url"], "https://8.8.8.8/hook");
    assert!(shown.get("secret").is_none());

    // Updated: URL and events change, the secret stays and is not shown.
    let updated = put(json!({"url": "https://1.1.1.1/other", "events": ["message.status", "message.received", "message.status"]}))
            .await.expect(StatusCode::OK);
    assert!(updated.get("secret").is_none());
    assert_eq!(
        updated["webhook"]["events"],
        json!(["message.received", "message.status"])
    );
    assert_eq!(
        updated["webhook"]["secretPrefix"],
        created["webhook"]["secretPrefix"]
    );

    let rotate = |body: Value| pro.post("/api/settings/webhook/rotate-secret", body);
    let Reply {
        status, body: res, ..
    } = rotate(json!({"overlapSeconds": 604801})).await;
    assert_eq!(
        (status, res),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "\"overlapSeconds\" must be between 0 and 604800"})
        )
    );

    let delete = || pro.delete("/api/settings/webhook");
    assert_eq!(delete().await.status, StatusCode::NO_CONTENT);
    assert_eq!(delete().await.status, StatusCode::NOT_FOUND);
    assert_eq!(rotate(json!({})).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failing_twice_then_succeeding_takes_three_signed_attempts_of_one_event() {
    let (app, _w) = app(&[FAST]).await;
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(
        vec![Answer::Status(500), Answer::Status(503)],
        Answer::Status(200),
    )
    .await;
    let secret = t.configure_webhook(&receiver.url, None).await;

    let event = received(1);
    let id = publish(&app.state, &t.id, event.clone()).await.unwrap();
    let delivery = wait_status(&t, &id, "delivered", Some(3), 30).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "exactly N+1 attempts");

    // The spec's body, exactly, and the same id and body on every attempt.
    let expected = r#"{"event":"message.received","deviceId":"3f1c8a52-2b7e-4a7e-9d1e-0c5b2f9a7d10","from":"923001234567","to":"923009999999","text":"hello 1","messageId":"3EB0F5C81","type":"text","timestamp":1733832001}"#;
    for h in &hits {
        assert_eq!(h.body, expected);
        assert_eq!(h.header("webhook-id"), id);
        assert_eq!(h.header("x-wati-event-id"), id);
        assert_eq!(h.header("content-type"), "application/json");
        assert_eq!(h.header("x-wati-event"), "message.received");
        assert!(h.header("x-wati-signature").starts_with("sha256="));
        assert!(h.header("webhook-signature").starts_with("v1,"));
        assert_eq!(h.header("x-wati-timestamp"), h.header("webhook-timestamp"));
        let ts: i64 = h.header("x-wati-timestamp").parse().expect("a number");
        assert!((ts - chrono::Utc::now().timestamp()).abs() < 60, "{ts}");
    }
    // Retries follow the schedule (1 s here).
    for pair in hits.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(900), "{gap:?}");
    }
    // Independent verifiers: the spec's Node.js snippet and the standardwebhooks package.
    let cases: Vec<_> = hits.iter().map(|h| (h, secret.as_str())).collect();
    assert_eq!(verify_with_node(&cases), vec![true; 3]);
    assert_eq!(verify_with_standardwebhooks(&cases), vec![Ok(()); 3]);
    // …and they do reject a wrong secret.
    let wrong = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert_eq!(verify_with_node(&[(&hits[0], wrong)]), vec![false]);
    assert!(verify_with_standardwebhooks(&[(&hits[0], wrong)])[0].is_err());

    // The log: each attempt with time, status code, latency and error.
    let attempts = delivery["attempts"].array().clone();
    let codes: Vec<Value> = attempts.iter().map(|a| a["statusCode"].clone()).collect();
    assert_eq!(codes, vec![json!(500), json!(503), json!(200)]);
    assert_eq!(attempts[0]["error"], "HTTP 500");
    assert_eq!(attempts[1]["error"], "HTTP 503");
    assert!(attempts[2].get("error").is_none());
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], json!(i + 1));
        assert!(a["latencyMs"].is_u64() && a["at"].is_string());
        assert_eq!(a["url"], receiver.url.as_str());
        assert_eq!(a["trigger"], "automatic");
    }
    assert_eq!(delivery["event"], "message.received");
    assert_eq!(delivery["attemptCount"], 3);
    assert_eq!(delivery["payload"], expected);
    assert!(delivery.get("nextAttemptAt").is_none());
}

#[tokio::test]
async fn an_always_failing_endpoint_gets_six_attempts_then_the_event_is_dropped_listed_and_redeliverable(
) {
    let (app, _w) = app(&[FAST]).await;
    let t = app.tenant("agency").await;
    let receiver = Receiver::start(vec![], Answer::Status(500)).await;
    t.configure_webhook(&receiver.url, None).await;
    let id = publish(&app.state, &t.id, campaign(1)).await.unwrap();

    // While retries are coming it is pending, and cannot be redelivered.
    let pending = wait_status(&t, &id, "pending", Some(1), 15).await;
    assert!(pending["nextAttemptAt"].is_string(), "{pending}");
    t.post_empty(&format!("/api/webhooks/deliveries/{id}/redeliver"))
        .await
        .expect(StatusCode::CONFLICT);

    let dropped = wait_status(&t, &id, "failed", Some(6), 40).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 6, "six attempts in all, then dropped");
    assert!(hits.iter().all(|h| h.header("webhook-id") == id));
    assert_eq!(dropped["attemptCount"], 6);

    // Dropped events stay visible.
    let (status, failed) = list(&t, "?status=failed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&failed), vec![id.clone()]);
    let (_, delivered) = list(&t, "?status=delivered").await;
    assert!(ids(&delivered).is_empty());

    // Sent again by hand: same id and body, a new round.
    receiver.answer_from_now(vec![], Answer::Status(204));
    let body = t
        .post_empty(&format!("/api/webhooks/deliveries/{id}/redeliver"))
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(body["delivery"]["status"], "pending");
    let redelivered = wait_status(&t, &id, "delivered", Some(7), 15).await;
    let hits = receiver.wait_for(7, Duration::from_secs(5)).await;
    assert_eq!(hits[6].header("webhook-id"), id);
    assert_eq!(hits[6].body, hits[0].body);
    assert_eq!(redelivered["attempts"][6]["trigger"], "manual");
    assert_eq!(redelivered["attempts"][6]["statusCode"], 204);

    for (path, code) in [
        (
            "/api/webhooks/deliveries/0190a0b0-0000-7000-8000-000000000000/redeliver",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/webhooks/deliveries/not-an-id/redeliver",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(t.post_empty(path).await.status, code, "{path}");
    }
}

#[tokio::test]
async fn redelivering_another_tenants_delivery_is_a_404_whether_or_not_a_webhook_is_set() {
    let (app, _w) = app(&[FAST]).await;
    let owner = app.tenant("pro").await;
    let receiver = Receiver::start(vec![], Answer::Status(204)).await;
    owner.configure_webhook(&receiver.url, None).await;
    let id = publish(&app.state, &owner.id, campaign(1)).await.unwrap();
    wait_status(&owner, &id, "delivered", Some(1), 15).await;
    let redeliver = format!("/api/webhooks/deliveries/{id}/redeliver");

    let without = app.tenant("pro").await;
    let with = app.tenant("pro").await;
    with.configure_webhook(&receiver.url, None).await;
    for other in [&without, &with] {
        other
            .post_empty(&redeliver)
            .await
            .expect_error(StatusCode::NOT_FOUND, "Delivery not found");
    }
    // Its own delivery, once its webhook is gone, is still a 409 that says why.
    owner
        .delete("/api/settings/webhook")
        .await
        .expect(StatusCode::NO_CONTENT);
    owner.post_empty(&redeliver).await.expect_error(
        StatusCode::CONFLICT,
        "No webhook is configured: set one with PUT /api/settings/webhook first",
    );
    assert_eq!(receiver.hits().len(), 1, "nothing sent again");
}

#[tokio::test]
async fn an_endpoint_that_hangs_past_ten_seconds_is_a_failed_attempt() {
    // The default WEBHOOK_TIMEOUT_SECONDS (10), a short schedule.
    let (app, _w) = app(&[FAST]).await;
    assert_eq!(app.state.config.webhooks.timeout_seconds, 10);
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(
        vec![Answer::Hang(Duration::from_secs(13))],
        Answer::Status(200),
    )
    .await;
    t.configure_webhook(&receiver.url, None).await;
    let id = publish(&app.state, &t.id, received(2)).await.unwrap();
    let d = wait_status(&t, &id, "delivered", Some(2), 40).await;
    let first = &d["attempts"][0];
    assert!(first.get("statusCode").is_none(), "{first}");
    assert_eq!(first["error"], "timed out: no answer within 10 s");
    let latency = first["latencyMs"].u64();
    assert!((9_900..12_500).contains(&latency), "{latency}");
    assert_eq!(d["attempts"][1]["statusCode"], 200);
    assert_eq!(receiver.hits().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_schedule() {
    // The longest wait of this schedule is 4 s: Retry-After may stretch a retry up to it.
    let (app, _w) = app(&[("WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,4")]).await;
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(
        vec![
            Answer::RetryAfter(429, "3".into()),
            // Longer than the schedule's longest wait: capped to it.
            Answer::RetryAfter(503, "3600".into()),
        ],
        Answer::Status(200),
    )
    .await;
    t.configure_webhook(&receiver.url, None).await;
    let id = publish(&app.state, &t.id, received(3)).await.unwrap();
    wait_status(&t, &id, "delivered", Some(3), 30).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3);
    let first_gap = hits[1].at - hits[0].at;
    let second_gap = hits[2].at - hits[1].at;
    assert!(
        (2900..3900).contains(&first_gap.as_millis()),
        "Retry-After 3 instead of the scheduled 1 s: {first_gap:?}"
    );
    assert!(
        (3900..6000).contains(&second_gap.as_millis()),
        "Retry-After 3600 capped to the schedule's longest wait, 4 s: {second_gap:?}"
    );
}

/// A rotation's body: how long the old secret keeps signing.
fn overlap(seconds: u32) -> Value {
    json!({ "overlapSeconds": seconds })
}

#[tokio::test]
async fn secret_rotation_keeps_verification_working_across_the_switch() {
    let (app, _w) = app(&[FAST]).await;
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    let old = t.configure_webhook(&receiver.url, None).await;

    let send = |n: u32| {
        let state = app.state.clone();
        let tenant = t.id.clone();
        async move { publish(&state, &tenant, received(n)).await.unwrap() }
    };
    send(1).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;

    let rotated = t
        .post("/api/settings/webhook/rotate-secret", overlap(4))
        .await
        .expect(StatusCode::OK);
    let rotated_at = Instant::now();
    let new = rotated["secret"].string();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(rotated["webhook"]["previousSecretPrefix"].is_string());
    assert!(rotated["webhook"]["previousSecretExpiresAt"].is_string());

    // During the overlap both secrets sign.
    send(2).await;
    let hits = receiver.wait_for(2, Duration::from_secs(10)).await;
    let during = &hits[1];
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2);
    // After it, only the new one.
    let wait = Duration::from_millis(4200).saturating_sub(rotated_at.elapsed());
    tokio::time::sleep(wait).await;
    send(3).await;
    let hits = receiver.wait_for(3, Duration::from_secs(10)).await;
    let (before, after) = (&hits[0], &hits[2]);
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1);

    // Standard Webhooks: a receiver holding either secret verifies during the overlap.
    let std = verify_with_standardwebhooks(&[
        (before, &old),
        (before, &new),
        (during, &old),
        (during, &new),
        (after, &old),
        (after, &new),
    ]);
    let ok: Vec<bool> = std.iter().map(Result::is_ok).collect();
    assert_eq!(ok, vec![true, false, true, true, false, true], "{std:?}");
    // X-Wati-Signature (the spec's verifier): the old secret's until the overlap ends.
    assert_eq!(
        verify_with_node(&[
            (before, &old),
            (during, &old),
            (during, &new),
            (after, &old),
            (after, &new),
        ]),
        vec![true, true, false, false, true]
    );

    // A leaked secret is retired at once with overlapSeconds 0.
    let leaked = t
        .post("/api/settings/webhook/rotate-secret", overlap(0))
        .await
        .expect(StatusCode::OK);
    assert!(leaked["webhook"].get("previousSecretPrefix").is_none());
    let newest = leaked["secret"].string();
    send(4).await;
    let hits = receiver.wait_for(4, Duration::from_secs(10)).await;
    assert_eq!(
        verify_with_node(&[(&hits[3], &newest), (&hits[3], &new)]),
        vec![true, false]
    );
    let std = verify_with_standardwebhooks(&[(&hits[3], &newest), (&hits[3], &new)]);
    assert_eq!(
        std.iter().map(Result::is_ok).collect::<Vec<_>>(),
        vec![true, false]
    );
}

#[tokio::test]
async fn addresses_are_checked_again_at_every_delivery() {
    // Production rules at delivery time. The settings below stand for a URL that was
    // public when it was accepted and whose name now resolves to a loopback address
    // (DNS rebinding); nothing is ever sent to it.
    let (app, _w) = app(&[
        ("ALLOW_LOOPBACK_TARGETS", "false"),
        ("WEBHOOK_RETRY_SCHEDULE", "1"),
    ])
    .await;
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .expect("the receiver's port")
        .to_string();
    // The URL saved as if it had passed the check; one event, delivered until it fails.
    let failed_at = |url: String, n: u32| {
        let (app, t) = (&app, &t);
        async move {
            let (secret, now) = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", chrono::Utc::now());
            let store = &app.state.store;
            store
                .put_webhook_unchecked(&t.id, &url, secret, now)
                .await
                .unwrap();
            let id = publish(&app.state, &t.id, received(n)).await.unwrap();
            wait_status(t, &id, "failed", Some(2), 20).await
        }
    };
    let d = failed_at(format!("https://localhost:{port}/hook"), 4).await;
    for a in d["attempts"].array().iter() {
        let error = a["error"].str();
        assert!(
            error.starts_with("refused: the URL resolves to")
                && error.contains("not a public address"),
            "{error}"
        );
        assert!(a.get("statusCode").is_none());
    }
    // A loopback IP over plain http is refused before any connection too.
    let d = failed_at(receiver.url.clone(), 5).await;
    assert_eq!(d["attempts"][0]["error"], "refused: the URL must use https");
    assert!(receiver.hits().is_empty(), "nothing reached the address");
}

#[tokio::test]
async fn a_dead_endpoint_does_not_delay_other_tenants() {
    let (app, _w) = app(&[FAST, ("WEBHOOK_TIMEOUT_SECONDS", "3")]).await;
    let dead_tenant = app.tenant("pro").await;
    let live_tenant = app.tenant("pro").await;
    let dead = Receiver::start(vec![], Answer::Hang(Duration::from_secs(30))).await;
    let live = Receiver::start(vec![], Answer::Status(200)).await;
    dead_tenant.configure_webhook(&dead.url, None).await;
    live_tenant.configure_webhook(&live.url, None).await;

    // A backlog for the dead endpoint (more than one batch), then one event for another
    // tenant behind it.
    let stuck = publish_all(&app.state, &dead_tenant.id, (0..15).map(received).collect())
        .await
        .unwrap();
    assert_eq!(stuck.len(), 15);
    dead.wait_for(1, Duration::from_secs(10)).await;
    let published = Instant::now();
    publish(&app.state, &live_tenant.id, received(99))
        .await
        .unwrap();
    let hits = live.wait_for(1, Duration::from_secs(10)).await;
    let waited = hits[0].at - published;
    assert!(
        waited < Duration::from_millis(2500),
        "the live tenant waited {waited:?} behind a 3 s timeout"
    );
    // A batch's attempts run side by side: 15 hanging first attempts take about one
    // timeout per batch, not one per event.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    loop {
        let (_, page) = list(&dead_tenant, "?status=pending&limit=100").await;
        let done = page["deliveries"]
            .array()
            .iter()
            .filter(|d| d["attemptCount"].as_u64() >= Some(1))
            .count();
        if done == 15 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{done}/15 first attempts after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_by_status_and_type_a_page_at_a_time() {
    let (app, _w) = app(&[("WEBHOOK_RETRY_SCHEDULE", "1")]).await;
    let t = app.tenant("pro").await;
    let other = app.tenant("pro").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.configure_webhook(&receiver.url, None).await;

    let mut delivered = publish_each(&app, &t.id, (0..3).map(received)).await;
    delivered.extend(publish_each(&app, &t.id, (0..2).map(campaign)).await);
    for id in &delivered {
        wait_status(&t, id, "delivered", None, 20).await;
    }
    receiver.answer_from_now(vec![], Answer::Status(500));
    let failed = publish_each(&app, &t.id, (0..2).map(status_event)).await;
    for id in &failed {
        wait_status(&t, id, "failed", Some(2), 20).await;
    }
    let mut all: Vec<String> = delivered.iter().chain(&failed).cloned().collect();
    all.sort();
    all.reverse();

    let (status, page) = list(&t, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), all, "newest first");
    assert_eq!(page["nextCursor"], Value::Null);
    for d in page["deliveries"].array().iter() {
        assert!(
            d["attempts"].as_array().is_some_and(|a| !a.is_empty()),
            "{d}"
        );
        assert!(d.get("payload").is_none(), "the list leaves bodies out");
    }
    let expect = |want: &[&String]| {
        let mut v: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        v.sort();
        v.reverse();
        v
    };
    for (query, want) in [
        ("?status=failed", expect(&failed.iter().collect::<Vec<_>>())),
        (
            "?status=delivered",
            expect(&delivered.iter().collect::<Vec<_>>()),
        ),
        (
            "?event=campaign.completed",
            expect(&delivered[3..].iter().collect::<Vec<_>>()),
        ),
        (
            "?status=delivered&event=message.received",
            expect(&delivered[..3].iter().collect::<Vec<_>>()),
        ),
        ("?status=failed&event=message.received", vec![]),
        ("?status=pending", vec![]),
        (
            "?event=message.status",
            expect(&failed.iter().collect::<Vec<_>>()),
        ),
    ] {
        let (status, page) = list(&t, query).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&page), want, "{query}");
    }
    // Pages follow each other without gaps or repeats, with and without a filter.
    for (filter, want) in [
        ("", all.clone()),
        (
            "&status=delivered",
            expect(&delivered.iter().collect::<Vec<_>>()),
        ),
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let q = match &cursor {
                Some(c) => format!("?limit=2{filter}&cursor={c}"),
                None => format!("?limit=2{filter}"),
            };
            let (status, page) = list(&t, &q).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(ids(&page).len() <= 2);
            seen.extend(ids(&page));
            cursor = page["nextCursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, want, "paging {filter}");
    }
    for (query, error) in [
        ("?status=lost", "\"status\" must be pending, delivered or failed; got \"lost\""),
        ("?event=message.sent", "\"event\" must be one of message.received, message.status, conversation.assigned, campaign.completed, device.status, template.status, contact.opted_out, contact.opted_in, webhook.test; got \"message.sent\""),
        ("?cursor=abc", "Invalid \"cursor\""),
        ("?limit=0", "\"limit\" must be between 1 and 100"),
        ("?limit=x", ""),
    ] {
        let (status, body) = list(&t, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        if !error.is_empty() {
            assert_eq!(body, json!({ "error": error }));
        }
    }
    // Another tenant sees none of it.
    let (_, page) = list(&other, "").await;
    assert!(ids(&page).is_empty());
    let (status, _) = get_delivery(&other, &all[0]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_subscribed_events_are_sent_once_each_and_the_test_event_on_request() {
    let (app, _w) = app(&[FAST]).await;
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.configure_webhook(&receiver.url, Some(json!(["message.received"])))
        .await;

    let skipped = publish(&app.state, &t.id, campaign(7)).await.unwrap();
    // The same event published twice (a retried publisher) is delivered once.
    let first = publish_with_key(&app.state, &t.id, received(8), "wamid.8")
        .await
        .unwrap();
    let again = publish_with_key(&app.state, &t.id, received(8), "wamid.8")
        .await
        .unwrap();
    assert_eq!(first, again);
    wait_status(&t, &first, "delivered", Some(1), 15).await;

    let queued = t
        .post_empty("/api/settings/webhook/test")
        .await
        .expect(StatusCode::ACCEPTED);
    let test_id = queued["id"].string();
    wait_status(&t, &test_id, "delivered", Some(1), 15).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let hits = receiver.hits();
    let events: Vec<String> = hits
        .iter()
        .map(|h| serde_json::from_str::<Value>(&h.body).expect("JSON")["event"].string())
        .collect();
    assert_eq!(events, vec!["message.received", "webhook.test"], "{hits:?}");
    let (status, _) = get_delivery(&t, &skipped).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "unsubscribed events leave no record"
    );

    // No webhook, no deliveries: events are dropped by the dispatcher.
    assert_eq!(
        t.delete("/api/settings/webhook").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.post_empty("/api/settings/webhook/test").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn message_status_is_queued_only_while_the_tenants_webhook_wants_it() {
    let (app, _w) = app(&[]).await;
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let id = t.send_text("+923001234567", "hello").await["id"].string();
    let message = app
        .state
        .store
        .get_message(&t.id, &id)
        .await
        .unwrap()
        .expect("the message is stored");
    // The AWS calls one publication of its `sent` status makes.
    let publish = || async {
        let ((), log) =
            shared::services::record_aws_calls("publish", publish_status(&app.state, &message))
                .await;
        log.summary().operations
    };
    // No webhook, then one for other events: one read, nothing queued.
    assert_eq!(publish().await, ["DynamoDB.GetItem"]);
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.configure_webhook(&receiver.url, Some(json!(["message.received"])))
        .await;
    assert_eq!(publish().await, ["DynamoDB.GetItem"]);
    // Subscribed: counted at once (a "no" is never cached), queued and delivered.
    t.put(
        "/api/settings/webhook",
        json!({"url": receiver.url, "events": ["message.status"]}),
    )
    .await
    .ok();
    assert_eq!(publish().await, ["DynamoDB.GetItem", "SQS.SendMessage"]);
    let sent = eventually("the sent status", Duration::from_secs(10), || async {
        receiver.hits().into_iter().find(|h| {
            let body: Value = serde_json::from_str(&h.body).unwrap();
            body["id"] == id.as_str() && body["status"] == "sent"
        })
    })
    .await;
    assert_eq!(sent.headers["x-wati-event"], "message.status");
    // The "yes" is remembered: no read while it is fresh.
    assert_eq!(publish().await, ["SQS.SendMessage"]);
}

#[tokio::test]
async fn a_message_that_is_not_due_yet_goes_back_to_the_queue_until_it_is() {
    // How waits longer than SQS's 15-minute delay work: the message is re-queued (with a
    // delay of at most 15 minutes) until its due time. Here it arrives 3 s early.
    let (app, _w) = app(&[FAST]).await;
    let t = app.tenant("pro").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.configure_webhook(&receiver.url, None).await;
    let event = received(9);
    let now = chrono::Utc::now();
    let msg = DispatchMessage {
        tenant_id: t.id.clone(),
        event_id: event_id(EventType::MessageReceived, now.timestamp_millis(), None),
        event_type: EventType::MessageReceived,
        seq: 1,
        due_at: now.timestamp() + 3,
        payload: event.body().ok(),
    };
    let sent = Instant::now();
    enqueue(&app.state, &msg, 0).await.unwrap();
    let hits = receiver.wait_for(1, Duration::from_secs(15)).await;
    let waited = hits[0].at - sent;
    assert!(
        waited >= Duration::from_millis(1900),
        "sent {waited:?} after queueing"
    );
    wait_status(&t, &msg.event_id, "delivered", Some(1), 10).await;
}

#[tokio::test]
async fn the_dispatcher_answers_lambda_batches_with_partial_failures() {
    let app =
        TestApp::start_with(TestOptions::default().with("ALLOW_LOOPBACK_TARGETS", "true")).await;
    let t = app.tenant("pro").await;
    let no_webhook = DispatchMessage {
        tenant_id: t.id.clone(),
        event_id: event_id(EventType::MessageReceived, 0, None),
        event_type: EventType::MessageReceived,
        seq: 1,
        due_at: 0,
        payload: received(1).body().ok(),
    };
    let batch = sqs_event(vec![
        sqs_record("unreadable", "not json"),
        sqs_record(
            "no-webhook",
            serde_json::to_string(&no_webhook).expect("JSON"),
        ),
    ]);
    let response = fn_webhook_dispatcher::handle(&app.state, batch).await;
    assert_eq!(
        serde_json::to_value(&response).expect("JSON"),
        json!({"batchItemFailures": [{"itemIdentifier": "unreadable"}]}),
        "the unreadable message is left for the DLQ; the other is done"
    );
    // An event of a tenant without a webhook leaves no record.
    let (status, _) = get_delivery(&t, &no_webhook.event_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_attempt_is_claimed_once_and_a_dead_workers_claim_is_taken_over_when_stale() {
    use wati_tests::shared::webhooks::{Attempt, Claim, Outcome, Trigger};
    let (app, t) = TestApp::with_tenant("pro").await;
    let store = &app.state.store;
    let now = chrono::Utc::now();
    let id = event_id(EventType::MessageReceived, now.timestamp_millis(), None);
    let body = received(1).body().unwrap();
    let create = || store.create_delivery(&t.id, &id, EventType::MessageReceived, &body, now);
    assert!(
        create().await.expect("the store answers"),
        "recorded with attempt 1 claimed"
    );
    assert!(
        !create().await.expect("the store answers"),
        "a duplicate publication is refused"
    );
    let claim =
        |seq: u32, stale_before: i64| store.claim_attempt(&t.id, &id, seq, now, stale_before);
    // Attempt 1 is held by a live worker; attempt 2 is not due until 1 is recorded.
    let fresh = now.timestamp() - 60;
    assert_eq!(claim(1, fresh).await.ok(), Some(Claim::Busy));
    assert_eq!(claim(2, fresh).await.ok(), Some(Claim::NotExpected));
    // The worker died: once its claim is stale, another takes attempt 1 over.
    let taken = claim(1, now.timestamp() + 1).await.ok();
    assert!(matches!(taken, Some(Claim::Claimed(_))), "{taken:?}");
    let attempt = Attempt {
        attempt: 1,
        at: iso(now),
        url: "https://8.8.8.8/hook".into(),
        status_code: Some(500),
        latency_ms: 3,
        error: Some("HTTP 500".into()),
        trigger: Trigger::Automatic,
    };
    let (tid, eid) = (t.id.as_str(), id.as_str());
    let record = |outcome: Outcome| {
        let attempt = attempt.clone();
        async move {
            store
                .record_attempt(tid, eid, EventType::MessageReceived, 1, &attempt, &outcome)
                .await
                .expect("the store answers")
        }
    };
    assert!(record(Outcome::RetryAt(now.timestamp() + 60)).await);
    assert!(!record(Outcome::Delivered).await, "recorded once");
    // A late duplicate of attempt 1 finds it done; attempt 2 can now be claimed, once.
    assert_eq!(claim(1, fresh).await.ok(), Some(Claim::AlreadyDone));
    assert!(matches!(
        claim(2, fresh).await.ok(),
        Some(Claim::Claimed(_))
    ));
    assert_eq!(claim(2, fresh).await.ok(), Some(Claim::Busy));
}
