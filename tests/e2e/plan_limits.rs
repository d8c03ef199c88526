//! Plan caps and events where the pieces meet: sends against the daily outbound cap, the
//! REST gate on the public API, the device cap, and `message.status` events reaching a
//! tenant's webhook.

use std::time::Duration;
use wati_tests::fake_meta::{FakeMeta, GraphReply};
use wati_tests::webhooks::{Answer, Receiver};
use wati_tests::*;

async fn app_with(graph: &str) -> TestApp {
    let mut opts = sending_options(graph);
    opts.overrides
        .push(("DEFAULT_RATE_LIMIT_PER_MINUTE".into(), "10000".into()));
    TestApp::start_with(opts).await
}

async fn send(app: &TestApp, key: &str, to: &str) -> (StatusCode, Value) {
    let Reply { status, body, .. } = app
        .with_key(key)
        .send_message(json!({"to": to, "message": "hello"}))
        .await;
    (status, body)
}

async fn messages_used(app: &TestApp, key: &str) -> Value {
    let usage = app.with_key(key).get("/api/usage").await.body;
    usage["messagesPerDay"]["used"].clone()
}

#[tokio::test]
async fn a_hundred_parallel_sends_against_a_daily_cap_of_fifty() {
    let fake = FakeMeta::start().await;
    let app = app_with(&fake.base).await;
    let t = app.tenant("pro").await;
    assert_eq!(
        app.admin()
            .patch(
                &format!("/api/admin/tenants/{}", t.id),
                json!({"limits": {"messagesPerDay": 50}})
            )
            .await
            .status,
        StatusCode::OK
    );
    t.sandbox_device().await;

    let (app_ref, key) = (&app, t.key.as_str());
    let sends = (0..100).map(|i| async move { send(app_ref, key, &format!("92300{i:07}")).await });
    let results = futures::future::join_all(sends).await;
    let ok = results.iter().filter(|r| r.0 == StatusCode::OK).count();
    assert_eq!(ok, 50, "exactly the cap");
    for (status, body) in results.iter().filter(|r| r.0 != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT);
        assert_eq!(
            body["error"],
            "Daily outbound message limit reached (50/day on the pro plan, custom limit)"
        );
    }
    assert_eq!(
        messages_used(&app, &t.key).await,
        50,
        "the counter reads 50"
    );

    // A plan change takes effect at the next send.
    app.admin()
        .patch(
            &format!("/api/admin/tenants/{}", t.id),
            json!({"limits": {"messagesPerDay": null}}),
        )
        .await;
    let (status, _) = send(&app, &t.key, "923001234567").await;
    assert_eq!(status, StatusCode::OK, "back to the pro plan's 2,000");
}

#[tokio::test]
async fn a_message_the_provider_refuses_gives_its_unit_back() {
    let fake = FakeMeta::start().await;
    let app = app_with(&fake.base).await;
    let t = app.tenant("pro").await;
    let device = t.cloud_device(&fake, "106540352242922", "EAAG-token").await;
    app.open_window(&t.id, &device, "923001234567").await;

    fake.push(GraphReply::error(
        400,
        131030,
        "Recipient phone number not in allowed list",
    ));
    let (status, body) = send(&app, &t.key, "923001234567").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        messages_used(&app, &t.key).await,
        0,
        "refused: nothing counted"
    );

    let (status, _) = send(&app, &t.key, "923001234567").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(messages_used(&app, &t.key).await, 1);
}

#[tokio::test]
async fn the_public_rest_api_refuses_free_and_starter_plans() {
    let app = TestApp::start().await;
    for plan in ["free", "starter"] {
        let t = app.tenant(plan).await;
        t.sandbox_device().await;
        let message = format!(
            "REST API access is not available on the {plan} plan: upgrade to Pro or Agency"
        );
        let (status, body) = send(&app, &t.key, "923001234567").await;
        assert_eq!(
            (status, body),
            (StatusCode::CONFLICT, json!({"error": message}))
        );
        let Reply { status, body, .. } = t.get("/api/public/v1/messages/some-id").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::CONFLICT, Some(message.as_str()))
        );
        // The dashboard-style routes stay open.
        assert_eq!(t.get("/api/usage").await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_device_cap_holds_and_a_deleted_device_frees_its_place() {
    let app = TestApp::start().await;
    let t = app.tenant("free").await;
    let first = t.sandbox_device().await;
    let body = t
        .post(
            "/api/devices",
            json!({"name": "Second", "provider": "sandbox"}),
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        "Connected device limit reached (1 on the free plan)"
    );
    let usage = t.get("/api/usage").await.body;
    assert_eq!(
        usage["devices"],
        json!({"used": 1, "limit": 1, "resetsAt": null})
    );

    assert_eq!(
        t.delete(&format!("/api/devices/{first}")).await.status,
        StatusCode::OK
    );
    let usage = t.get("/api/usage").await.body;
    assert_eq!(usage["devices"]["used"], 0);
    t.sandbox_device().await;
}

#[tokio::test]
async fn message_status_events_reach_the_tenants_webhook() {
    let fake = FakeMeta::start().await;
    let app = app_with(&fake.base).await;
    let workers = app.server.spawn_workers();
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    assert_eq!(
        t.put(
            "/api/settings/webhook",
            json!({"url": receiver.url, "events": ["message.status"]})
        )
        .await
        .status,
        StatusCode::CREATED
    );

    let (status, sent) = send(&app, &t.key, "923001234567").await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    // sent (on the send), then delivered and read (from the sandbox worker).
    let hits = receiver.wait_for(3, Duration::from_secs(20)).await;
    for w in workers {
        w.abort();
    }
    let events: Vec<Value> = hits
        .iter()
        .map(|h| serde_json::from_str(&h.body).expect("JSON"))
        .collect();
    let mut statuses: Vec<&str> = events.iter().filter_map(|e| e["status"].as_str()).collect();
    statuses.sort();
    assert_eq!(statuses, vec!["delivered", "read", "sent"], "{events:?}");
    for e in &events {
        assert_eq!(e["event"], "message.status");
        assert_eq!(e["id"], sent["id"]);
        assert_eq!(e["messageId"], sent["messageId"]);
        assert_eq!(e["to"], "923001234567");
    }
}
