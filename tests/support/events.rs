//! Lambda events: the fixtures under `tests/events` with their placeholders filled in, SQS
//! events built from bodies or from messages taken off a queue, and API Gateway v2 events
//! run through a function's Router as `lambda_http` would.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::Value;

/// Meta's webhook for one text message from the test customer (923001234567).
pub fn meta_text(phone_id: &str, wamid: &str, text: &str, ts: i64) -> String {
    fixture(
        "meta-text-message.json",
        &[
            ("__PHONE_NUMBER_ID__", phone_id),
            ("__WAMID__", wamid),
            ("__TS__", &ts.to_string()),
            ("__TEXT__", text),
        ],
    )
}

/// Meta's webhook for one media message (`kind`: image, video, audio, document, sticker)
/// from the test customer: the media `id` to fetch, its type, and Meta's `sha256` if given.
pub fn meta_media(
    phone_id: &str,
    wamid: &str,
    kind: &str,
    media_id: &str,
    mime_type: &str,
    sha256: Option<&str>,
    ts: i64,
) -> String {
    let mut body: Value = serde_json::from_str(&meta_text(phone_id, wamid, "", ts))
        .unwrap_or_else(|e| panic!("meta-text-message.json: {e}"));
    let mut media = serde_json::json!({"id": media_id, "mime_type": mime_type});
    if let Some(s) = sha256 {
        media["sha256"] = Value::from(s);
    }
    let message = &mut body["entry"][0]["changes"][0]["value"]["messages"][0];
    message["type"] = Value::from(kind);
    if let Some(m) = message.as_object_mut() {
        m.remove("text");
        m.insert(kind.to_string(), media);
    }
    body.to_string()
}

/// Meta's `message_template_status_update` for one template of the test account.
pub fn meta_template_status(name: &str, language: &str, event: &str) -> String {
    fixture("meta-template-status-update.json", &[])
        .replace("\"APPROVED\"", &format!("\"{event}\""))
        .replace("order_update", name)
        .replace("\"en_US\"", &format!("\"{language}\""))
}

/// Meta's webhook for one status (`sent`, `delivered`, `read` …) of a message.
pub fn meta_status(phone_id: &str, wamid: &str, status: &str, ts: i64) -> String {
    fixture(
        "meta-statuses.json",
        &[
            ("__PHONE_NUMBER_ID__", phone_id),
            ("__WAMID__", wamid),
            ("__STATUS__", status),
            ("__TS__", &ts.to_string()),
        ],
    )
}

/// `tests/events/<name>` with each `(placeholder, value)` replaced.
pub fn fixture(name: &str, replacements: &[(&str, &str)]) -> String {
    let path = crate::workspace_root().join("tests/events").join(name);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    text
}

/// An SQS event fixture, parsed.
pub fn sqs_fixture(name: &str, replacements: &[(&str, &str)]) -> SqsEvent {
    let text = fixture(name, replacements);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One SQS record with this message id and body.
pub fn sqs_record(id: &str, body: impl ToString) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(body.to_string());
    m
}

/// An SQS event of these records.
pub fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

/// An SQS event of JSON bodies, each under a fresh message id.
pub fn sqs_json_event(bodies: &[Value]) -> SqsEvent {
    sqs_event(
        bodies
            .iter()
            .map(|b| sqs_record(&uuid::Uuid::new_v4().to_string(), b.to_string()))
            .collect(),
    )
}

/// The event Lambda would deliver for messages taken off a queue.
pub fn sqs_event_of(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    sqs_event(
        messages
            .iter()
            .map(|m| {
                let mut r = SqsMessage::default();
                r.message_id = m.message_id.clone();
                r.receipt_handle = m.receipt_handle.clone();
                r.body = m.body.clone();
                r
            })
            .collect(),
    )
}

/// The ids a batch response reports as failed, sorted.
pub fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

/// What a function's Router answered an API Gateway v2 event.
pub struct Invoked {
    pub status: u16,
    pub request_id: String,
    pub body: Value,
}

/// Runs an API Gateway v2 event (JSON text) through a function's Router as Lambda does: the
/// functions' own adapter (`wati_shared::lambda::http`) turns the answer into API Gateway's
/// payload 2.0 response, which is read back from its JSON.
pub async fn invoke(router: axum::Router, event: &str) -> Invoked {
    use aws_lambda_events::encodings::Body;
    let payload = serde_json::from_str(event).unwrap_or_else(|e| panic!("event: {e}"));
    let event = lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
    let res = wati_shared::lambda::http::answer(router, event)
        .await
        .unwrap_or_else(|e| panic!("the function failed: {e}"));
    // What Lambda would receive: the response as JSON, read back.
    let wire = serde_json::to_string(&res).expect("a response serialises");
    let res: aws_lambda_events::apigw::ApiGatewayV2httpResponse =
        serde_json::from_str(&wire).expect("a payload 2.0 response");
    let request_id = res
        .headers
        .get("x-request-id")
        .map(|v| v.to_str().expect("an ASCII request id").to_string())
        .unwrap_or_default();
    let bytes = match res.body {
        None => Vec::new(),
        Some(Body::Text(t)) => {
            assert!(!res.is_base64_encoded, "a text body is not base64");
            t.into_bytes()
        }
        Some(Body::Binary(b)) => b,
        Some(other) => other.to_vec(),
    };
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Invoked {
        status: u16::try_from(res.status_code).expect("an HTTP status"),
        request_id,
        body,
    }
}
