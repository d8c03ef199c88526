//! WhatsApp Web devices through a WAHA gateway (a local fake speaking WAHA's protocol):
//! pairing, session status, sends, acks, inbound messages, signatures and duplicates.

use std::time::Duration;
use wati_tests::fake_waha::{Engine, FakeWaha, QR_PNG, QR_VALUE};
use wati_tests::shared::store::{Direction, MessageSource};
use wati_tests::webhooks::Receiver;
use wati_tests::{
    eventually, json, sign, Fakes, Json, StatusCode, Tenant, TestApp, Value, Workers,
};

const WAHA_KEY: &str = "waha-test-key";
const BUSINESS: &str = "15550001111";
const CUSTOMER: &str = "923001234567";

struct Env {
    app: TestApp,
    waha: FakeWaha,
    tenant: Tenant,
    receiver: Receiver,
    _workers: Workers,
}

async fn env() -> Env {
    env_with(&[]).await
}

async fn env_with(vars: &[(&str, &str)]) -> Env {
    let fakes = Fakes::spawn().await;
    let waha = FakeWaha::start(WAHA_KEY).await;
    let mut opts = fakes
        .options()
        .roomy_keys()
        .with("WAHA_BASE_URL", &waha.base)
        .with("WAHA_API_KEY", WAHA_KEY);
    for (k, v) in vars {
        opts = opts.with(k, v);
    }
    let app = TestApp::start_with(opts).await;
    let tenant = app.tenant("pro").await;
    let workers = app.spawn_workers();
    Env {
        app,
        waha,
        tenant,
        receiver: fakes.receiver,
        _workers: workers,
    }
}

/// A WhatsApp Web device; its id and WAHA session name.
async fn web_device(e: &Env) -> (String, String) {
    let device = e
        .tenant
        .create_device(json!({"name": "Shop phone", "provider": "whatsapp_web"}))
        .await;
    let id = device["id"].as_str().expect("an id").to_string();
    let session = e.waha.only_session().name;
    (id, session)
}

fn inbound(id: &str, from: &str, text: &str) -> Value {
    json!({"id": format!("false_{from}_{id}"), "timestamp": chrono::Utc::now().timestamp(),
        "from": from, "fromMe": false, "source": "app", "to": format!("{BUSINESS}@c.us"),
        "body": text, "hasMedia": false, "media": null, "ack": 1, "ackName": "SERVER",
        "replyTo": null, "_data": {"notifyName": "Ayesha"}})
}

async fn status(resp: reqwest::Response) -> (StatusCode, Value) {
    let code = resp.status();
    (code, resp.json().await.unwrap_or(Value::Null))
}

/// Delivers a `message` event, asserting 200: the outcome the webhook answered.
async fn message_outcome(e: &Env, session: &str, payload: Value) -> String {
    let (code, answer) = status(e.waha.deliver(session, "message", payload).await).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    answer["outcome"].string()
}

/// With the webhook function's own URL configured (the template's function URL), the
/// session is given that URL, and the device says so.
#[tokio::test]
async fn the_session_posts_to_the_webhook_functions_own_url_when_configured() {
    let base = "https://gw0123456789.lambda-url.us-east-1.on.aws";
    let e = env_with(&[("GATEWAY_WEBHOOK_BASE_URL", &format!("{base}/"))]).await;
    let (id, session) = web_device(&e).await;
    let (url, _) = e.waha.webhook_of(&session);
    let expected = format!("{base}/api/public/gateway-webhook/{}/{id}", e.tenant.id);
    assert_eq!(url, expected);
    let device = e.tenant.get_ok(&format!("/api/devices/{id}")).await;
    assert_eq!(device["device"]["webhookUrl"], json!(expected));
}

/// The acceptance walk, step by step.
#[tokio::test]
async fn a_whatsapp_web_device_pairs_sends_hears_acks_and_dedupes() {
    let e = env().await;
    let t = &e.tenant;
    let secret = t.configure_webhook(&e.receiver.url, None).await;

    // Creating the device creates a WAHA session with our webhook and an HMAC key.
    let device = t
        .create_device(json!({"name": "Shop phone", "provider": "whatsapp_web"}))
        .await;
    assert_eq!(device["provider"], "whatsapp_web");
    assert_eq!(device["status"], "pairing");
    let id = device["id"].as_str().expect("an id").to_string();
    let session = e.waha.only_session();
    assert_eq!(session.status, "SCAN_QR_CODE");
    let hook = &session.config["webhooks"][0];
    let url = format!("{}/api/public/gateway-webhook/{}/{id}", e.app.base, t.id);
    assert_eq!(hook["url"], json!(url));
    assert_eq!(device["webhookUrl"], json!(url));
    assert_eq!(
        hook["events"],
        json!(["message", "message.ack", "session.status"])
    );
    let key = hook["hmac"]["key"].as_str().expect("an HMAC key");
    assert_eq!(key.len(), 64);
    let secret_name = format!(
        "{}/{}/{id}",
        e.app.state.config.meta.device_secret_prefix, t.id
    );
    let stored: Value = serde_json::from_str(
        &e.app
            .secret(&secret_name)
            .await
            .expect("the device's secret"),
    )
    .expect("JSON");
    assert_eq!(
        stored["hmacKey"],
        json!(key),
        "the key is kept in Secrets Manager"
    );
    let create = &e.waha.requests_to("/api/sessions")[0];
    assert_eq!(create.api_key.as_deref(), Some(WAHA_KEY));
    assert_eq!(create.body["start"], true);

    // The QR code is the gateway's.
    let qr = t.get_ok(&format!("/api/devices/{id}/qr")).await;
    assert_eq!(
        qr,
        json!({"status": "SCAN_QR_CODE", "qr": QR_VALUE, "image": format!("data:image/png;base64,{QR_PNG}")})
    );

    // Not connected yet: a send is refused, naming the state.
    let refused = t
        .send_message(json!({"to": CUSTOMER, "message": "Hi", "deviceId": id}))
        .await
        .error(StatusCode::CONFLICT);
    assert!(refused.contains("pairing"), "{refused}");
    assert!(e.waha.requests_to("/api/sendText").is_empty());

    // A signed session.status WORKING: connected, with the paired number; device.status out.
    let (code, _) = status(
        e.waha
            .set_status(&session.name, "WORKING", Some(BUSINESS))
            .await,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let listed = t.get_ok("/api/devices").await;
    assert_eq!(listed["devices"][0]["status"], "connected");
    assert_eq!(listed["devices"][0]["phone"], BUSINESS);
    let hits = e.receiver.wait_for(1, Duration::from_secs(20)).await;
    let event: Value = serde_json::from_str(&hits[0].body).expect("JSON");
    assert_eq!(event["event"], "device.status");
    assert_eq!(
        (&event["deviceId"], &event["status"], &event["phone"]),
        (&json!(id), &json!("connected"), &json!(BUSINESS))
    );
    assert_eq!(
        hits[0].header("x-wati-signature"),
        sign(&secret, hits[0].body.as_bytes())
    );

    // A send goes to /api/sendText with the key and the chat id; WhatsApp's id comes back.
    let sent = t
        .send_message(
            json!({"to": format!("+{CUSTOMER}"), "message": "Your order shipped", "deviceId": id}),
        )
        .await
        .ok();
    let call = e
        .waha
        .requests_to("/api/sendText")
        .pop()
        .expect("a sendText call");
    assert_eq!(call.api_key.as_deref(), Some(WAHA_KEY));
    assert_eq!(
        call.body,
        json!({"session": session.name, "chatId": format!("{CUSTOMER}@c.us"), "text": "Your order shipped"})
    );
    let wa_id = sent["messageId"]
        .as_str()
        .expect("WhatsApp's id")
        .to_string();
    assert!(wa_id.starts_with("3EB0"), "{sent}");
    let message_id = sent["id"].as_str().expect("our id").to_string();

    // A signed message.ack READ: the message is read.
    let ack = json!({"id": format!("true_{CUSTOMER}@c.us_{wa_id}"), "from": format!("{CUSTOMER}@c.us"),
        "fromMe": true, "ack": 3, "ackName": "READ"});
    let (code, _) = status(e.waha.deliver(&session.name, "message.ack", ack).await).await;
    assert_eq!(code, StatusCode::OK);
    eventually("the message read", Duration::from_secs(20), || async {
        (t.message(&message_id).await["status"] == "read").then_some(())
    })
    .await;

    // A signed inbound message: a keyword rule answers through sendText, and message.received.
    t.create_rule(json!({"keyword": "price", "match_type": "contains", "response": "Our prices: https://shop.example/prices"}))
        .await;
    let from = "923009998888";
    let payload = inbound(
        "3A0F1E2D3C4B5A69",
        &format!("{from}@c.us"),
        "What is the price?",
    );
    let body = e
        .waha
        .envelope(&session.name, "message", payload.clone())
        .to_string();

    // A bad HMAC is 401 and stores nothing.
    let (url, _) = e.waha.webhook_of(&session.name);
    let (code, err) = status(
        e.waha
            .post_signed(&url, &body, Some(&"ab".repeat(64)))
            .await,
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{err}");
    let (code, _) = status(e.waha.post_signed(&url, &body, None).await).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // The same event five times (and once more under a new event id) is one message.
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let (code, answer) = status(e.waha.deliver_raw(&session.name, &body).await).await;
        assert_eq!(code, StatusCode::OK);
        outcomes.push(answer["outcome"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(
        outcomes,
        [
            "handled",
            "duplicate",
            "duplicate",
            "duplicate",
            "duplicate"
        ]
    );
    let (code, _) = status(e.waha.deliver(&session.name, "message", payload).await).await;
    assert_eq!(code, StatusCode::OK);

    let reply = eventually(
        "the keyword reply at WAHA",
        Duration::from_secs(20),
        || async {
            e.waha
                .requests_to("/api/sendText")
                .into_iter()
                .find(|r| r.body["chatId"] == json!(format!("{from}@c.us")))
        },
    )
    .await;
    assert_eq!(
        reply.body["text"],
        "Our prices: https://shop.example/prices"
    );
    assert_eq!(reply.api_key.as_deref(), Some(WAHA_KEY));

    let received = eventually("message.received", Duration::from_secs(20), || async {
        e.receiver
            .hits()
            .into_iter()
            .find(|h| h.body.contains("message.received"))
    })
    .await;
    assert_eq!(
        received.header("x-wati-signature"),
        sign(&secret, received.body.as_bytes())
    );
    let event: Value = serde_json::from_str(&received.body).expect("JSON");
    assert_eq!(
        (
            &event["deviceId"],
            &event["from"],
            &event["to"],
            &event["text"],
            &event["messageId"],
            &event["type"]
        ),
        (
            &json!(id),
            &json!(from),
            &json!(BUSINESS),
            &json!("What is the price?"),
            &json!("3A0F1E2D3C4B5A69"),
            &json!("text")
        )
    );

    // Give any duplicate time to show, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let conv = e.app.conversation(&t.id, &id, from).await;
    assert_eq!(conv.unread_count, 1, "six deliveries, one message");
    let received_events = e
        .receiver
        .hits()
        .into_iter()
        .filter(|h| h.body.contains("message.received"))
        .count();
    assert_eq!(received_events, 1);
    let replies = e
        .waha
        .requests_to("/api/sendText")
        .into_iter()
        .filter(|r| r.body["chatId"] == json!(format!("{from}@c.us")))
        .count();
    assert_eq!(replies, 1, "one reply");
    let contacts = t.get_ok(&format!("/api/contacts?search={from}")).await;
    assert_eq!(contacts["contacts"][0]["name"], "Ayesha", "{contacts}");
}

#[tokio::test]
async fn a_badly_signed_webhook_stores_nothing_and_takes_no_event_id() {
    let e = env().await;
    let (id, session) = web_device(&e).await;
    e.waha.set_status(&session, "WORKING", Some(BUSINESS)).await;
    let payload = inbound("BAD0000000000001", &format!("{CUSTOMER}@c.us"), "hello");
    let body = e.waha.envelope(&session, "message", payload).to_string();
    let (url, key) = e.waha.webhook_of(&session);
    let wrong = wati_tests::shared::gateway_hmac("not-the-key", body.as_bytes());
    let (code, err) = status(e.waha.post_signed(&url, &body, Some(&wrong)).await).await;
    assert_eq!(
        (code, &err["error"]),
        (
            StatusCode::UNAUTHORIZED,
            &json!("Invalid signature: the webhook is not signed with the device's key")
        )
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(e
        .app
        .stored_message(&e.tenant.id, "BAD0000000000001")
        .await
        .is_none());
    // The event id was not taken: the correctly signed delivery is handled.
    let good = wati_tests::shared::gateway_hmac(&key, body.as_bytes());
    let (code, answer) = status(e.waha.post_signed(&url, &body, Some(&good)).await).await;
    assert_eq!(
        (code, &answer["outcome"]),
        (StatusCode::OK, &json!("handled"))
    );
    let secs20 = Duration::from_secs(20);
    e.app
        .wait_stored(&e.tenant.id, "BAD0000000000001", secs20)
        .await;
    // Another device's URL with this body: its key differs.
    let (code, _) = status(
        e.waha
            .post_signed(
                &url.replace(&id, &uuid::Uuid::now_v7().to_string()),
                &body,
                Some(&good),
            )
            .await,
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn noweb_ids_lids_groups_echoes_and_templates() {
    let e = env().await;
    let t = &e.tenant;
    let (id, session) = web_device(&e).await;
    e.waha.set_status(&session, "WORKING", Some(BUSINESS)).await;

    // NOWEB answers with key.id; the ack with the serialized id finds the message.
    e.waha.engine(Engine::Noweb);
    let sent = t
        .send_message(json!({"to": CUSTOMER, "message": "Hi", "deviceId": id}))
        .await
        .ok();
    let wa_id = sent["messageId"].as_str().expect("an id").to_string();
    assert!(wa_id.starts_with("3EB0"), "{sent}");
    let ack = json!({"id": format!("true_{CUSTOMER}@c.us_{wa_id}"), "fromMe": true, "ack": 2, "ackName": "DEVICE"});
    e.waha.deliver(&session, "message.ack", ack).await;
    let our_id = sent["id"].as_str().expect("our id").to_string();
    eventually("delivered", Duration::from_secs(20), || async {
        (t.message(&our_id).await["status"] == "delivered").then_some(())
    })
    .await;

    // Templates are refused with a clear 400, and nothing reaches the gateway.
    let before = e.waha.requests().len();
    let msg = t
        .send_message(json!({"to": CUSTOMER, "deviceId": id, "template": {"name": "order_update", "language": "en_US"}}))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(msg.contains("WhatsApp Web device"), "{msg}");
    assert_eq!(e.waha.requests().len(), before);

    // A sender known by its lid becomes its phone number: one person, one contact.
    e.waha.add_lid("77712345678901@lid", "923005550000");
    let (code, _) = status(
        e.waha
            .deliver(
                &session,
                "message",
                inbound("LID0000000000001", "77712345678901@lid", "hi from lid"),
            )
            .await,
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    eventually(
        "the lid sender's message",
        Duration::from_secs(20),
        || async {
            let m = e.app.stored_message(&t.id, "LID0000000000001").await;
            m.filter(|m| m.peer == "923005550000")
        },
    )
    .await;

    // Groups, status broadcasts and our own echoes are ignored.
    let echo = format!("true_{CUSTOMER}@c.us_{wa_id}");
    for (from, id) in [
        ("120363025555@g.us", "IGN0000000000001".to_string()),
        ("status@broadcast", "IGN0000000000002".to_string()),
    ] {
        let p = inbound(&id, from, "ignored");
        assert_eq!(message_outcome(&e, &session, p).await, "ignored", "{from}");
    }
    let mut own = inbound(&wa_id, &format!("{BUSINESS}@c.us"), "Hi");
    own["id"] = json!(echo);
    own["fromMe"] = json!(true);
    own["to"] = json!(format!("{CUSTOMER}@c.us"));
    assert_eq!(message_outcome(&e, &session, own.clone()).await, "ignored");

    // A message typed on the phone itself is recorded as outbound (to a customer who wrote).
    let wrote = inbound(
        "CUST000000000001",
        &format!("{CUSTOMER}@c.us"),
        "Still open?",
    );
    e.waha.deliver(&session, "message", wrote).await;
    eventually(
        "the customer's conversation",
        Duration::from_secs(20),
        || async {
            let store = &e.app.state.store;
            store
                .get_conversation(&t.id, &id, CUSTOMER)
                .await
                .expect("read")
        },
    )
    .await;
    own["id"] = json!(format!("true_{CUSTOMER}@c.us_PHONE00000000001"));
    own["body"] = json!("Typed on the phone");
    assert_eq!(message_outcome(&e, &session, own).await, "handled");
    let within = Duration::from_secs(20);
    let typed = e.app.wait_stored(&t.id, "PHONE00000000001", within).await;
    assert_eq!(
        (
            typed.direction,
            typed.source,
            typed.text.as_deref(),
            typed.peer.as_str()
        ),
        (
            Direction::Out,
            MessageSource::Phone,
            Some("Typed on the phone"),
            CUSTOMER
        )
    );
    // It is the customer's conversation's last message too.
    eventually(
        "the conversation's last message",
        Duration::from_secs(20),
        || async {
            let c = e.app.conversation(&t.id, &id, CUSTOMER).await;
            let last = c.last_message.filter(|m| m.direction == Direction::Out)?;
            (last.text.as_deref() == Some("Typed on the phone")).then_some(())
        },
    )
    .await;

    // Logged out: the device goes back to pairing, and sends are refused naming the state.
    t.post_empty(&format!("/api/devices/{id}/logout"))
        .await
        .ok();
    e.waha.set_status(&session, "SCAN_QR_CODE", None).await;
    let msg = t
        .send_message(json!({"to": CUSTOMER, "message": "Hi", "deviceId": id}))
        .await
        .error(StatusCode::CONFLICT);
    assert!(msg.contains("pairing"), "{msg}");
    let code = t
        .post(
            &format!("/api/devices/{id}/pairing-code"),
            json!({"phone": "+15550001111"}),
        )
        .await
        .ok();
    assert_eq!(code["code"], "ABCD-EFGH");

    // Deleting the device deletes the session and its secret.
    t.delete(&format!("/api/devices/{id}")).await.ok();
    assert!(e.waha.session(&session).is_none());
    let secret_name = format!(
        "{}/{}/{id}",
        e.app.state.config.meta.device_secret_prefix, t.id
    );
    assert!(e.app.secret(&secret_name).await.is_none());
}

#[tokio::test]
async fn a_message_nobody_acks_becomes_unconfirmed_and_a_late_ack_moves_it_on() {
    let e = env_with(&[("WAHA_UNCONFIRMED_AFTER_SECONDS", "2")]).await;
    let t = &e.tenant;
    t.configure_webhook(&e.receiver.url, Some(json!(["message.status"])))
        .await;
    let (id, session) = web_device(&e).await;
    e.waha.set_status(&session, "WORKING", Some(BUSINESS)).await;

    let lost = t
        .send_message(json!({"to": CUSTOMER, "message": "A", "deviceId": id}))
        .await
        .ok();
    let acked = t
        .send_message(json!({"to": CUSTOMER, "message": "B", "deviceId": id}))
        .await
        .ok();
    let server = |wa: &Value| {
        json!({"id": format!("true_{CUSTOMER}@c.us_{}", wa.as_str().expect("an id")),
        "fromMe": true, "ack": 1, "ackName": "SERVER"})
    };
    e.waha
        .deliver(&session, "message.ack", server(&acked["messageId"]))
        .await;

    let lost_id = lost["id"].as_str().expect("an id").to_string();
    eventually("A unconfirmed", Duration::from_secs(20), || async {
        (t.message(&lost_id).await["status"] == "unconfirmed").then_some(())
    })
    .await;
    let event = eventually(
        "message.status unconfirmed",
        Duration::from_secs(20),
        || async {
            e.receiver
                .hits()
                .into_iter()
                .find(|h| h.body.contains("unconfirmed"))
        },
    )
    .await;
    let event: Value = serde_json::from_str(&event.body).expect("JSON");
    assert_eq!(
        (&event["id"], &event["status"]),
        (&json!(lost_id), &json!("unconfirmed"))
    );
    // B had its server ack: still sent after the check.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        t.message(acked["id"].as_str().expect("an id")).await["status"],
        "sent"
    );

    // A late server ack makes A sent after all; the phone's ack delivered.
    e.waha
        .deliver(&session, "message.ack", server(&lost["messageId"]))
        .await;
    eventually("A sent again", Duration::from_secs(20), || async {
        (t.message(&lost_id).await["status"] == "sent").then_some(())
    })
    .await;
    let device_ack =
        json!({"id": lost["messageId"], "fromMe": true, "ack": 2, "ackName": "DEVICE"});
    e.waha.deliver(&session, "message.ack", device_ack).await;
    eventually("A delivered", Duration::from_secs(20), || async {
        (t.message(&lost_id).await["status"] == "delivered").then_some(())
    })
    .await;
}

#[tokio::test]
async fn gateway_errors_are_clear_timeouts_are_504_and_a_refused_create_keeps_nothing() {
    let e = env_with(&[("WAHA_TIMEOUT_SECONDS", "1")]).await;
    let t = &e.tenant;
    let (id, session) = web_device(&e).await;
    e.waha.set_status(&session, "WORKING", Some(BUSINESS)).await;

    // The gateway lost the session without telling us: its answer becomes a clear error.
    e.waha.set_status_quietly(&session, "SCAN_QR_CODE");
    let r = t
        .send_message(json!({"to": CUSTOMER, "message": "Hi", "deviceId": id}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["error"],
        "The WhatsApp Web session is not connected: scan the QR code (gateway status SCAN_QR_CODE)"
    );
    let failed = t
        .message(r.body["id"].as_str().expect("the failed message's id"))
        .await;
    assert_eq!(failed["status"], "failed");

    // No answer in time: 504, as for Meta.
    e.waha.set_status_quietly(&session, "WORKING");
    e.waha.delay_sends(Some(Duration::from_secs(3)));
    let r = t
        .send_message(json!({"to": CUSTOMER, "message": "Hi", "deviceId": id}))
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    e.waha.delay_sends(None);

    // QR of a connected device: 409. Pairing code without a phone: 400.
    t.get(&format!("/api/devices/{id}/qr"))
        .await
        .expect(StatusCode::CONFLICT);
    t.post(&format!("/api/devices/{id}/pairing-code"), json!({}))
        .await
        .expect(StatusCode::BAD_REQUEST);
    // A sandbox device has no QR code.
    let sandbox = t.sandbox_device().await;
    t.get(&format!("/api/devices/{sandbox}/qr"))
        .await
        .expect(StatusCode::BAD_REQUEST);

    // A gateway that refuses our key: the device is not kept, nor its secret.
    let other = FakeWaha::start("another-key").await;
    let app = TestApp::start_with(
        Fakes::spawn()
            .await
            .options()
            .with("WAHA_BASE_URL", &other.base)
            .with("WAHA_API_KEY", WAHA_KEY),
    )
    .await;
    let t2 = app.tenant("pro").await;
    let r = t2
        .post(
            "/api/devices",
            json!({"name": "Shop", "provider": "whatsapp_web"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(
        r.body["error"],
        "The WhatsApp Web gateway refused our API key (X-Api-Key)"
    );
    assert_eq!(t2.get_ok("/api/devices").await["devices"], json!([]));
    assert_eq!(
        t2.usage().await["devices"]["used"],
        json!(0),
        "the device cap unit is given back"
    );
}

#[tokio::test]
async fn a_tenant_may_bring_its_own_gateway_behind_the_ssrf_guard() {
    // No platform gateway at all.
    let fakes = Fakes::spawn().await;
    let app = TestApp::start_with(fakes.options()).await;
    let t = app.tenant("pro").await;
    t.post("/api/devices", json!({"name": "Shop", "provider": "whatsapp_web"}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "No WhatsApp Web gateway is configured on this platform (WAHA_BASE_URL): bring your own with \"gateway\": {\"baseUrl\", \"apiKey\"}");
    for (gateway, message) in [
        (
            json!({"baseUrl": "http://169.254.169.254"}),
            "\"gateway.apiKey\" is required",
        ),
        (json!({"apiKey": "k"}), "\"gateway.baseUrl\" is required"),
        (
            json!({"baseUrl": "ftp://waha", "apiKey": "k"}),
            "\"gateway.baseUrl\" must be an http(s) URL such as https://waha.example.com",
        ),
    ] {
        t.post(
            "/api/devices",
            json!({"name": "Shop", "provider": "whatsapp_web", "gateway": gateway}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, message);
    }
    let refused = t
        .post(
            "/api/devices",
            json!({"name": "Shop", "provider": "whatsapp_web",
            "gateway": {"baseUrl": "http://169.254.169.254", "apiKey": "k"}}),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(refused.starts_with("\"gateway.baseUrl\""), "{refused}");
    t.post("/api/devices", json!({"name": "Shop", "provider": "sandbox", "gateway": {"baseUrl": "https://x.example", "apiKey": "k"}}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "\"gateway\" is only for whatsapp_web devices");

    // Its own gateway (on this machine: the tests allow loopback targets), with its own key.
    let own = FakeWaha::start("tenant-own-key").await;
    let device = t
        .create_device(json!({"name": "Shop", "provider": "whatsapp_web",
            "gateway": {"baseUrl": own.base, "apiKey": "tenant-own-key"}}))
        .await;
    let session = own.only_session().name;
    assert_eq!(own.requests()[0].api_key.as_deref(), Some("tenant-own-key"));
    assert!(!device.to_string().contains("tenant-own-key"), "{device}");
    own.set_status(&session, "WORKING", Some(BUSINESS)).await;
    t.send_message(json!({"to": CUSTOMER, "message": "Hi", "deviceId": device["id"]}))
        .await
        .ok();
    assert_eq!(
        own.requests_to("/api/sendText")[0].api_key.as_deref(),
        Some("tenant-own-key")
    );
}

#[tokio::test]
async fn campaigns_through_a_whatsapp_web_device_keep_a_minimum_gap() {
    let e = env_with(&[("WAHA_MIN_SEND_GAP_SECONDS", "7")]).await;
    let (id, session) = web_device(&e).await;
    e.waha.set_status(&session, "WORKING", Some(BUSINESS)).await;
    // Both ask for a 1-second delay; the delay each campaign keeps.
    let tenant = &e.tenant;
    let delay_through = |device: String, message: &'static str| async move {
        let body = json!({"name": "Sale", "message": message, "deviceId": device,
            "delaySeconds": 1, "recipients": [{"name": "A", "phone": "+923001110001"}]});
        let campaign = tenant.campaign_id(body).await;
        tenant.campaign(&campaign).await["delaySeconds"].clone()
    };
    // WhatsApp Web has no templates: a template campaign is refused when created.
    let templated = json!({"name": "Sale", "deviceId": id, "recipients": [{"phone": "+923001110001"}],
        "template": {"name": "order_update", "language": "en_US"}});
    let refused = tenant
        .create_campaign(templated)
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(
        refused.starts_with("Templates are for Cloud API devices"),
        "{refused}"
    );
    assert_eq!(delay_through(id, "Hi {{name}}").await, 7);
    let sandbox = e.tenant.sandbox_device().await;
    assert_eq!(delay_through(sandbox, "Hi").await, 1);
}

#[tokio::test]
async fn wahas_webhook_as_an_api_gateway_event_is_checked_over_the_raw_body() {
    use wati_tests::events::Invoked;
    let e = env().await;
    let (id, session) = web_device(&e).await;
    let (_, key) = e.waha.webhook_of(&session);
    let raw = e
        .waha
        .envelope(
            &session,
            "session.status",
            json!({"name": session, "status": "WORKING"}),
        )
        .to_string();
    let event = |signature: &str| {
        wati_tests::fixture(
            "apigw-gateway-webhook.json",
            &[
                ("__TENANT_ID__", &e.tenant.id),
                ("__DEVICE_ID__", &id),
                ("__SIGNATURE__", signature),
                ("\"__BODY__\"", &serde_json::to_string(&raw).expect("JSON")),
            ],
        )
    };
    let router = || fn_gateway_webhook::router(e.app.state.clone());
    let bad = wati_tests::shared::gateway_hmac("wrong", raw.as_bytes());
    let Invoked { status, .. } = wati_tests::invoke(router(), &event(&bad)).await;
    assert_eq!(status, 401);
    let good = wati_tests::shared::gateway_hmac(&key, raw.as_bytes());
    let Invoked {
        status,
        request_id,
        body,
        ..
    } = wati_tests::invoke(router(), &event(&good)).await;
    assert_eq!((status, body), (200, json!({"outcome": "handled"})));
    assert_eq!(request_id, "fixture-gateway-webhook-0001");
    let device = e.tenant.get_ok(&format!("/api/devices/{id}")).await;
    assert_eq!(device["device"]["status"], "connected");
}
