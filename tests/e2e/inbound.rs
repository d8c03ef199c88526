//! Inbound end to end: Meta's webhook (verification, signatures, every message type,
//! duplicates, statuses in any order), the sandbox's inbound endpoint, conversations,
//! contacts, `message.received`, keyword rules and AI Smart Reply through the inbound worker,
//! quotas, the 24-hour window, tenant isolation, and an SQS event fixture.

use std::time::{Duration, Instant};
use wati_tests::fake_ai::{FakeAi, Mode};
use wati_tests::fake_meta::{FakeMeta, GraphReply};
use wati_tests::shared::store::{ConversationStatus, Direction, Message};
use wati_tests::shared::{inbound_message_id, reported_time, MessageStatus};
use wati_tests::webhooks::{Answer, Receiver};
use wati_tests::*;

pub(crate) const PHONE_ID: &str = "106540352242922";
pub(crate) const CUSTOMER: &str = "923001234567";

pub(crate) struct Env {
    pub(crate) app: TestApp,
    pub(crate) meta: FakeMeta,
    pub(crate) ai: FakeAi,
    pub(crate) tenant: Tenant,
    workers: Option<Workers>,
}

impl Env {
    fn start_workers(&mut self) {
        self.workers = Some(self.app.spawn_workers());
    }
}

pub(crate) async fn env_with(plan: &str, workers: bool, vars: &[(&str, &str)]) -> Env {
    let fakes = Fakes::spawn().await;
    let mut opts = fakes.options().roomy_keys();
    for (k, v) in vars {
        opts = opts.with(k, v);
    }
    let app = TestApp::start_with(opts).await;
    let tenant = app.tenant(plan).await;
    let Fakes { meta, ai, .. } = fakes;
    let mut env = Env {
        app,
        meta,
        ai,
        tenant,
        workers: None,
    };
    if workers {
        env.start_workers();
    }
    env
}

async fn env(workers: bool) -> Env {
    env_with("pro", workers, &[]).await
}

pub(crate) fn new_wamid() -> String {
    format!(
        "wamid.HBgM{}",
        uuid::Uuid::new_v4().simple().to_string().to_uppercase()
    )
}

async fn stored(app: &TestApp, tenant_id: &str, wamid: &str) -> Option<Message> {
    app.stored_message(tenant_id, wamid).await
}

async fn wait_stored(app: &TestApp, tenant_id: &str, wamid: &str) -> Message {
    app.wait_stored(tenant_id, wamid, Duration::from_secs(15))
        .await
}

pub(crate) async fn wait_log(t: &Tenant, n: usize) -> Vec<Value> {
    eventually(
        &format!("{n} reply log entries"),
        Duration::from_secs(20),
        || async {
            let log = t.reply_log().await;
            (log.len() >= n).then_some(log)
        },
    )
    .await
}

async fn queued(app: &TestApp) -> i64 {
    let q = app.queue("InboundQueue");
    let out = app
        .state
        .aws
        .sqs
        .get_queue_attributes()
        .queue_url(&q.url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    out.attributes
        .expect("the queue's attributes")
        .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .map(|v| v.parse().expect("a message count"))
        .expect("ApproximateNumberOfMessages")
}

// ------------------------------------------------------------------------------ receiving

#[tokio::test]
async fn meta_verification_answers_the_challenge_only_for_a_device_verify_token() {
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let verify = |tenant: String, query: &'static str| {
        app.http
            .get(app.url(&format!("/api/public/cloud-api-webhook/{tenant}?{query}")))
            .send()
    };
    // No Cloud API device yet: nothing can match.
    let res = verify(
        t.id.clone(),
        "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    t.cloud_device(&e.meta, PHONE_ID, "EAAGverify").await;
    let res = verify(
        t.id.clone(),
        "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(res.headers(), "content-type").starts_with("text/plain"));
    assert_eq!(res.text().await.expect("the store answers"), "1158201444");

    let cases: [(&str, StatusCode); 5] = [
        (
            "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
            StatusCode::FORBIDDEN,
        ),
        ("hub.mode=subscribe&hub.challenge=1", StatusCode::FORBIDDEN),
        (
            "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
            StatusCode::FORBIDDEN,
        ),
        (
            "hub.mode=subscribe&hub.verify_token=verify-me",
            StatusCode::BAD_REQUEST,
        ),
        (
            "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=a%20b",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (query, expected) in cases {
        let Reply { status, body, .. } = Reply::of(verify(t.id.clone(), query).await).await;
        assert_eq!(status, expected, "{query}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    // Another account's URL with this account's token, and a URL that names no account.
    let other = app.tenant("pro").await;
    for tenant in [other.id.clone(), "not-a-tenant".to_string()] {
        let res = verify(
            tenant,
            "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn signatures_are_checked_over_the_raw_body_and_bad_ones_store_nothing() {
    let mut e = env(false).await;
    let device = e.tenant.cloud_device(&e.meta, PHONE_ID, "EAAGsig").await;
    let (app, t) = (&e.app, &e.tenant);
    let wamid = new_wamid();
    let body = meta_text(PHONE_ID, &wamid, "hello", now_ts());
    let good = sign(APP_SECRET, body.as_bytes());

    let refusals: Vec<(&str, String, Option<String>, StatusCode)> = vec![
        ("missing", body.clone(), None, StatusCode::UNAUTHORIZED),
        (
            "malformed",
            body.clone(),
            Some("sha1=abc".into()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "another secret",
            body.clone(),
            Some(sign("not-the-app-secret", body.as_bytes())),
            StatusCode::FORBIDDEN,
        ),
        (
            "tampered body",
            body.replace("hello", "hellO"),
            Some(good.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            "reformatted body",
            serde_json::to_string(&parse(&body)).expect("JSON"),
            Some(good.clone()),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, b, sig, expected) in refusals {
        let Reply {
            status, body: res, ..
        } = app.post_meta_webhook(&t.id, &b, sig.as_deref()).await;
        assert_eq!(status, expected, "{what}: {res}");
        assert!(res["error"].is_string(), "{what}: {res}");
    }
    // A phone number id none of this account's devices has, even correctly signed.
    let stranger = meta_text("999999999999", &new_wamid(), "hello", now_ts());
    let Reply {
        status, body: res, ..
    } = app
        .post_meta_webhook(
            &t.id,
            &stranger,
            Some(&sign(APP_SECRET, stranger.as_bytes())),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    // Not Meta's envelope at all.
    app.post_meta_webhook(&t.id, "not json", Some(&sign(APP_SECRET, b"not json")))
        .await
        .expect(StatusCode::BAD_REQUEST);
    let page = r#"{"object":"page","entry":[]}"#;
    app.post_meta_webhook(&t.id, page, Some(&sign(APP_SECRET, page.as_bytes())))
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert_eq!(queued(app).await, 0, "nothing was queued");

    // Signed correctly, three times (Meta redelivers): queued each time, stored once.
    for _ in 0..3 {
        let res = app.from_meta(&t.id, &body).await;
        assert_eq!(res, json!({"messages": 1, "statuses": 0}));
    }
    assert_eq!(queued(app).await, 3);
    // Other fields (template status updates) carry no phone number id: acknowledged.
    let update = fixture("meta-template-status-update.json", &[]);
    assert_eq!(
        app.from_meta(&t.id, &update).await,
        json!({"messages": 0, "statuses": 0})
    );
    app.post_meta_webhook(&t.id, &update, Some(&sign("wrong", update.as_bytes())))
        .await
        .expect(StatusCode::FORBIDDEN);

    e.start_workers();
    let (app, t) = (&e.app, &e.tenant);
    let m = wait_stored(app, &t.id, &wamid).await;
    assert_eq!(m.direction, Direction::In);
    assert_eq!(m.device_id.as_deref(), Some(device.as_str()));
    eventually("the queue drained", Duration::from_secs(15), || async {
        (queued(app).await == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let conv = app.conversation(&t.id, &device, CUSTOMER).await;
    assert_eq!(conv.unread_count, 1, "three deliveries, one message");
    let inbound: Vec<_> = app
        .history(&t.id, CUSTOMER)
        .await
        .into_iter()
        .filter(|h| h.direction == Direction::In)
        .collect();
    assert_eq!(inbound.len(), 1);
}

#[tokio::test]
async fn a_message_makes_a_conversation_a_contact_and_one_message_received_event() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGconv").await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.put(
        "/api/settings/webhook",
        json!({"url": receiver.url, "events": ["message.received"]}),
    )
    .await
    .expect(StatusCode::CREATED);

    let wamid = new_wamid();
    let ts = now_ts();
    let body = meta_text(PHONE_ID, &wamid, "Hello, is anyone there?", ts);
    app.from_meta(&t.id, &body).await;
    app.from_meta(&t.id, &body).await; // a redelivery
    let m = wait_stored(app, &t.id, &wamid).await;
    let at = reported_time(Some(ts), chrono::Utc::now());
    assert_eq!(
        m.id,
        inbound_message_id(&t.id, &wamid, at),
        "id derived from the WhatsApp id"
    );
    assert_eq!(m.text.as_deref(), Some("Hello, is anyone there?"));
    assert_eq!(m.peer, CUSTOMER);

    // The spec's message.received, once.
    let hits = receiver.wait_for(1, Duration::from_secs(20)).await;
    let event: Value = serde_json::from_str(&hits[0].body).expect("JSON");
    assert_eq!(
        event,
        json!({"event": "message.received", "deviceId": device, "from": CUSTOMER, "to": "15550783881",
               "text": "Hello, is anyone there?", "messageId": wamid, "type": "text", "timestamp": ts})
    );
    // The contact, named from the WhatsApp profile.
    let contacts = t.get_ok(&format!("/api/contacts?search={CUSTOMER}")).await;
    assert_eq!(contacts["contacts"][0]["name"], "Ali Raza", "{contacts}");
    assert_eq!(contacts["contacts"].as_array().map(Vec::len), Some(1));

    // The conversation: open, one unread; resolved, then reopened by the next message.
    let store = &app.state.store;
    let conv = app.conversation(&t.id, &device, CUSTOMER).await;
    assert_eq!(
        (conv.status, conv.unread_count),
        (ConversationStatus::Open, 1)
    );
    let view = serde_json::to_value(conv.view()).expect("JSON");
    assert_eq!(view["assigned_to"], Value::Null);
    assert_eq!(view["last_message_at"], json!(iso(at)));
    assert_eq!(view["last_activity_at"], json!(iso(at)));
    assert_eq!(
        view.keys(),
        [
            "assigned_to",
            "contact",
            "created_at",
            "device_id",
            "first_response_seconds",
            "id",
            "labels",
            "last_activity_at",
            "last_message",
            "last_message_at",
            "peer",
            "resolution_seconds",
            "snoozed_until",
            "status",
            "unread_count"
        ]
    );
    store
        .set_conversation_status(
            &t.id,
            &device,
            CUSTOMER,
            ConversationStatus::Resolved,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let second = new_wamid();
    app.from_meta(
        &t.id,
        &meta_text(PHONE_ID, &second, "One more thing", ts + 5),
    )
    .await;
    wait_stored(app, &t.id, &second).await;
    let conv2 = app.conversation(&t.id, &device, CUSTOMER).await;
    assert_eq!(
        (conv2.status, conv2.unread_count, &conv2.id),
        (ConversationStatus::Open, 2, &conv.id)
    );
    receiver.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.hits().len(),
        2,
        "one event per message, none for the redelivery"
    );

    // The lookup shows it as an inbound message.
    let found = t.get_ok(&format!("/api/public/v1/messages/{wamid}")).await;
    assert_eq!(found["message"]["direction"], "in");
    assert_eq!(found["message"]["status"], "received");
    // No rules and no AI: nothing answered, nothing logged.
    assert!(e.meta.requests().is_empty());
    assert!(t.reply_log().await.is_empty());
}

#[tokio::test]
async fn every_message_type_is_stored_and_unknown_types_are_kept() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    t.cloud_device(&e.meta, PHONE_ID, "EAAGtypes").await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let body = fixture(
        "meta-every-message-type.json",
        &[
            ("__PHONE_NUMBER_ID__", PHONE_ID),
            ("__RUN__", &run),
            ("__TS__", &now_ts().to_string()),
        ],
    );
    assert_eq!(
        app.from_meta(&t.id, &body).await,
        json!({"messages": 11, "statuses": 0})
    );
    let get = |kind: &str| {
        let wamid = format!("wamid.{run}.{kind}");
        async move { wait_stored(app, &t.id, &wamid).await }
    };
    let graph = |id: &str| format!("{}/v24.0/{id}", e.meta.base);

    let image = get("image").await;
    assert_eq!(serde_json::to_value(image.kind).expect("JSON"), "image");
    assert_eq!(image.text.as_deref(), Some("My receipt"));
    assert_eq!(
        image.media_url.as_deref(),
        Some(graph("1003383421387256").as_str())
    );
    assert_eq!(image.media_mimetype.as_deref(), Some("image/jpeg"));
    let doc = get("document").await;
    assert_eq!(doc.media_file_name.as_deref(), Some("invoice-2026-001.pdf"));
    assert_eq!(
        doc.media_url.as_deref(),
        Some(graph("1003383421387259").as_str())
    );
    for kind in ["video", "audio", "sticker"] {
        let m = get(kind).await;
        assert_eq!(serde_json::to_value(m.kind).expect("JSON"), kind);
        assert!(
            m.media_url
                .as_deref()
                .is_some_and(|u| u.starts_with(&e.meta.base)),
            "{kind}"
        );
    }
    let expected_text = [
        (
            "location",
            "Location: Head office, Shahrah-e-Faisal, Karachi (24.8607, 67.0011)",
        ),
        ("contacts", "Shared contact: Bilal Ahmed (+92 300 5555555)"),
        ("button", "Track my order"),
        ("interactive", "Pro plan"),
        ("reaction", "👍"),
    ];
    for (kind, text) in expected_text {
        let m = get(kind).await;
        assert_eq!(serde_json::to_value(m.kind).expect("JSON"), kind);
        assert_eq!(m.text.as_deref(), Some(text), "{kind}");
    }
    let order = get("order").await;
    assert_eq!(serde_json::to_value(order.kind).expect("JSON"), "unknown");
    // The raw JSON and Meta's type stay on the item.
    let item = app
        .item(&format!("TENANT#{}#MSG#{}", t.id, order.id), "MSG")
        .await;
    let s = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_else(|| panic!("no string {k} in the item"))
    };
    assert_eq!(s("waType"), "order");
    assert!(s("raw").contains("SKU-1"), "{}", s("raw"));
    let loc = get("location").await;
    let loc_item = app
        .item(&format!("TENANT#{}#MSG#{}", t.id, loc.id), "MSG")
        .await;
    assert!(loc_item.get("location").is_some_and(|l| l.is_m()));
    let conv = app
        .conversation(
            &t.id,
            image.device_id.as_deref().expect("the message's device"),
            "923009876543",
        )
        .await;
    assert_eq!(conv.unread_count, 11);
    assert_eq!(conv.profile_name.as_deref(), Some("Sara Khan"));
}

#[tokio::test]
async fn statuses_move_sends_forward_only_and_failures_keep_metas_error() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGstatus").await;
    app.open_window(&t.id, &device, CUSTOMER).await;
    let send = || async {
        let sent = t.send_text(CUSTOMER, "Your order shipped").await;
        sent["messageId"].string()
    };
    let lookup = |wamid: String| async move {
        let m = t.get_ok(&format!("/api/public/v1/messages/{wamid}")).await;
        m["message"].clone()
    };
    let status_webhook =
        |wamid: &str, status: &str, ts: i64| meta_status(PHONE_ID, wamid, status, ts);
    let wamid = send().await;
    let ts = now_ts();
    // Out of order: read first, then the late delivered and sent.
    app.from_meta(&t.id, &status_webhook(&wamid, "read", ts + 2))
        .await;
    let m = eventually("read", Duration::from_secs(15), || async {
        let m = lookup(wamid.clone()).await;
        (m["status"] == "read").then_some(m)
    })
    .await;
    assert!(m["delivered_at"].is_string(), "read implies delivered: {m}");
    app.from_meta(&t.id, &status_webhook(&wamid, "delivered", ts + 1))
        .await;
    app.from_meta(&t.id, &status_webhook(&wamid, "sent", ts))
        .await;
    app.from_meta(&t.id, &status_webhook(&wamid, "deleted", ts + 3))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        lookup(wamid.clone()).await["status"],
        "read",
        "never moves back"
    );

    // A failure with Meta's error code and title.
    let failing = send().await;
    app.from_meta(
        &t.id,
        &fixture(
            "meta-status-failed.json",
            &[
                ("__PHONE_NUMBER_ID__", PHONE_ID),
                ("__WAMID__", &failing),
                ("__TS__", &now_ts().to_string()),
            ],
        ),
    )
    .await;
    let m = eventually("failed", Duration::from_secs(15), || async {
        let m = lookup(failing.clone()).await;
        (m["status"] == "failed").then_some(m)
    })
    .await;
    assert_eq!(m["error_code"], 131026);
    assert_eq!(
        m["error"],
        "WhatsApp could not deliver the message (#131026): Message undeliverable. Message Undeliverable."
    );
    assert!(m["failed_at"].is_string());
    // A status for a message nobody knows is retried a few times, then dropped (no error).
    let ghost = new_wamid();
    app.from_meta(&t.id, &status_webhook(&ghost, "delivered", now_ts()))
        .await;
}

/// Meta's statuses are applied in the webhook request (no queue message, no worker); one
/// whose message is not known yet goes to the queue for a later try.
#[tokio::test]
async fn metas_statuses_are_applied_in_the_webhook_request() {
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGinline").await;
    app.open_window(&t.id, &device, CUSTOMER).await;
    let wamid = t.send_text(CUSTOMER, "Your order shipped").await["messageId"].string();
    let answer = app
        .from_meta(&t.id, &meta_status(PHONE_ID, &wamid, "delivered", now_ts()))
        .await;
    assert_eq!(answer, json!({"messages": 0, "statuses": 1}));
    let m = stored(app, &t.id, &wamid).await.expect("the message");
    assert_eq!(
        m.status,
        MessageStatus::Delivered,
        "applied before the answer"
    );
    assert_eq!(queued(app).await, 0, "nothing queued");
    // Meta's own `sent` can change nothing (the send recorded it): no AWS call at all.
    let body = meta_status(PHONE_ID, &wamid, "sent", now_ts());
    let signature = sign(APP_SECRET, body.as_bytes());
    let reply = app.post_meta_webhook(&t.id, &body, Some(&signature)).await;
    assert_eq!(reply.count("x-aws-calls"), 0);
    assert_eq!(reply.ok(), json!({"messages": 0, "statuses": 1}));
    let m = stored(app, &t.id, &wamid).await.expect("the message");
    assert_eq!(m.status, MessageStatus::Delivered);

    let ghost = new_wamid();
    app.from_meta(&t.id, &meta_status(PHONE_ID, &ghost, "read", now_ts()))
        .await;
    eventually(
        "the unknown message's status queued for a retry",
        Duration::from_secs(10),
        || async { (queued(app).await == 1).then_some(()) },
    )
    .await;
}

/// A message stored before GSI3 existed has its WhatsApp id on GSI1 only: lookups and
/// Meta's statuses still find it there.
#[tokio::test]
async fn a_message_indexed_on_gsi1_before_gsi3_is_still_found_by_its_whatsapp_id() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use wati_tests::shared::store::keys;
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGgsi1").await;
    app.open_window(&t.id, &device, CUSTOMER).await;
    // An idempotent send: its id is a UUIDv7, found through its WhatsApp-id index entry.
    let sent = t
        .send_text_with_key(CUSTOMER, "sent before GSI3", "before-gsi3")
        .await;
    let (id, wamid) = (sent["id"].string(), sent["messageId"].string());
    // As an older version wrote it: the WhatsApp id on GSI1, nothing on GSI3.
    let pk = keys::message_pk(&t.id, &id);
    let mut item = app.item(&pk, keys::MESSAGE_SK).await;
    let index_key = item.remove(keys::GSI3PK).expect("a GSI3 key");
    item.insert(keys::GSI1PK.into(), index_key);
    item.insert(
        keys::GSI1SK.into(),
        AttributeValue::S(keys::MESSAGE_SK.into()),
    );
    app.put_raw(item).await;

    assert_eq!(t.message(&wamid).await["id"], id.as_str());
    app.from_meta(&t.id, &meta_status(PHONE_ID, &wamid, "read", now_ts()))
        .await;
    let m = stored(app, &t.id, &wamid).await.expect("the message");
    assert_eq!(m.status, MessageStatus::Read);
}

/// The AWS operations a request made (`x-aws-operations`).
fn operations(reply: &Reply) -> Vec<String> {
    reply
        .header("x-aws-operations")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// A send without `Idempotency-Key` is stored once under an id computed from WhatsApp's id:
/// found by either id, with no WhatsApp-id index entry, and Meta's statuses read it by key
/// (no index query). An idempotent send keeps its UUIDv7 and its index entry, and is found
/// through it.
#[tokio::test]
async fn a_send_stored_once_is_keyed_by_its_whatsapp_id_and_statuses_read_it_by_key() {
    use wati_tests::shared::id_from_wamid;
    use wati_tests::shared::store::keys;
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGbykey").await;
    app.open_window(&t.id, &device, CUSTOMER).await;
    let version = |id: &str| uuid::Uuid::parse_str(id).expect("a UUID").get_version_num();

    let sent = t.send_text(CUSTOMER, "keyed by its WhatsApp id").await;
    let (id, wamid) = (sent["id"].string(), sent["messageId"].string());
    assert_eq!(id, id_from_wamid(&t.id, &wamid));
    assert_eq!(version(&id), 8, "name-based");
    let item = app
        .item(&keys::message_pk(&t.id, &id), keys::MESSAGE_SK)
        .await;
    assert!(
        !item.contains_key(keys::GSI3PK),
        "no WhatsApp-id index entry"
    );
    // Its place in the history is still the time of its send.
    let position = item[keys::GSI2SK].as_s().expect("a history position");
    assert_eq!(version(position), 7);
    for probe in [&id, &wamid] {
        let reply = t.lookup(probe).await;
        assert_eq!(
            operations(&reply),
            ["DynamoDB.UpdateItem", "DynamoDB.GetItem"],
            "auth, then the message by key"
        );
        let m = reply.ok()["message"].clone();
        assert_eq!(
            (m["id"].str(), m["message_id"].str()),
            (id.as_str(), wamid.as_str())
        );
    }
    for status in ["delivered", "read"] {
        let body = meta_status(PHONE_ID, &wamid, status, now_ts());
        let reply = app
            .post_meta_webhook(&t.id, &body, Some(&sign(APP_SECRET, body.as_bytes())))
            .await;
        let ops = operations(&reply);
        assert!(
            !ops.iter().any(|o| o == "DynamoDB.Query"),
            "no index query: {ops:?}"
        );
        assert_eq!(reply.ok(), json!({"messages": 0, "statuses": 1}));
        assert_eq!(t.message(&id).await["status"], status);
    }

    // An idempotent send: a UUIDv7, its index entry, found by WhatsApp's id through it.
    let keyed = t
        .send_text_with_key(CUSTOMER, "idempotent", "by-key-1")
        .await;
    let (kid, kwamid) = (keyed["id"].string(), keyed["messageId"].string());
    assert_eq!(version(&kid), 7);
    let item = app
        .item(&keys::message_pk(&t.id, &kid), keys::MESSAGE_SK)
        .await;
    assert!(
        item.contains_key(keys::GSI3PK),
        "its WhatsApp-id index entry"
    );
    let reply = t.lookup(&kwamid).await;
    assert_eq!(
        operations(&reply),
        [
            "DynamoDB.UpdateItem",
            "DynamoDB.GetItem",
            "DynamoDB.Query",
            "DynamoDB.GetItem"
        ],
        "auth, the computed key (a miss), the index, the message"
    );
    assert_eq!(reply.ok()["message"]["id"], kid.as_str());
    app.from_meta(&t.id, &meta_status(PHONE_ID, &kwamid, "read", now_ts()))
        .await;
    assert_eq!(t.message(&kid).await["status"], "read");
}

#[tokio::test]
async fn a_status_that_arrives_before_its_send_recorded_sent_waits_for_it() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGearly").await;
    app.open_window(&t.id, &device, CUSTOMER).await;
    // Meta answers the send slowly; its `delivered` webhook arrives before the answer.
    e.meta.push(GraphReply::Slow(
        Duration::from_millis(1500),
        Box::new(GraphReply::Accept),
    ));
    let sending = {
        let api = t.api.clone();
        tokio::spawn(async move {
            api.send_message(json!({"to": CUSTOMER, "message": "early bird"}))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The fake numbers its wamids in order: this send gets the first one.
    let wamid = "wamid.HBgMFAKE00000001";
    app.from_meta(
        &t.id,
        &fixture(
            "meta-statuses.json",
            &[
                ("__PHONE_NUMBER_ID__", PHONE_ID),
                ("__WAMID__", wamid),
                ("__STATUS__", "delivered"),
                ("__TS__", &now_ts().to_string()),
            ],
        ),
    )
    .await;
    let Reply {
        status, body: sent, ..
    } = sending.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["messageId"], wamid);
    eventually(
        "delivered after retries",
        Duration::from_secs(20),
        || async {
            stored(app, &t.id, wamid)
                .await
                .filter(|m| m.status == MessageStatus::Delivered)
        },
    )
    .await;
}

// ------------------------------------------------------------------------------ answering

#[tokio::test]
async fn keyword_rules_answer_by_match_type_and_precedence_through_the_pipeline() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    let contains = t
        .create_rule(
            json!({"keyword": "price", "match_type": "contains", "response": "contains-price"}),
        )
        .await;
    let longer = t.create_rule(json!({"keyword": "price list", "match_type": "contains", "response": "contains-price-list"})).await;
    let starts = t
        .create_rule(json!({"keyword": "hi", "match_type": "starts_with", "response": "starts-hi"}))
        .await;
    let exact = t
        .create_rule(json!({"keyword": "Menu", "match_type": "exact", "response": "exact-menu"}))
        .await;
    let exact_price = t
        .create_rule(json!({"keyword": "PRICE", "match_type": "exact", "response": "exact-price"}))
        .await;
    t.create_rule(json!({"keyword": "hours", "match_type": "contains", "response": "inactive", "active": false})).await;

    // One customer per case, so each conversation holds one question and its answer.
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "923001110001",
            "What is the price?",
            "contains-price",
            contains.as_str(),
        ),
        (
            "923001110002",
            "send the PRICE LIST please",
            "contains-price-list",
            longer.as_str(),
        ),
        ("923001110003", "Hi there", "starts-hi", starts.as_str()),
        ("923001110004", "  ｍｅｎｕ ", "exact-menu", exact.as_str()),
        ("923001110005", "price", "exact-price", exact_price.as_str()),
        ("923001110006", "menu please", "", ""),
        ("923001110007", "what are your hours", "", ""),
    ];
    for (from, text, _, _) in cases {
        t.sandbox_says(&device, from, text).await;
    }
    let log = wait_log(t, 5).await;
    for (from, _, response, rule) in cases {
        if response.is_empty() {
            continue;
        }
        assert_eq!(
            app.wait_sent_texts(&t.id, from, 1).await,
            vec![response.to_string()],
            "{from}"
        );
        let entry = log
            .iter()
            .find(|l| l["peer"] == from)
            .unwrap_or_else(|| panic!("no log for {from}: {log:?}"));
        assert_eq!(
            (entry["ruleId"].as_str(), entry["outcome"].as_str()),
            (Some(rule), Some("keyword"))
        );
        assert!(entry["conversationId"].is_string());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (from, _, response, _) in cases {
        if response.is_empty() {
            let out: Vec<_> = app
                .history(&t.id, from)
                .await
                .into_iter()
                .filter(|h| h.direction == Direction::Out)
                .collect();
            assert!(
                out.is_empty(),
                "{from}: no rule matches (inactive rules never do)"
            );
        }
    }
    assert_eq!(t.reply_log().await.len(), 5);
    // Rules changed later are picked up (the cached matcher reloads on the rules version).
    assert_eq!(
        t.patch(
            &format!("/api/auto-replies/{contains}"),
            json!({"response": "new price answer"})
        )
        .await
        .status,
        StatusCode::OK
    );
    t.sandbox_says(&device, "923001110001", "and the price today?")
        .await;
    let replies = app.wait_sent_texts(&t.id, "923001110001", 2).await;
    assert_eq!(replies[1], "new price answer");
    // The sends are ordinary messages: statuses, the daily outbound count.
    let usage = t.get("/api/usage").await.body;
    assert_eq!(usage["messagesPerDay"]["used"], 6, "{usage}");
}

#[tokio::test]
async fn a_keyword_reply_through_the_cloud_api_goes_to_meta() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    t.cloud_device(&e.meta, PHONE_ID, "EAAGkw").await;
    t.create_rule(json!({"keyword": "price", "match_type": "contains", "response": "Our pricing: https://wati.pro/pricing"})).await;
    app.from_meta(
        &t.id,
        &meta_text(PHONE_ID, &new_wamid(), "price?", now_ts()),
    )
    .await;
    let sent = eventually("the reply at Meta", Duration::from_secs(15), || async {
        e.meta.requests().into_iter().next()
    })
    .await;
    assert_eq!(sent.phone_number_id, PHONE_ID);
    assert_eq!(
        sent.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "text", "text": {"preview_url": false, "body": "Our pricing: https://wati.pro/pricing"}})
    );
}

#[tokio::test]
async fn multi_step_responses_go_out_in_order_their_delay_apart() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    t.create_rule(json!({"keyword": "price", "match_type": "contains", "step_delay_seconds": 2,
               "responses": ["Our pricing: https://wati.pro/pricing", "Need a custom quote? Reply YES.", "Thanks!"]}),
    )
    .await;
    let started = Instant::now();
    t.sandbox_says(&device, CUSTOMER, "price").await;
    let replies = app.wait_sent_texts(&t.id, CUSTOMER, 3).await;
    assert_eq!(
        replies,
        [
            "Our pricing: https://wati.pro/pricing",
            "Need a custom quote? Reply YES.",
            "Thanks!"
        ]
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "two delays of 2 s"
    );
    // The ids are UUIDv7: their times show the spacing.
    let times: Vec<u64> = app
        .history(&t.id, CUSTOMER)
        .await
        .into_iter()
        .filter(|h| h.direction == Direction::Out)
        .filter_map(|h| uuid::Uuid::parse_str(&h.id).ok())
        .filter_map(|u| u.get_timestamp())
        .map(|ts| {
            let (s, n) = ts.to_unix();
            s * 1000 + u64::from(n) / 1_000_000
        })
        .collect();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 1_900, "{times:?}");
    }
    let log = t.reply_log().await;
    assert_eq!(log.len(), 1, "one decision: {log:?}");
}

#[tokio::test]
async fn ai_smart_reply_sends_the_system_prompt_and_the_last_five_messages() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    t.create_rule(json!({"keyword": "price", "match_type": "contains", "response": "See https://wati.pro/pricing"})).await;
    t.enable_ai("You are Acme Support. Be brief.").await;

    for i in 1..=4 {
        e.ai.set(Mode::Reply(format!("answer {i}")));
        t.sandbox_says(&device, CUSTOMER, &format!("question {i}"))
            .await;
        let replies = app.wait_sent_texts(&t.id, CUSTOMER, i).await;
        assert_eq!(replies[i - 1], format!("answer {i}"));
    }
    let requests = e.ai.requests();
    assert_eq!(requests.len(), 4);
    let r = &requests[3];
    assert_eq!(r.authorization, "Bearer test-ai-key");
    assert_eq!(r.body["model"], "google/gemini-3-flash-preview");
    let messages = r.body["messages"].array().clone();
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].str();
    assert!(
        system.starts_with("You are Acme Support. Be brief."),
        "{system}"
    );
    assert!(
        system.contains("same language") && system.contains("Urdu"),
        "{system}"
    );
    let turns: Vec<(String, String)> = messages[1..]
        .iter()
        .map(|m| (m["role"].str().into(), m["content"].str().into()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("user", "question 2"),
        ("assistant", "answer 2"),
        ("user", "question 3"),
        ("assistant", "answer 3"),
        ("user", "question 4"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(turns, expected, "the last five messages, oldest first");
    let first: Vec<&str> = requests[0].body["messages"].strs("content");
    assert_eq!(first.len(), 2, "system + the first question: {first:?}");

    // A keyword match wins over the AI and stops there.
    t.sandbox_says(&device, CUSTOMER, "and the price?").await;
    let replies = app.wait_sent_texts(&t.id, CUSTOMER, 5).await;
    assert_eq!(replies[4], "See https://wati.pro/pricing");
    assert_eq!(e.ai.requests().len(), 4, "no AI call after a keyword match");

    let log = wait_log(t, 5).await;
    let outcomes: Vec<&str> = log.iter().map(|l| l["outcome"].str()).collect();
    assert_eq!(
        outcomes,
        ["keyword", "ai", "ai", "ai", "ai"],
        "newest first"
    );
    assert_eq!(log[1]["ruleId"], "ai");
    let usage = t.get("/api/usage").await.body;
    assert_eq!(usage["aiRepliesPerDay"]["used"], 4, "{usage}");
    assert_eq!(usage["messagesPerDay"]["used"], 5, "{usage}");
}

#[tokio::test]
async fn ai_failures_and_timeouts_mean_no_reply_an_ai_error_and_no_retries() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    t.enable_ai("").await;

    e.ai.set(Mode::Fail(500));
    t.sandbox_says(&device, "923002220001", "hello?").await;
    let log = wait_log(t, 1).await;
    assert_eq!(log[0]["outcome"], "ai_error");
    assert!(log[0]["detail"].str().contains("500"), "{log:?}");

    e.ai.set(Mode::Hang(Duration::from_secs(5))); // AI_TIMEOUT_SECONDS is 1
    let started = Instant::now();
    t.sandbox_says(&device, "923002220002", "anyone?").await;
    let log = wait_log(t, 2).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the worker gave up after the timeout"
    );
    assert_eq!(log[0]["outcome"], "ai_error");
    assert!(log[0]["detail"].str().contains("timed out"), "{log:?}");

    // Nothing went out, the messages are stored, the AI units were given back, and nothing
    // is retried: one AI call per message.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(e.ai.requests().len(), 2, "no retry storm");
    for peer in ["923002220001", "923002220002"] {
        let h = app.history(&t.id, peer).await;
        assert_eq!(h.len(), 1, "{peer}: the customer's message only");
        assert_eq!(h[0].direction, Direction::In);
    }
    let usage = t.get("/api/usage").await.body;
    assert_eq!(usage["aiRepliesPerDay"]["used"], 0, "{usage}");
    assert_eq!(t.reply_log().await.len(), 2);
}

#[tokio::test]
async fn over_the_daily_quotas_nothing_is_sent_and_the_log_says_so() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    t.enable_ai("Be nice.").await;
    app.set_limits(&t.id, json!({"aiRepliesPerDay": 1})).await;

    t.sandbox_says(&device, CUSTOMER, "first").await;
    app.wait_sent_texts(&t.id, CUSTOMER, 1).await;
    t.sandbox_says(&device, CUSTOMER, "second").await;
    let log = wait_log(t, 2).await;
    assert_eq!(log[0]["outcome"], "quota_exceeded");
    assert_eq!(log[0]["ruleId"], "ai");
    assert!(log[0]["detail"].str().contains("AI"), "{log:?}");
    assert_eq!(
        e.ai.requests().len(),
        1,
        "the AI is not called over the quota"
    );

    // The free plan has no AI replies at all.
    let free = app.tenant("free").await;
    let free_device = free.sandbox_device().await;
    free.enable_ai("").await;
    free.sandbox_says(&free_device, CUSTOMER, "hello").await;
    let log = wait_log(&free, 1).await;
    assert_eq!(log[0]["outcome"], "quota_exceeded");

    // Keyword replies count against the daily outbound cap.
    let capped = app.tenant("pro").await;
    let capped_device = capped.sandbox_device().await;
    let rule = capped
        .create_rule(json!({"keyword": "hi", "match_type": "starts_with", "response": "Hello!"}))
        .await;
    app.set_limits(&capped.id, json!({"messagesPerDay": 1}))
        .await;
    capped.sandbox_says(&capped_device, CUSTOMER, "hi").await;
    app.wait_sent_texts(&capped.id, CUSTOMER, 1).await;
    capped
        .sandbox_says(&capped_device, CUSTOMER, "hi again")
        .await;
    let log = wait_log(&capped, 2).await;
    assert_eq!(
        (log[0]["outcome"].as_str(), log[0]["ruleId"].as_str()),
        (Some("quota_exceeded"), Some(rule.as_str()))
    );
    assert!(
        log[0]["detail"]
            .str()
            .contains("Daily outbound message limit"),
        "{log:?}"
    );
    assert_eq!(app.wait_sent_texts(&capped.id, CUSTOMER, 1).await.len(), 1);
}

// ------------------------------------------------------------------------------ the window

#[tokio::test]
async fn the_24_hour_window_refuses_free_form_sends_but_not_templates() {
    let e = env(true).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.cloud_device(&e.meta, PHONE_ID, "EAAGwindow").await;
    let send = |body: Value| async move { t.send_message(body).await };
    let text = json!({"to": CUSTOMER, "message": "Hello!"});
    // Never wrote: refused before Meta, with a pointer to templates; nothing left behind.
    let body = send(text.clone())
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let msg = body["error"].str();
    assert!(
        msg.contains("24-hour") && msg.contains("never written") && msg.contains("template"),
        "{msg}"
    );
    let Reply { status, body, .. } = t
        .send_media(json!({"to": CUSTOMER, "type": "image", "url": "https://example.com/a.jpg"}))
        .await;
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
        "{body}"
    );
    assert!(e.meta.requests().is_empty());
    let usage = t.get("/api/usage").await.body;
    assert_eq!(
        usage["messagesPerDay"]["used"], 0,
        "the unit was given back"
    );

    // A template goes through.
    send(json!({"to": CUSTOMER, "message": "order update", "template": {"name": "order_update", "language": "en_US"}})).await.expect(StatusCode::OK);

    // Wrote 25 hours ago: still closed, and the message says when.
    let long_ago = chrono::Utc::now() - chrono::Duration::hours(25);
    app.customer_wrote_at(&t.id, &device, CUSTOMER, long_ago)
        .await;
    let body = send(text.clone())
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"].str().contains("more than 24 hours ago"),
        "{body}"
    );

    // The customer writes (Meta's webhook): open.
    let wamid = new_wamid();
    app.from_meta(&t.id, &meta_text(PHONE_ID, &wamid, "hi", now_ts()))
        .await;
    wait_stored(app, &t.id, &wamid).await;
    send(text.clone()).await.expect(StatusCode::OK);
    // Another customer's window is their own; the sandbox has none.
    assert_eq!(
        send(json!({"to": "923009999999", "message": "Hello!"}))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let sandbox = t.sandbox_device().await;
    send(json!({"to": "923009999999", "message": "Hello!", "deviceId": sandbox}))
        .await
        .expect(StatusCode::OK);
}

// ------------------------------------------------------------------------------ the sandbox, isolation

#[tokio::test]
async fn sandbox_inbound_validates_its_input_and_only_takes_sandbox_devices() {
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let sandbox = t.sandbox_device().await;
    let cloud = t.cloud_device(&e.meta, PHONE_ID, "EAAGsbx").await;
    let other = app.tenant("starter").await;
    let theirs = other.sandbox_device().await;
    let post = |key: Option<&str>, body: Value| {
        let api = app.caller(key);
        async move { api.post("/api/sandbox/inbound", body).await }
    };
    let cases = [
        (
            json!({"from": CUSTOMER, "text": "hi"}),
            StatusCode::BAD_REQUEST,
            "\"deviceId\" is required",
        ),
        (
            json!({"deviceId": "nope", "from": CUSTOMER, "text": "hi"}),
            StatusCode::BAD_REQUEST,
            "\"deviceId\" must be",
        ),
        (
            json!({"deviceId": sandbox, "text": "hi"}),
            StatusCode::BAD_REQUEST,
            "\"from\" is required",
        ),
        (
            json!({"deviceId": sandbox, "from": "abc", "text": "hi"}),
            StatusCode::BAD_REQUEST,
            "\"from\"",
        ),
        (
            json!({"deviceId": sandbox, "from": CUSTOMER, "text": "   "}),
            StatusCode::BAD_REQUEST,
            "\"text\" must not be empty",
        ),
        (
            json!({"deviceId": sandbox, "from": CUSTOMER}),
            StatusCode::BAD_REQUEST,
            "\"text\" is required",
        ),
        (
            json!({"deviceId": sandbox, "from": CUSTOMER, "text": "hi", "extra": 1}),
            StatusCode::BAD_REQUEST,
            "extra",
        ),
        (
            json!({"deviceId": cloud, "from": CUSTOMER, "text": "hi"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Cloud API device",
        ),
        (
            json!({"deviceId": theirs, "from": CUSTOMER, "text": "hi"}),
            StatusCode::NOT_FOUND,
            "not found",
        ),
    ];
    for (body, status, fragment) in cases {
        let Reply {
            status: got,
            body: answer,
            ..
        } = post(Some(&t.key), body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(answer["error"].str().contains(fragment), "{body}: {answer}");
    }
    assert_eq!(
        post(
            None,
            json!({"deviceId": sandbox, "from": CUSTOMER, "text": "hi"}),
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.raw(Method::POST, "/api/sandbox/inbound", "{not json")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(queued(app).await, 0);
    // A good one: 202 with the id it will be stored under; any plan may use the sandbox.
    let body = post(
        Some(&other.key),
        json!({"deviceId": theirs, "from": "+92 300 1234567", "text": "hi", "name": "Zed"}),
    )
    .await
    .expect(StatusCode::ACCEPTED);
    assert!(body["messageId"].str().starts_with("sandbox.in."));
    assert_eq!(queued(app).await, 1);
}

#[tokio::test]
async fn tenants_never_see_each_others_inbound_traffic() {
    let e = env(true).await;
    let (app, a) = (&e.app, &e.tenant);
    let b = app.tenant("pro").await;
    let a_device = a.cloud_device(&e.meta, PHONE_ID, "EAAGa").await;
    a.create_rule(json!({"keyword": "hello", "match_type": "contains", "response": "from A"}))
        .await;
    b.create_rule(json!({"keyword": "hello", "match_type": "contains", "response": "from B"}))
        .await;

    // A's webhook body, correctly signed, sent to B's URL: B has no such number.
    let wamid = new_wamid();
    let body = meta_text(PHONE_ID, &wamid, "hello", now_ts());
    app.post_meta_webhook(&b.id, &body, Some(&sign(APP_SECRET, body.as_bytes())))
        .await
        .expect(StatusCode::FORBIDDEN);
    app.from_meta(&a.id, &body).await;
    wait_stored(app, &a.id, &wamid).await;
    let replies = app.wait_sent_texts(&a.id, CUSTOMER, 1).await;
    assert_eq!(replies, ["from A"]);
    assert!(stored(app, &b.id, &wamid).await.is_none());
    assert!(app.history(&b.id, CUSTOMER).await.is_empty());
    assert!(app
        .state
        .store
        .get_conversation(&b.id, &a_device, CUSTOMER)
        .await
        .unwrap()
        .is_none());
    assert!(b.reply_log().await.is_empty());
    assert_eq!(a.reply_log().await.len(), 1);
    assert_eq!(
        b.get(&format!("/api/public/v1/messages/{wamid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // B's sandbox customer gets B's rule.
    let b_device = b.sandbox_device().await;
    b.sandbox_says(&b_device, CUSTOMER, "hello").await;
    assert_eq!(app.wait_sent_texts(&b.id, CUSTOMER, 1).await, ["from B"]);
}

// ------------------------------------------------------------------------------ the worker itself

#[tokio::test]
async fn an_sqs_event_fixture_goes_through_the_inbound_worker() {
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    let wamid = format!("sandbox.in.{}", uuid::Uuid::new_v4().simple());
    let ts = now_ts().to_string();
    let event = sqs_fixture(
        "sqs-inbound-message.json",
        &[
            ("__TENANT_ID__", &t.id),
            ("__DEVICE_ID__", &device),
            ("__WAMID__", &wamid),
            ("__TS__", &ts),
        ],
    );
    let worker = fn_inbound_worker::Worker::new(app.state.clone());
    let res = worker.handle(event.clone()).await;
    assert_eq!(
        failed_ids(&res),
        ["55555555-5555-4555-8555-555555555555"],
        "the unreadable record is retried (then dead-lettered)"
    );
    let m = stored(app, &t.id, &wamid).await.expect("not stored");
    assert_eq!(m.text.as_deref(), Some("Hello from an SQS fixture"));
    assert_eq!(m.peer, "923007777777");
    // The same batch again (Lambda redelivers): nothing new.
    let again = worker.handle(event).await;
    assert_eq!(again.batch_item_failures.len(), 1);
    let conv = app.conversation(&t.id, &device, "923007777777").await;
    assert_eq!(conv.unread_count, 1);
    assert_eq!(conv.profile_name.as_deref(), Some("Fixture Customer"));
}

#[tokio::test]
async fn a_customers_messages_in_one_batch_are_answered_in_their_order() {
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    for word in ["alpha", "bravo", "charlie", "delta"] {
        t.create_rule(
            json!({"keyword": word, "match_type": "contains", "response": format!("re {word}")}),
        )
        .await;
    }
    let other = "923008880001";
    // Sent a few seconds ago, one second apart: the replies are newer than all of them.
    let ts = now_ts() - 10;
    let job = |from: &str, word: &str, i: i64| {
        json!({"job": "message", "tenantId": t.id, "deviceId": device, "provider": "sandbox",
            "message": {"from": from, "id": new_wamid(), "timestamp": (ts + i).to_string(),
                        "type": "text", "text": {"body": word}},
            "receivedAt": ts + i})
    };
    // One customer's four messages with another customer's between them: each of the
    // first customer's is handled after the one before it (concurrently, the answers went
    // out in any order and the messages raced for the conversation).
    let event = sqs_json_event(&[
        job(CUSTOMER, "alpha", 0),
        job(CUSTOMER, "bravo", 1),
        job(other, "alpha", 0),
        job(CUSTOMER, "charlie", 2),
        job(CUSTOMER, "delta", 3),
    ]);
    let worker = fn_inbound_worker::Worker::new(app.state.clone());
    let res = worker.handle(event).await;
    assert!(res.batch_item_failures.is_empty(), "{res:?}");
    assert_eq!(
        app.wait_sent_texts(&t.id, CUSTOMER, 4).await,
        ["re alpha", "re bravo", "re charlie", "re delta"]
    );
    assert_eq!(app.wait_sent_texts(&t.id, other, 1).await, ["re alpha"]);
    let conv = app.conversation(&t.id, &device, CUSTOMER).await;
    let last = conv.last_message.expect("a last message").text;
    assert_eq!(last.as_deref(), Some("re delta"), "the last reply");
}

#[tokio::test]
async fn a_redelivered_message_finishes_what_a_dead_attempt_left_and_never_answers_twice() {
    let e = env(false).await;
    let (app, t) = (&e.app, &e.tenant);
    let device = t.sandbox_device().await;
    t.create_rule(
        json!({"keyword": "hello", "match_type": "contains", "response": "Hi! How can we help?"}),
    )
    .await;
    let worker = fn_inbound_worker::Worker::new(app.state.clone());
    let job = |wamid: &str, ts: i64| {
        let body = json!({"job": "message", "tenantId": t.id, "deviceId": device, "provider": "sandbox",
            "message": {"from": CUSTOMER, "id": wamid, "timestamp": ts.to_string(), "type": "text",
                        "text": {"body": "hello there"}},
            "receivedAt": ts});
        sqs_json_event(&[body])
    };
    let replies = || async {
        app.history(&t.id, CUSTOMER)
            .await
            .into_iter()
            .filter(|h| h.direction == Direction::Out)
            .count()
    };
    let ts = now_ts();
    let at = reported_time(Some(ts), chrono::Utc::now());

    // An attempt stored the message 5 minutes ago and died before answering.
    let dead = new_wamid();
    app.record_customer_message(
        &t.id,
        &device,
        CUSTOMER,
        &dead,
        "hello there",
        at,
        chrono::Utc::now() - chrono::Duration::minutes(5),
    )
    .await;
    let res = worker.handle(job(&dead, ts)).await;
    assert!(res.batch_item_failures.is_empty());
    assert_eq!(replies().await, 1, "the redelivery answered");
    // Once more (Meta again): answered already.
    worker.handle(job(&dead, ts)).await;
    assert_eq!(replies().await, 1);

    // An attempt stored another one a moment ago and is still at work: left alone.
    let busy = new_wamid();
    app.record_customer_message(
        &t.id,
        &device,
        CUSTOMER,
        &busy,
        "hello there",
        at,
        chrono::Utc::now(),
    )
    .await;
    worker.handle(job(&busy, ts)).await;
    assert_eq!(replies().await, 1, "a fresh claim is not taken over");
    let log = t.reply_log().await;
    assert_eq!(log.len(), 1, "{log:?}");
}
