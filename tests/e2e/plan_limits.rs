//! Plan caps and events where the pieces meet: sends against the daily outbound cap, the
//! REST gate on the public API, the device cap, and `message.status` events reaching a
//! tenant's webhook.

use std::time::Duration;
use wati_tests::fake_meta::{FakeMeta, GraphReply};
use wati_tests::webhooks::{Answer, Receiver};
use wati_tests::*;

async fn app_with(graph: &str) -> TestApp {
    TestApp::start_with(sending_options(graph).roomy_keys()).await
}

/// "hello" to `to`.
async fn send(t: &Api, to: &str) -> Reply {
    t.send_message(json!({"to": to, "message": "hello"})).await
}

async fn messages_used(t: &Api) -> Value {
    t.usage().await["messagesPerDay"]["used"].clone()
}

#[tokio::test]
async fn a_hundred_parallel_sends_against_a_daily_cap_of_fifty() {
    let fake = FakeMeta::start().await;
    let app = app_with(&fake.base).await;
    let t = app.tenant("pro").await;
    app.set_limits(&t.id, json!({"messagesPerDay": 50})).await;
    t.sandbox_device().await;

    let t = &t;
    let sends = (0..100).map(|i| async move { send(t, &format!("92300{i:07}")).await });
    let results = futures::future::join_all(sends).await;
    let ok = with_status(&results, StatusCode::OK).len();
    assert_eq!(ok, 50, "exactly the cap");
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(
            r.body["error"],
            "Daily outbound message limit reached (50/day on the pro plan, custom limit)"
        );
    }
    assert_eq!(messages_used(t).await, 50, "the counter reads 50");

    // A plan change takes effect at the next send.
    app.set_limits(&t.id, json!({"messagesPerDay": null})).await;
    let Reply { status, .. } = send(t, "923001234567").await;
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
    send(&t, "923001234567")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(messages_used(&t).await, 0, "refused: nothing counted");

    send(&t, "923001234567").await.expect(StatusCode::OK);
    assert_eq!(messages_used(&t).await, 1);
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
        send(&t, "923001234567")
            .await
            .expect_body(StatusCode::CONFLICT, json!({"error": message}));
        t.get("/api/public/v1/messages/some-id")
            .await
            .expect_error(StatusCode::CONFLICT, message.as_str());
        // The dashboard-style routes stay open.
        assert_eq!(t.status_of("/api/usage").await, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_device_cap_holds_and_a_deleted_device_frees_its_place() {
    let (_app, t) = TestApp::with_tenant("free").await;
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
    let usage = t.usage().await;
    assert_eq!(
        usage["devices"],
        json!({"used": 1, "limit": 1, "resetsAt": null})
    );

    assert_eq!(
        t.delete(&format!("/api/devices/{first}")).await.status,
        StatusCode::OK
    );
    let usage = t.usage().await;
    assert_eq!(usage["devices"]["used"], 0);
    t.sandbox_device().await;
}

#[tokio::test]
async fn message_status_events_reach_the_tenants_webhook() {
    let fake = FakeMeta::start().await;
    let app = app_with(&fake.base).await;
    let workers = app.spawn_workers();
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.configure_webhook(&receiver.url, Some(json!(["message.status"])))
        .await;

    let sent = send(&t, "923001234567").await.expect(StatusCode::OK);
    // sent (on the send), then delivered and read (from the sandbox worker).
    let hits = receiver.wait_for(3, Duration::from_secs(20)).await;
    drop(workers);
    let events: Vec<Value> = hits
        .iter()
        .map(|h| serde_json::from_str(&h.body).expect("JSON"))
        .collect();
    let mut statuses: Vec<&str> = events.iter().map(|e| e["status"].str()).collect();
    statuses.sort();
    assert_eq!(statuses, vec!["delivered", "read", "sent"], "{events:?}");
    for e in &events {
        assert_eq!(e["event"], "message.status");
        assert_eq!(e["id"], sent["id"]);
        assert_eq!(e["messageId"], sent["messageId"]);
        assert_eq!(e["to"], "923001234567");
    }
}

/// An API key carries an exact copy of whether the tenant's webhook wants `message.status`:
/// a send reads no webhook setting to know whether to queue its event, every webhook change
/// (set, events changed, removed) is seen by the next send, a key created later gets the
/// copy, and a tenant whose copy predates it reads the setting as before.
#[tokio::test]
async fn a_send_knows_from_its_api_key_whether_the_webhook_wants_message_status() {
    use wati_tests::shared::hash_api_key;
    use wati_tests::shared::store::keys;
    let fake = FakeMeta::start().await;
    let app = app_with(&fake.base).await;
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    // A send's `GetItem`s (its device is found by a `Query`), and whether it queued its `message.status` event.
    async fn probe(api: &Api) -> (usize, bool) {
        let reply = send(api, "923001234567").await;
        let ops: Vec<String> = reply
            .header("x-aws-operations")
            .split(',')
            .map(str::to_string)
            .collect();
        reply.ok();
        let reads = ops.iter().filter(|o| *o == "DynamoDB.GetItem").count();
        (reads, ops.iter().any(|o| o == "SQS.SendMessage"))
    }
    let events = |e: &str| json!({"url": receiver.url, "events": [e]});
    probe(&t).await; // the tenant's phone settings are read once per instance
    assert_eq!(probe(&t).await, (0, false), "no webhook, and none read");
    t.configure_webhook(&receiver.url, Some(json!(["message.status"])))
        .await;
    assert_eq!(probe(&t).await, (0, true), "wanted at once");
    t.put("/api/settings/webhook", events("message.received"))
        .await
        .ok();
    assert_eq!(probe(&t).await, (0, false), "no longer wanted");
    t.put("/api/settings/webhook", events("message.status"))
        .await
        .ok();
    let later = t
        .create_key(json!({"name": "later"}))
        .await
        .expect(StatusCode::CREATED)["apiKey"]
        .string();
    assert_eq!(
        probe(&app.with_key(&later)).await,
        (0, true),
        "a new key's copy"
    );
    t.delete("/api/settings/webhook")
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(probe(&t).await, (0, false), "removed");
    assert_eq!(probe(&app.with_key(&later)).await, (0, false));

    // Written before the copy existed: not known, so the send reads the setting, until
    // `wati-admin webhooks backfill-status-events` works the answer out, once.
    async fn forget_the_copies(app: &TestApp, tenant_id: &str, api_keys: &[&str]) {
        let tenant = (keys::tenant_pk(tenant_id), keys::TENANT_SK, "statusEvents");
        let copies = api_keys.iter().map(|k| {
            let pk = keys::api_key_pk(&hash_api_key(k));
            (pk, keys::API_KEY_SK, "tenantStatusEvents")
        });
        for (pk, sk, attr) in std::iter::once(tenant).chain(copies) {
            let mut item = app.item(&pk, sk).await;
            item.remove(attr).expect("the copy");
            app.put_raw(item).await;
        }
    }
    let backfill = || async {
        let out = app
            .cli(&["webhooks", "backfill-status-events", "--tenant", &t.id])
            .await
            .unwrap();
        serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{e}: {out}"))["report"]
            .clone()
    };
    forget_the_copies(&app, &t.id, &[&t.key, &later]).await;
    assert_eq!(probe(&t).await, (1, false), "the webhook's events");
    assert_eq!(backfill().await, json!({"written": 1, "already": 0}));
    assert_eq!(probe(&t).await, (0, false), "known again");
    assert_eq!(backfill().await, json!({"written": 0, "already": 1}));

    t.configure_webhook(&receiver.url, Some(json!(["message.status"])))
        .await;
    forget_the_copies(&app, &t.id, &[&t.key, &later]).await;
    assert_eq!(probe(&t).await, (1, true), "the webhook's events");
    assert_eq!(backfill().await, json!({"written": 1, "already": 0}));
    assert_eq!(probe(&t).await, (0, true), "known again, and wanted");
    // Every live key's copy (a probe would not tell: a "yes" is cached per instance).
    let copy = app
        .item(&keys::api_key_pk(&hash_api_key(&later)), keys::API_KEY_SK)
        .await;
    assert_eq!(
        copy.get("tenantStatusEvents"),
        Some(&aws_sdk_dynamodb::types::AttributeValue::Bool(true))
    );
}
