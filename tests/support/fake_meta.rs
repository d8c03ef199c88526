//! A local stand-in for Meta's Graph API (`POST /{version}/{phone_number_id}/messages`) that
//! speaks its protocol: it checks the `Authorization: Bearer` token registered for the phone
//! number id and the exact JSON body Meta documents (unknown or missing keys are Meta's
//! `#100` error), answers with Meta's success body, or with what a test scripts: Meta's error
//! bodies, slow answers, or none at all.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub version: String,
    pub phone_number_id: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
    /// When the fake received it (pacing measurements).
    pub at: std::time::Instant,
}

/// What the fake answers the next request with.
#[derive(Debug, Clone)]
pub enum GraphReply {
    /// Meta's success body with a fresh `wamid`.
    Accept,
    /// Meta's error body.
    Error {
        http: u16,
        code: i64,
        message: String,
    },
    /// Answer after a pause.
    Slow(Duration, Box<GraphReply>),
    /// Never answer.
    Hang,
    /// A non-Meta answer (an edge proxy's HTML page).
    Raw(u16, String),
}

impl GraphReply {
    pub fn error(http: u16, code: i64, message: &str) -> GraphReply {
        GraphReply::Error {
            http,
            code,
            message: message.to_string(),
        }
    }
}

#[derive(Default)]
struct Shared {
    tokens: Mutex<HashMap<String, String>>,
    requests: Mutex<Vec<GraphRequest>>,
    replies: Mutex<VecDeque<GraphReply>>,
    sent: AtomicU64,
}

pub struct FakeMeta {
    /// Use as `GRAPH_API_BASE_URL`.
    pub base: String,
    shared: Arc<Shared>,
    _served: crate::serve::Served,
}

impl FakeMeta {
    pub async fn start() -> FakeMeta {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/{version}/{phone}/messages", post(messages))
            .with_state(shared.clone());
        let served = crate::serve::serve(app).await;
        FakeMeta {
            base: served.base.clone(),
            shared,
            _served: served,
        }
    }

    /// The token Meta accepts for a phone number id.
    pub fn register(&self, phone_number_id: &str, token: &str) {
        self.shared
            .tokens
            .lock()
            .expect("tokens")
            .insert(phone_number_id.to_string(), token.to_string());
    }

    /// Scripts the answer to the next request (the default is [`GraphReply::Accept`]).
    pub fn push(&self, reply: GraphReply) {
        self.shared
            .replies
            .lock()
            .expect("replies")
            .push_back(reply);
    }

    pub fn requests(&self) -> Vec<GraphRequest> {
        self.shared.requests.lock().expect("requests").clone()
    }
}

fn meta_error(http: u16, code: i64, message: &str, subcode: Option<i64>) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": message},
        "fbtrace_id": "AbCdEfGhIjK"
    });
    if let Some(s) = subcode {
        error["error_subcode"] = json!(s);
    }
    (
        StatusCode::from_u16(http).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({ "error": error })),
    )
        .into_response()
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((version, phone)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut r) = shared.requests.lock() {
        r.push(GraphRequest {
            version: version.clone(),
            phone_number_id: phone.clone(),
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: parsed.clone(),
            at: std::time::Instant::now(),
        });
    }
    let version_ok = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
    if !version_ok {
        return meta_error(400, 2500, "Unknown path components", None);
    }
    let token = shared
        .tokens
        .lock()
        .ok()
        .and_then(|t| t.get(&phone).cloned());
    let Some(token) = token else {
        return meta_error(
            400,
            100,
            &format!("Unsupported post request. Object with ID '{phone}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"),
            Some(33),
        );
    };
    if header("authorization") != Some(format!("Bearer {token}")) {
        return meta_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    }
    if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        return meta_error(400, 100, "Invalid parameter: body must be JSON", None);
    }
    if let Err(problem) = check_body(&parsed) {
        return meta_error(400, 100, &format!("Invalid parameter: {problem}"), None);
    }
    let reply = shared
        .replies
        .lock()
        .ok()
        .and_then(|mut r| r.pop_front())
        .unwrap_or(GraphReply::Accept);
    answer(&shared, reply, &parsed).await
}

async fn answer(shared: &Shared, reply: GraphReply, body: &Value) -> Response {
    let mut reply = reply;
    loop {
        match reply {
            GraphReply::Slow(pause, then) => {
                tokio::time::sleep(pause).await;
                reply = *then;
            }
            GraphReply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return StatusCode::GATEWAY_TIMEOUT.into_response();
            }
            GraphReply::Raw(status, text) => {
                return (
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    text,
                )
                    .into_response()
            }
            GraphReply::Error {
                http,
                code,
                message,
            } => return meta_error(http, code, &message, None),
            GraphReply::Accept => {
                let n = shared.sent.fetch_add(1, Ordering::SeqCst) + 1;
                let to = body["to"].clone();
                return Json(json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": format!("wamid.HBgMFAKE{n:08}")}]
                }))
                .into_response();
            }
        }
    }
}

/// Meta's request body rules, strictly: the keys it documents and nothing else.
pub fn check_body(b: &Value) -> Result<(), String> {
    let obj = b.as_object().ok_or("body is not a JSON object")?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("missing type")?;
    let mut expected = vec!["messaging_product", "recipient_type", "to", "type", kind];
    expected.sort();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    if keys != expected {
        return Err(format!("unexpected keys {keys:?}"));
    }
    if obj["messaging_product"] != "whatsapp" || obj["recipient_type"] != "individual" {
        return Err("messaging_product / recipient_type".into());
    }
    let to = obj["to"].as_str().ok_or("to")?;
    if to.is_empty() || !to.bytes().all(|c| c.is_ascii_digit()) {
        return Err("to must be digits".into());
    }
    let inner = obj[kind].as_object().ok_or("type object")?;
    let allowed: &[&str] = match kind {
        "text" => &["preview_url", "body"],
        "image" | "video" => &["link", "caption"],
        "audio" => &["link"],
        "document" => &["link", "caption", "filename"],
        "template" => &["name", "language", "components"],
        other => return Err(format!("unsupported type {other}")),
    };
    if let Some(k) = inner.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unexpected key {kind}.{k}"));
    }
    match kind {
        "text" => {
            if !inner.get("body").is_some_and(Value::is_string)
                || !inner.get("preview_url").is_some_and(Value::is_boolean)
            {
                return Err("text.body / text.preview_url".into());
            }
        }
        "template" => {
            if !inner.get("name").is_some_and(Value::is_string)
                || !inner["language"]["code"].is_string()
            {
                return Err("template.name / template.language.code".into());
            }
        }
        _ => {
            if !inner.get("link").is_some_and(Value::is_string) {
                return Err(format!("{kind}.link"));
            }
        }
    }
    Ok(())
}
