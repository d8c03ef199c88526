//! A local stand-in for Meta's Graph API (`POST /{version}/{phone_number_id}/messages`) that
//! speaks its protocol: it checks the `Authorization: Bearer` token registered for the phone
//! number id and the exact JSON body Meta documents (unknown or missing keys are Meta's
//! `#100` error), answers with Meta's success body, or with what a test scripts: Meta's error
//! bodies, slow answers, or none at all. It also serves inbound media as Meta does (the
//! media node `GET /{version}/{media-id}`, then the bytes at its `url`, both with the
//! token) and a WhatsApp Business Account's templates (`/{version}/{waba-id}/message_templates`:
//! paged listing, create, delete).

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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

/// A media file the fake serves.
#[derive(Debug, Clone)]
struct Media {
    bytes: Vec<u8>,
    mime_type: String,
    token: String,
}

#[derive(Default)]
struct Shared {
    tokens: Mutex<HashMap<String, String>>,
    media: Mutex<HashMap<String, Media>>,
    /// Media ids whose next download fails (a 500), how many times.
    media_failures: Mutex<HashMap<String, u32>>,
    /// Byte downloads served, per media id.
    media_downloads: Mutex<HashMap<String, u32>>,
    /// WABA id → (token, templates as Meta lists them).
    templates: Mutex<HashMap<String, (String, Vec<Value>)>>,
    /// Template calls: (method, WABA id, query).
    template_calls: Mutex<Vec<(String, String, String)>>,
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
            .route("/{version}/{node}", get(media_node))
            .route("/media-bytes/{id}", get(media_bytes))
            .route(
                "/{version}/{waba}/message_templates",
                get(list_templates)
                    .post(create_template)
                    .delete(delete_template),
            )
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

    /// An inbound media Meta holds: `id`'s node answers its size, type and SHA-256 (hex),
    /// and a `url` on this fake that serves `bytes` to `token`.
    pub fn add_media(&self, id: &str, bytes: &[u8], mime_type: &str, token: &str) {
        self.shared.media.lock().expect("media").insert(
            id.to_string(),
            Media {
                bytes: bytes.to_vec(),
                mime_type: mime_type.to_string(),
                token: token.to_string(),
            },
        );
    }

    /// The next `times` downloads of `id`'s bytes fail with a 500.
    pub fn fail_media(&self, id: &str, times: u32) {
        self.shared
            .media_failures
            .lock()
            .expect("failures")
            .insert(id.to_string(), times);
    }

    /// How many times `id`'s bytes were served.
    pub fn media_downloads(&self, id: &str) -> u32 {
        let d = self.shared.media_downloads.lock().expect("downloads");
        d.get(id).copied().unwrap_or(0)
    }

    /// A WhatsApp Business Account's templates (Meta's objects: `name`, `language`,
    /// `status`, `category`, `components`), readable with `token`.
    pub fn set_templates(&self, waba_id: &str, token: &str, templates: Vec<Value>) {
        self.shared
            .templates
            .lock()
            .expect("templates")
            .insert(waba_id.to_string(), (token.to_string(), templates));
    }

    /// The account's templates as the fake holds them now.
    pub fn templates(&self, waba_id: &str) -> Vec<Value> {
        let t = self.shared.templates.lock().expect("templates");
        t.get(waba_id).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Template calls so far: (method, WABA id, query string).
    pub fn template_calls(&self) -> Vec<(String, String, String)> {
        self.shared.template_calls.lock().expect("calls").clone()
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

fn invalid_token() -> Response {
    meta_error(
        401,
        190,
        "Invalid OAuth access token - Cannot parse access token",
        None,
    )
}

fn no_object(id: &str) -> Response {
    meta_error(
        400,
        100,
        &format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"),
        Some(33),
    )
}

async fn media_node(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    use sha2::Digest;
    let media = shared.media.lock().ok().and_then(|m| m.get(&id).cloned());
    let Some(media) = media else {
        return no_object(&id);
    };
    if bearer(&headers).as_deref() != Some(media.token.as_str()) {
        return invalid_token();
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("http://{host}/media-bytes/{id}"),
        "mime_type": media.mime_type,
        "sha256": hex::encode(sha2::Sha256::digest(&media.bytes)),
        "file_size": media.bytes.len(),
        "id": id,
    }))
    .into_response()
}

async fn media_bytes(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let media = shared.media.lock().ok().and_then(|m| m.get(&id).cloned());
    let Some(media) = media else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if bearer(&headers).as_deref() != Some(media.token.as_str()) {
        return invalid_token();
    }
    if let Ok(mut f) = shared.media_failures.lock() {
        if let Some(n) = f.get_mut(&id).filter(|n| **n > 0) {
            *n -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    if let Ok(mut d) = shared.media_downloads.lock() {
        *d.entry(id).or_default() += 1;
    }
    (
        [(axum::http::header::CONTENT_TYPE, media.mime_type)],
        media.bytes,
    )
        .into_response()
}

fn log_template_call(shared: &Shared, method: &str, waba: &str, query: &HashMap<String, String>) {
    let mut q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    q.sort();
    if let Ok(mut c) = shared.template_calls.lock() {
        c.push((method.to_string(), waba.to_string(), q.join("&")));
    }
}

/// The account's templates if `headers` carry its token.
fn account(shared: &Shared, waba: &str, headers: &HeaderMap) -> Result<Vec<Value>, Box<Response>> {
    let t = shared
        .templates
        .lock()
        .ok()
        .and_then(|t| t.get(waba).cloned());
    let Some((token, templates)) = t else {
        return Err(Box::new(no_object(waba)));
    };
    if bearer(headers).as_deref() != Some(token.as_str()) {
        return Err(Box::new(invalid_token()));
    }
    Ok(templates)
}

async fn list_templates(
    State(shared): State<Arc<Shared>>,
    Path((_version, waba)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    log_template_call(&shared, "GET", &waba, &query);
    let templates = match account(&shared, &waba, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25)
        .max(1);
    let start: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = templates.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let mut paging = json!({"cursors": {"before": start.to_string(), "after": end.to_string()}});
    if end < templates.len() {
        paging["next"] = json!(format!("https://graph.facebook.com/next?after={end}"));
    }
    Json(json!({"data": page, "paging": paging})).into_response()
}

async fn create_template(
    State(shared): State<Arc<Shared>>,
    Path((_version, waba)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    log_template_call(&shared, "POST", &waba, &HashMap::new());
    if let Err(r) = account(&shared, &waba, &headers) {
        return *r;
    }
    let keys = ["category", "components", "language", "name"];
    if body.as_object().is_none_or(|o| {
        let mut k: Vec<&str> = o.keys().map(String::as_str).collect();
        k.sort();
        k != keys
    }) {
        return meta_error(400, 100, "Invalid parameter", None);
    }
    let id = format!("{}", 1_000_000 + shared.sent.fetch_add(1, Ordering::SeqCst));
    let mut template = body.clone();
    template["status"] = json!("PENDING");
    template["id"] = json!(id);
    if let Ok(mut t) = shared.templates.lock() {
        if let Some((_, list)) = t.get_mut(&waba) {
            list.push(template);
        }
    }
    Json(json!({"id": id, "status": "PENDING", "category": body["category"]})).into_response()
}

async fn delete_template(
    State(shared): State<Arc<Shared>>,
    Path((_version, waba)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    log_template_call(&shared, "DELETE", &waba, &query);
    let templates = match account(&shared, &waba, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let name = query.get("name").cloned().unwrap_or_default();
    if !templates.iter().any(|t| t["name"] == name.as_str()) {
        return meta_error(
            400,
            100,
            &format!("Message template \"{name}\" not found"),
            None,
        );
    }
    if let Ok(mut t) = shared.templates.lock() {
        if let Some((_, list)) = t.get_mut(&waba) {
            list.retain(|t| t["name"] != name.as_str());
        }
    }
    Json(json!({"success": true})).into_response()
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
