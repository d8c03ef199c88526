//! Text sends through Meta's Cloud API (a local fake that checks the exact protocol):
//! bodies and headers, message lookup, refusals, slow and silent providers, invalid input,
//! tenant isolation, `Idempotency-Key`, and the AWS round trips of a send.

use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use wati_tests::fake_meta::{FakeMeta, GraphReply};
use wati_tests::*;

const PHONE: &str = "106540352242922";
const TOKEN: &str = "EAAGsendToken0001";

async fn setup() -> CloudSender {
    setup_with(|_| {}).await
}

async fn setup_with(f: impl FnOnce(&mut TestOptions)) -> CloudSender {
    let fake = FakeMeta::start().await;
    let mut opts = sending_options(&fake.base);
    f(&mut opts);
    CloudSender::start(fake, opts, PHONE, TOKEN, "923001234567").await
}

/// A text to the customer, 923001234567, whose 24-hour window the tests open.
async fn to_customer(tenant: &Tenant, text: &str) -> Reply {
    tenant
        .send_message(json!({"to": "923001234567", "message": text}))
        .await
}

#[tokio::test]
async fn a_text_goes_to_meta_exactly_and_can_be_looked_up_by_either_id() {
    let s = setup().await;
    let Reply {
        status,
        headers,
        body,
    } = s
        .tenant
        .send_message(json!({"to": "+92 300 1234567", "message": "Your OTP is 123456"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.keys(), ["id", "messageId", "ok", "status", "to"]);
    assert_eq!(body["ok"], true);
    assert_eq!(body["status"], "sent");
    assert_eq!(body["to"], "923001234567");
    let id = body["id"].string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let wamid = body["messageId"].string();
    assert!(wamid.starts_with("wamid."), "{wamid}");
    assert!(header(&headers, "x-ratelimit-limit") == "60");

    let requests = s.fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.version, "v24.0");
    assert_eq!(r.phone_number_id, PHONE);
    assert_eq!(
        r.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(r
        .content_type
        .as_deref()
        .expect("a content type")
        .starts_with("application/json"));
    assert_eq!(
        r.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "923001234567",
               "type": "text", "text": {"preview_url": false, "body": "Your OTP is 123456"}})
    );

    let Reply {
        status,
        body: found,
        ..
    } = s.tenant.lookup(&id).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let m = &found["message"];
    assert_eq!(m["id"], id.as_str());
    assert_eq!(m["message_id"], wamid.as_str());
    assert_eq!(m["direction"], "out");
    assert_eq!(m["peer"], "923001234567");
    assert_eq!(m["text"], "Your OTP is 123456");
    assert_eq!(m["status"], "sent");
    assert_eq!(m["type"], "text");
    assert_eq!(m["device_id"], s.device.as_str());
    let created: DateTime<Utc> = m["created_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("created_at: {m}"));
    assert!((Utc::now() - created).num_seconds().abs() < 60);
    assert!(m["sent_at"].is_string());
    let Reply {
        status,
        body: by_wamid,
        ..
    } = s.tenant.lookup(&wamid).await;
    assert_eq!((status, &by_wamid), (StatusCode::OK, &found));

    // Without deviceId the first connected device sends; with it, the one named.
    let second = s
        .tenant
        .cloud_device(&s.fake, "5550002", "EAAGsecond")
        .await;
    s.app
        .open_window(&s.tenant.id, &second, "923001234567")
        .await;
    assert_eq!(
        s.tenant
            .send_message(json!({"to": "923001234567", "message": "a"}),)
            .await
            .status,
        StatusCode::OK
    );
    let body = s
        .tenant
        .send_message(json!({"to": "923001234567", "message": "b", "deviceId": second}))
        .await
        .expect(StatusCode::OK);
    let phones: Vec<(String, Option<String>)> = s
        .fake
        .requests()
        .iter()
        .map(|r| (r.phone_number_id.clone(), r.authorization.clone()))
        .collect();
    assert_eq!(
        phones[1..],
        [
            (PHONE.to_string(), Some(format!("Bearer {TOKEN}"))),
            ("5550002".to_string(), Some("Bearer EAAGsecond".to_string()))
        ]
    );
    let Reply { body: found, .. } = s.tenant.lookup(body["id"].str()).await;
    assert_eq!(found["message"]["device_id"], second.as_str());
}

#[tokio::test]
async fn template_sends_use_metas_template_body() {
    let s = setup().await;
    let components = json!([{"type": "body", "parameters": [{"type": "text", "text": "Ali"}]}]);
    let body = s.tenant.send_message(json!({"to": "+923001234567", "template": {"name": "welcome_1", "language": "en_US", "components": components}}),
    )
    .await.expect(StatusCode::OK);
    assert_eq!(
        s.fake.requests()[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "923001234567",
               "type": "template", "template": {"name": "welcome_1", "language": {"code": "en_US"}, "components": components}})
    );
    let Reply { body: found, .. } = s.tenant.lookup(body["id"].str()).await;
    assert_eq!(found["message"]["type"], "template");
    assert_eq!(
        found["message"]["template"],
        json!({"name": "welcome_1", "language": "en_US"})
    );
    assert_eq!(found["message"]["text"], Value::Null);
}

#[tokio::test]
async fn provider_refusals_are_recorded_as_failed_and_answered_with_the_message_id() {
    let s = setup().await;
    // (Meta's HTTP status, code, message) → (our status, error, Retry-After)
    type Case<'a> = (u16, i64, &'a str, StatusCode, &'a str, Option<&'a str>);
    let cases: [Case; 6] = [
        (400, 131030, "Recipient phone number not in allowed list", StatusCode::UNPROCESSABLE_ENTITY,
         "WhatsApp Cloud API refused the message (#131030): Recipient phone number not in allowed list: add it as a test number in Meta's API Setup, or move your number to production", None),
        (400, 131047, "Re-engagement message", StatusCode::UNPROCESSABLE_ENTITY,
         "WhatsApp Cloud API refused the message (#131047): more than 24 hours have passed since the recipient last wrote: only an approved template can be sent now (the \"template\" field)", None),
        (404, 132000, "Template name does not exist in the translation", StatusCode::UNPROCESSABLE_ENTITY,
         "WhatsApp Cloud API refused the message (#132000): template problem: Template name does not exist in the translation: check that the template exists and is approved in this language and that \"components\" matches its parameters", None),
        (429, 130429, "Rate limit hit", StatusCode::TOO_MANY_REQUESTS,
         "WhatsApp Cloud API refused the message (#130429): the phone number's throughput limit was reached (about 80 messages per second by default): retry shortly", Some("1")),
        (400, 131056, "(Business Account, Consumer Account) pair rate limit hit", StatusCode::TOO_MANY_REQUESTS,
         "WhatsApp Cloud API refused the message (#131056): too many messages to this recipient in a short time: wait a few seconds before writing to them again", Some("6")),
        (401, 190, "Error validating access token: Session has expired", StatusCode::BAD_GATEWAY,
         "WhatsApp Cloud API refused the message (#190): the device's access token has expired or was revoked: generate a new permanent token and add the device again", None),
    ];
    for (http, code, meta_message, status, error, retry_after) in cases {
        s.fake.push(GraphReply::error(http, code, meta_message));
        let Reply {
            status: got,
            headers,
            body,
        } = s
            .tenant
            .send_message(json!({"to": "923001234567", "message": format!("case {code}")}))
            .await;
        assert_eq!(got, status, "{code}: {body}");
        assert_eq!(body.keys(), ["code", "error", "id", "status"], "{body}");
        assert_eq!(body["error"], error);
        assert_eq!(body["status"], "failed");
        assert_eq!(body["code"], code);
        assert_eq!(
            headers
                .get("retry-after")
                .map(|v| v.to_str().expect("an ASCII header")),
            retry_after,
            "{code}"
        );
        let id = body["id"].str();
        let Reply {
            status: found_status,
            body: found,
            ..
        } = s.tenant.lookup(id).await;
        assert_eq!(found_status, StatusCode::OK);
        let m = &found["message"];
        assert_eq!(m["status"], "failed", "{code}");
        assert_eq!(m["error"], error);
        assert_eq!(m["error_code"], code);
        assert_eq!(m["message_id"], Value::Null);
        assert!(m["failed_at"].is_string());
    }
    assert_eq!(s.fake.requests().len(), 6);

    // A token Meta really rejects (the fake knows another one): the same #190 answer.
    s.fake.register(PHONE, "EAAGrotatedToken");
    let body = to_customer(&s.tenant, "x")
        .await
        .expect(StatusCode::BAD_GATEWAY);
    assert!(body["error"].str().contains("(#190)"), "{body}");
    assert_eq!(
        s.fake
            .requests()
            .last()
            .and_then(|r| r.authorization.clone()),
        Some(format!("Bearer {TOKEN}"))
    );
    // Meta's edge failing with a page of HTML is a 502 too, with the id.
    s.fake.push(GraphReply::Raw(
        503,
        "<html>Service Unavailable</html>".into(),
    ));
    s.fake.register(PHONE, TOKEN);
    let body = to_customer(&s.tenant, "y")
        .await
        .expect(StatusCode::BAD_GATEWAY);
    assert_eq!(
        body["error"],
        "WhatsApp Cloud API failed (HTTP 503); the message was not sent"
    );
    assert!(body["id"].is_string());
}

#[tokio::test]
async fn slow_answers_are_waited_for_and_silence_is_a_504_with_the_message_id() {
    let s = setup().await; // provider timeout: 2 s
    s.fake.push(GraphReply::Slow(
        Duration::from_millis(1200),
        Box::new(GraphReply::Accept),
    ));
    to_customer(&s.tenant, "slow").await.expect(StatusCode::OK);

    s.fake.push(GraphReply::Hang);
    let started = Instant::now();
    let Reply { status, body, .. } = to_customer(&s.tenant, "silence").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(
        body["error"],
        "WhatsApp Cloud API did not answer within 2 s: the message may or may not have been sent; check its status before sending it again"
    );
    let Reply { body: found, .. } = s.tenant.lookup(body["id"].str()).await;
    assert_eq!(found["message"]["status"], "failed");
    assert_eq!(found["message"]["error"], body["error"]);

    // An unreachable Graph API (nothing listens there) is a 502: not sent.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = TestApp::start_with(sending_options(&format!("http://127.0.0.1:{closed}"))).await;
    let t = down.tenant("pro").await;
    let dev = t.cloud_device(&s.fake, "5550009", "EAAGdown").await;
    down.open_window(&t.id, &dev, "923001234567").await;
    to_customer(&t, "x").await.expect_error(
        StatusCode::BAD_GATEWAY,
        "WhatsApp Cloud API could not be reached; the message was not sent",
    );
}

#[tokio::test]
async fn bad_input_is_a_400_that_names_the_field_and_sends_nothing() {
    let s = setup().await;
    let long = "a".repeat(4097);
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "\"to\" is required"),
        (json!({"message": "hi"}), "\"to\" is required"),
        (
            json!({"to": "abc", "message": "hi"}),
            "\"to\" must be an E.164 number or local digits",
        ),
        (
            json!({"to": "+0923001234567", "message": "hi"}),
            "\"to\" must be an E.164 number or local digits",
        ),
        (
            json!({"to": "12345", "message": "hi"}),
            "\"to\" must be an E.164 number or local digits",
        ),
        (
            json!({"to": "923001234567@c.us", "message": "hi"}),
            "\"to\" must be an E.164 number or local digits",
        ),
        (json!({"to": "+923001234567"}), "\"message\" is required"),
        (
            json!({"to": "+923001234567", "message": ""}),
            "\"message\" must not be empty",
        ),
        (
            json!({"to": "+923001234567", "message": "  \n"}),
            "\"message\" must not be empty",
        ),
        (
            json!({"to": "+923001234567", "message": long}),
            "\"message\" must be at most 4096 characters (got 4097)",
        ),
        (
            json!({"to": "+923001234567", "message": "hi", "deviceId": "first"}),
            "\"deviceId\" must be a device id (a UUID from GET /api/devices)",
        ),
        (
            json!({"to": "+923001234567", "template": {"name": "Welcome!", "language": "en_US"}}),
            "\"template.name\" must be a template name: lowercase letters, digits and underscores",
        ),
        (
            json!({"to": "+923001234567", "template": {"name": "welcome", "language": "English"}}),
            "\"template.language\" must be a language code such as en or en_US",
        ),
    ];
    for (body, message) in cases {
        s.tenant
            .send_message(body.clone())
            .await
            .expect_bad_request(message, &body);
    }
    // Wrong JSON shapes name the field too.
    for (body, starts) in [
        (
            json!({"to": 923001234567i64, "message": "hi"}),
            "Invalid \"to\": invalid type: integer",
        ),
        (
            json!({"to": "923001234567", "message": ["hi"]}),
            "Invalid \"message\": invalid type: sequence",
        ),
        (
            json!({"to": "923001234567", "message": "hi", "priority": "high"}),
            "Invalid \"priority\": unknown field `priority`",
        ),
    ] {
        let Reply {
            status,
            body: answer,
            ..
        } = s.tenant.send_message(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let text = answer["error"].str();
        assert!(text.starts_with(starts), "{body}: {text}");
    }
    let t = &s.tenant;
    let error = t
        .send(
            t.builder(Method::POST, "/api/public/v1/send")
                .body("to=923001234567&message=hi"),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(
        error.starts_with("Request body is not valid JSON"),
        "{error}"
    );
    let Reply {
        status,
        body: answer,
        ..
    } = t
        .send(
            t.builder(Method::POST, "/api/public/v1/send")
                .header("idempotency-key", "k".repeat(256))
                .json(&json!({"to": "923001234567", "message": "hi"})),
        )
        .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "\"Idempotency-Key\" must be 1-255 visible ASCII characters"})
        )
    );
    // A device that is not the tenant's, and a tenant without devices: clear 4xx, nothing kept.
    let ghost = uuid::Uuid::new_v4().to_string();
    let Reply {
        status,
        body: answer,
        ..
    } = s
        .tenant
        .send_message(json!({"to": "923001234567", "message": "hi", "deviceId": ghost}))
        .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::NOT_FOUND,
            json!({"error": format!("\"deviceId\": device {ghost} not found")})
        )
    );
    let empty = s.app.tenant("pro").await;
    let Reply {
        status,
        body: answer,
        ..
    } = to_customer(&empty, "hi").await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "No connected device: add one with POST /api/devices (provider \"sandbox\" works without WhatsApp)"})
        )
    );
    assert!(s.fake.requests().is_empty(), "nothing reached Meta");
    assert!(
        s.app.stored_outbound(&s.tenant.id).await.is_empty(),
        "no message kept"
    );
    assert!(s.app.stored_outbound(&empty.id).await.is_empty());

    // 4096 characters is fine (the boundary), emoji count as one each.
    s.tenant
        .send_message(json!({"to": "923001234567", "message": "é".repeat(4096)}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        s.tenant
            .send_message(json!({"to": "923001234567", "message": "👍".repeat(4096)}),)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_tenants_messages_and_devices_are_not_found() {
    let s = setup().await;
    let sent = to_customer(&s.tenant, "private").await.body;
    let id = sent["id"].string();
    let wamid = sent["messageId"].string();
    let other = s.app.tenant("pro").await;
    let missing = json!({"error": "Message not found"});
    for probe in [
        id.as_str(),
        wamid.as_str(),
        &uuid::Uuid::new_v4().to_string(),
        "wamid.nothing",
    ] {
        let Reply { status, body, .. } = other.lookup(probe).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, missing.clone()),
            "{probe}"
        );
    }
    let Reply { status, .. } = s.tenant.lookup(&id).await;
    assert_eq!(status, StatusCode::OK, "the owner still sees it");
    // Sending through another tenant's device looks like sending through a missing one.
    other.sandbox_device().await;
    let Reply { status, body, .. } = other
        .send_message(json!({"to": "923001234567", "message": "hi", "deviceId": s.device}))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"error": format!("\"deviceId\": device {} not found", s.device)})
        )
    );
    assert_eq!(s.fake.requests().len(), 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_sends_nothing_again() {
    let s = setup().await;
    let t = &s.tenant;
    let with_key = |key: &str, body: &str| {
        t.send(
            t.builder(Method::POST, "/api/public/v1/send")
                .header("idempotency-key", key)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
    };
    let reply = with_key(
        "order-42",
        r#"{"to":"+923001234567","message":"Order 42 shipped"}"#,
    )
    .await;
    assert_eq!(reply.header_opt("idempotent-replayed"), None);
    let first = reply.ok();
    // The same request again (key order and spacing do not matter): the first answer.
    let reply = with_key(
        "order-42",
        r#"{ "message": "Order 42 shipped", "to": "+923001234567" }"#,
    )
    .await;
    assert_eq!(reply.header("idempotent-replayed"), "true");
    assert_eq!(reply.ok(), first);
    assert_eq!(s.fake.requests().len(), 1, "sent once");
    // The same key with another body, or on the other endpoint: refused.
    with_key(
        "order-42",
        r#"{"to":"+923001234567","message":"Order 43 shipped"}"#,
    )
    .await
    .expect_body(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": "This Idempotency-Key was already used with a different request: use a new key for a new message"}),
    );
    let status = t
        .send(
            t.builder(Method::POST, "/api/public/v1/send-media")
                .header("idempotency-key", "order-42")
                .json(&json!({"to":"+923001234567","message":"Order 42 shipped"})),
        )
        .await
        .status;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "send-media validates its own body first"
    );
    assert_eq!(s.fake.requests().len(), 1);
    // Keys are per tenant: another tenant may use the same one.
    let other = s.app.tenant("pro").await;
    other.sandbox_device().await;
    let reply = other
        .send(
            other
                .builder(Method::POST, "/api/public/v1/send")
                .header("idempotency-key", "order-42")
                .json(&json!({"to":"+923001234567","message":"Order 42 shipped"})),
        )
        .await;
    assert_eq!(reply.header_opt("idempotent-replayed"), None);
    assert_ne!(reply.ok()["id"], first["id"]);

    // A refused send is replayed as refused, without asking Meta again.
    s.fake.push(GraphReply::error(
        400,
        131030,
        "Recipient phone number not in allowed list",
    ));
    s.app
        .open_window(&s.tenant.id, &s.device, "923009999999")
        .await;
    let refused_body = r#"{"to":"923009999999","message":"hello"}"#;
    let refused = with_key("k-refused", refused_body)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let replay = with_key("k-refused", refused_body).await;
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert_eq!(replay.expect(StatusCode::UNPROCESSABLE_ENTITY), refused);
    assert_eq!(s.fake.requests().len(), 2);

    // Parallel retries of one key: one send, and every answer is the first one or "in progress".
    s.fake.push(GraphReply::Slow(
        Duration::from_millis(400),
        Box::new(GraphReply::Accept),
    ));
    let burst = (0..5).map(|_| with_key("k-burst", r#"{"to":"923001234567","message":"burst"}"#));
    let answers = futures::future::join_all(burst).await;
    assert_eq!(s.fake.requests().len(), 3, "one send for five requests");
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .map(|a| &a.body)
        .collect();
    assert!(!ok.is_empty());
    assert!(ok.iter().all(|b| b["id"] == ok[0]["id"]), "{ok:?}");
    for a in answers.iter().filter(|a| a.status != StatusCode::OK) {
        let body = &a.body;
        assert_eq!(a.status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["error"]
                .str()
                .starts_with("A request with this Idempotency-Key is still being processed"),
            "{body}"
        );
    }

    // A send that stopped before the provider releases its key: fixed and retried, it sends.
    let fresh = s.app.tenant("pro").await;
    let retry = || {
        fresh.send(
            fresh
                .builder(Method::POST, "/api/public/v1/send")
                .header("idempotency-key", "k-no-device")
                .json(&json!({"to": "923001234567", "message": "when ready"})),
        )
    };
    assert_eq!(retry().await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let dev = fresh.cloud_device(&s.fake, "5550003", "EAAGfresh").await;
    s.app.open_window(&fresh.id, &dev, "923001234567").await;
    let reply = retry().await;
    assert_eq!(reply.header_opt("idempotent-replayed"), None);
    reply.ok();
    assert_eq!(s.fake.requests().len(), 4);
}

/// The AWS calls of a send, as the call accounting reports them (documented in
/// docs/sending.md): authentication (1 write), then at once the device, the daily outbound
/// unit, the 24-hour window and the recipient's consent (and with an `Idempotency-Key` the
/// pending record and its claim: 4 or 5 calls, 1 round trip), then the provider, then the
/// outcome (1 write: the whole message when nothing was stored before) and the conversation's
/// last message (1 write, the customer has one), then the analytics counter (1 write); the
/// `message.status` event is not queued, and its webhook not read: the key's copy says the
/// tenant has none.
#[tokio::test]
async fn a_text_send_waits_for_two_aws_round_trips_before_the_provider() {
    // A fixed clock keeps every request in one rate-limit minute (one auth write each).
    let s = setup_with(|o| o.clock = clock_at("2026-11-24T10:00:05Z")).await;
    let body = json!({"to": "923001234567", "message": "count me"});

    // First send of this instance from the device and for the tenant: its token is read
    // from Secrets Manager, and the tenant's phone settings once (then cached).
    let h = s.tenant.send_message(body.clone()).await;
    assert_eq!(
        h.count("x-aws-calls-before-provider"),
        7,
        "auth, phone settings, device, daily outbound unit, 24-hour window, consent, secret"
    );
    assert_eq!(h.count("x-aws-sequential-before-provider"), 4);
    assert_eq!(
        h.count("x-aws-calls"),
        10,
        "+ the outcome and the conversation's last message (the open window is a conversation), + the analytics counter"
    );
    let sent = h.ok();

    // From then on the token is cached: two round trips before the provider.
    for idempotent in [false, true] {
        let t = &s.tenant;
        let mut req = t.builder(Method::POST, "/api/public/v1/send").json(&body);
        if idempotent {
            req = req.header("idempotency-key", "rt-1");
        }
        let h = t.send(req).await;
        assert_eq!(h.status, StatusCode::OK);
        // Without a key the message is written once, with its outcome.
        let pending = u32::from(idempotent);
        assert_eq!(
            h.count("x-aws-calls-before-provider"),
            5 + pending,
            "auth, then at once: (with a key: message + claim), device, daily outbound unit, 24-hour window, consent"
        );
        assert_eq!(h.count("x-aws-sequential-before-provider"), 2);
        assert_eq!(
            h.count("x-aws-calls"),
            8 + pending,
            "+ the outcome and the conversation's last message, + the analytics counter"
        );
        assert_eq!(h.count("x-aws-sequential"), 4);
        let capacity: f64 = h
            .header("x-aws-consumed-capacity")
            .parse()
            .expect("a number of capacity units");
        assert!(capacity >= 4.0, "{capacity}");
    }
    // A lookup: authentication and one read; by WhatsApp id too (a send stored once is keyed
    // by an id computed from it).
    for (probe, calls) in [(sent["id"].str(), 2), (sent["messageId"].str(), 2)] {
        let h = s.tenant.lookup(probe).await;
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(
            (h.count("x-aws-calls"), h.count("x-aws-sequential")),
            (calls, calls)
        );
        assert_eq!(h.header_opt("x-aws-calls-before-provider"), None);
    }
}

#[tokio::test]
async fn trailing_data_after_the_json_body_is_refused_and_nothing_is_sent() {
    let s = setup().await;
    let t = &s.tenant;
    let refusal = |column: u32| json!({"error": format!("Request body is not valid JSON: trailing characters at line 1 column {column}")});
    for (path, body, column) in [
        (
            "/api/public/v1/send",
            r#"{"to":"+923001234567","message":"first"}{"to":"+92300""#,
            41,
        ),
        (
            "/api/public/v1/send-media",
            r#"{"to":"+923001234567","type":"image","url":"https://example.com/a.png"} {}"#,
            73,
        ),
    ] {
        t.raw(Method::POST, path, body)
            .await
            .expect_body(StatusCode::BAD_REQUEST, refusal(column));
        t.send(
            t.builder(Method::POST, path)
                .header("idempotency-key", "trailing-1")
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .expect_body(StatusCode::BAD_REQUEST, refusal(column));
    }
    assert!(s.fake.requests().is_empty(), "nothing sent");
    // Whitespace after the value is not data.
    let body = "{\"to\":\"+923001234567\",\"message\":\"first\"}\r\n ";
    t.raw(Method::POST, "/api/public/v1/send", body).await.ok();
    assert_eq!(s.fake.requests().len(), 1);
}

/// WhatsApp reusing a message id: the id computed from it is taken, so the second send is
/// stored under its own UUIDv7 with a WhatsApp-id index entry; the first is not overwritten.
#[tokio::test]
async fn a_reused_whatsapp_id_never_overwrites_the_message_keyed_by_it() {
    use wati_tests::shared::id_from_wamid;
    use wati_tests::shared::store::keys;
    let s = setup().await;
    let t = &s.tenant;
    let first = to_customer(t, "first").await.ok();
    let (id, wamid) = (first["id"].string(), first["messageId"].string());
    assert_eq!(id, id_from_wamid(&t.id, &wamid));
    s.fake.push(GraphReply::Raw(
        200,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "923001234567", "wa_id": "923001234567"}],
            "messages": [{"id": wamid}]
        })
        .to_string(),
    ));
    let second = to_customer(t, "second").await.ok();
    let other = second["id"].string();
    assert_eq!(second["messageId"], wamid.as_str());
    assert_ne!(other, id);
    let version = uuid::Uuid::parse_str(&other)
        .expect("a UUID")
        .get_version_num();
    assert_eq!(version, 7, "the send's own id");
    assert_eq!(t.message(&id).await["text"], "first", "not overwritten");
    assert_eq!(t.message(&other).await["text"], "second");
    let item = s
        .app
        .item(&keys::message_pk(&t.id, &other), keys::MESSAGE_SK)
        .await;
    assert!(item.contains_key(keys::GSI3PK), "found through the index");
}
