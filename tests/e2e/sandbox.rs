//! The sandbox provider: sends without WhatsApp, then `delivered` and `read` through its
//! SQS queue and worker; statuses never move backwards.

use std::time::{Duration, Instant};
use wati_tests::fake_meta::FakeMeta;
use wati_tests::records::pending_text;
use wati_tests::shared::store::MessageSource;
use wati_tests::*;

#[tokio::test]
async fn a_sandbox_send_is_sent_then_delivered_then_read() {
    let fake = FakeMeta::start().await;
    let app = TestApp::start_with(sending_options(&fake.base)).await; // statuses after 1 s, 2 s
    let workers = app.spawn_workers();
    let t = app.tenant("pro").await;
    let device = t.sandbox_device().await;
    let sent = t.send_text("+923001234567", "Hi from the sandbox").await;
    assert_eq!(sent["status"], "sent");
    let wamid = sent["messageId"].string();
    assert!(wamid.starts_with("sandbox."), "{wamid}");
    let id = sent["id"].string();
    let first = t.message(&id).await;
    assert_eq!(first["status"], "sent");
    assert_eq!(first["device_id"], device.as_str());

    let mut seen = vec!["sent".to_string()];
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = loop {
        let m = t.message(&wamid).await;
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
    drop(workers);
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

#[tokio::test]
async fn the_worker_applies_statuses_forward_only_and_retries_early_ones() {
    let fake = FakeMeta::start().await;
    let app = TestApp::start_with(sending_options(&fake.base)).await; // no workers running
    let t = app.tenant("pro").await;
    t.sandbox_device().await;
    let sent = t
        .send_message(json!({"to": "923001234567", "message": "x"}))
        .await
        .body;
    let id = sent["id"].string();
    // A message whose send has not finished yet (still pending).
    let pending_id = uuid::Uuid::now_v7().to_string();
    let pending = pending_text(
        &pending_id,
        &t.id,
        "923001234567",
        "pending",
        MessageSource::Api,
        chrono::Utc::now(),
    );
    app.store_outbound(&pending, 0).await;

    let status = |message_id: &str, status: &str| json!({"tenantId": t.id, "messageId": message_id, "status": status});
    let response = fn_sandbox_worker::handle(
        &app.state,
        sqs_event(vec![
            sqs_record("r1", status(&id, "read")),
            sqs_record("r2", status(&pending_id, "delivered")),
            sqs_record("r3", status(&uuid::Uuid::now_v7().to_string(), "delivered")),
            sqs_record("r4", json!({"hello": "world"})),
        ]),
    )
    .await;
    assert_eq!(
        failed_ids(&response),
        ["r2", "r4"],
        "early and malformed come back; unknown is dropped"
    );
    let m = t.message(&id).await;
    assert_eq!(m["status"], "read");
    assert_eq!(m["delivered_at"], m["read_at"], "read implies delivered");

    // A late "delivered" does not move a read message back.
    let response = fn_sandbox_worker::handle(
        &app.state,
        sqs_event(vec![sqs_record("r5", status(&id, "delivered"))]),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.message(&id).await["status"], "read");
    // Another tenant's id in a status does nothing to this tenant's message.
    let other = app.tenant("pro").await;
    let forged = json!({"tenantId": other.id, "messageId": id, "status": "failed"});
    let response =
        fn_sandbox_worker::handle(&app.state, sqs_event(vec![sqs_record("r6", forged)])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.message(&id).await["status"], "read");
}
