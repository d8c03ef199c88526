//! The sandbox provider: sends without WhatsApp, then `delivered` and `read` through its
//! SQS queue and worker; statuses never move backwards.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use std::time::{Duration, Instant};
use wati_shared::domain::messages::MessageStatus;
use wati_shared::store::messages::{Direction, Message, MessageKind, MessageSource};
use wati_tests::fake_meta::FakeMeta;
use wati_tests::*;

async fn lookup(app: &TestApp, key: &str, id: &str) -> Value {
    let body = app
        .with_key(key)
        .get(&format!("/api/public/v1/messages/{id}"))
        .await
        .expect(StatusCode::OK);
    body["message"].clone()
}

#[tokio::test]
async fn a_sandbox_send_is_sent_then_delivered_then_read() {
    let fake = FakeMeta::start().await;
    let app = TestApp::start_with(sending_options(&fake.base)).await; // statuses after 1 s, 2 s
    let workers = app.server.spawn_workers();
    let t = app.tenant("pro").await;
    let device = t.sandbox_device().await;
    let sent = t
        .post(
            "/api/public/v1/send",
            json!({"to": "+923001234567", "message": "Hi from the sandbox"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(sent["status"], "sent");
    let wamid = sent["messageId"].string();
    assert!(wamid.starts_with("sandbox."), "{wamid}");
    let id = sent["id"].string();
    let first = lookup(&app, &t.key, &id).await;
    assert_eq!(first["status"], "sent");
    assert_eq!(first["device_id"], device.as_str());

    let mut seen = vec!["sent".to_string()];
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = loop {
        let m = lookup(&app, &t.key, &wamid).await;
        let status = m["status"].string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "read" {
            break m;
        }
        assert!(Instant::now() < deadline, "never read: {seen:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    for w in workers {
        w.abort();
    }
    assert!(
        seen == ["sent", "delivered", "read"] || seen == ["sent", "read"],
        "{seen:?}"
    );
    let (delivered, read) = (last["delivered_at"].str(), last["read_at"].str());
    assert!(!delivered.is_empty() && delivered <= read, "{last}");
    assert!(last["sent_at"].str() <= delivered);
    assert!(
        fake.requests().is_empty(),
        "the sandbox never talks to Meta"
    );
}

fn record(id: &str, body: Value) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m
}

fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

#[tokio::test]
async fn the_worker_applies_statuses_forward_only_and_retries_early_ones() {
    let fake = FakeMeta::start().await;
    let app = TestApp::start_with(sending_options(&fake.base)).await; // no workers running
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let sent = t
        .post(
            "/api/public/v1/send",
            json!({"to": "923001234567", "message": "x"}),
        )
        .await
        .body;
    let id = sent["id"].string();
    // A message whose send has not finished yet (still pending).
    let pending_id = uuid::Uuid::now_v7().to_string();
    let now = iso(chrono::Utc::now());
    let pending = Message {
        id: pending_id.clone(),
        tenant_id: t.id.clone(),
        direction: Direction::Out,
        peer: "923001234567".into(),
        kind: MessageKind::Text,
        text: Some("pending".into()),
        media_url: None,
        media_mimetype: None,
        media_file_name: None,
        template_name: None,
        template_language: None,
        device_id: None,
        provider: None,
        status: MessageStatus::Pending,
        wa_message_id: None,
        error: None,
        error_code: None,
        response_status: None,
        retry_after: None,
        source: MessageSource::Api,
        api_key_id: None,
        created_at: now.clone(),
        updated_at: now,
        sent_at: None,
        delivered_at: None,
        read_at: None,
        failed_at: None,
    };
    app.state
        .store
        .create_outbound(&pending, None, 0)
        .await
        .unwrap();

    let status = |message_id: &str, status: &str| json!({"tenantId": t.id, "messageId": message_id, "status": status});
    let response = fn_sandbox_worker::handle(
        &app.state,
        event(vec![
            record("r1", status(&id, "read")),
            record("r2", status(&pending_id, "delivered")),
            record("r3", status(&uuid::Uuid::now_v7().to_string(), "delivered")),
            record("r4", json!({"hello": "world"})),
        ]),
    )
    .await;
    let mut failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        ["r2", "r4"],
        "early and malformed come back; unknown is dropped"
    );
    let m = lookup(&app, &t.key, &id).await;
    assert_eq!(m["status"], "read");
    assert_eq!(m["delivered_at"], m["read_at"], "read implies delivered");

    // A late "delivered" does not move a read message back.
    let response = fn_sandbox_worker::handle(
        &app.state,
        event(vec![record("r5", status(&id, "delivered"))]),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(lookup(&app, &t.key, &id).await["status"], "read");
    // Another tenant's id in a status does nothing to this tenant's message.
    let other = app.tenant("pro").await;
    let forged = json!({"tenantId": other.id, "messageId": id, "status": "failed"});
    let response = fn_sandbox_worker::handle(&app.state, event(vec![record("r6", forged)])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(lookup(&app, &t.key, &id).await["status"], "read");
}
