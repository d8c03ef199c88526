//! A local stand-in for a WAHA gateway (devlikeapro/waha) speaking its documented HTTP API:
//! `X-Api-Key` on every call; sessions (`POST /api/sessions` → 422 when the name exists,
//! `GET|PUT|DELETE /api/sessions/{s}`, `POST …/{s}/restart|logout|stop|start`,
//! `GET …/{s}/me`); pairing (`GET /api/{s}/auth/qr` as JSON or `?format=raw`,
//! `POST /api/{s}/auth/request-code`); sends (`sendText`, `sendImage`, `sendVideo`,
//! `sendVoice`, `sendFile`, refused with WAHA's 422 while the session is not `WORKING`,
//! answered in the WEBJS shape or NOWEB's `key.id`); lids (`GET /api/{s}/lids/{lid}`).
//! Like WAHA it posts webhooks to the URL in the session's config, signed with its HMAC key.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Which engine's answer shape sends get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `{"id": {"fromMe", "remote", "id", "_serialized"}, …}`
    Webjs,
    /// `{"key": {"remoteJid", "fromMe", "id"}, …}`
    Noweb,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct WahaRequest {
    pub method: String,
    pub path: String,
    pub api_key: Option<String>,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub status: String,
    pub config: Value,
}

struct Shared {
    api_key: String,
    engine: Mutex<Engine>,
    sessions: Mutex<HashMap<String, Session>>,
    requests: Mutex<Vec<WahaRequest>>,
    lids: Mutex<HashMap<String, String>>,
    me: Mutex<HashMap<String, String>>,
    counter: Mutex<u64>,
    send_delay: Mutex<Option<std::time::Duration>>,
    /// Media files WAHA serves at `/api/files/<name>`: bytes and MIME type.
    files: Mutex<HashMap<String, (Vec<u8>, String)>>,
}

pub struct FakeWaha {
    /// Use as `WAHA_BASE_URL`.
    pub base: String,
    pub api_key: String,
    shared: Arc<Shared>,
    http: reqwest::Client,
    _served: crate::serve::Served,
}

/// The QR code value the fake hands out.
pub const QR_VALUE: &str = "2@fakeQrValue,abc123==,def456==";
/// Its "PNG", base64.
pub const QR_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

impl FakeWaha {
    pub async fn start(api_key: &str) -> FakeWaha {
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            engine: Mutex::new(Engine::Webjs),
            sessions: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            lids: Mutex::new(HashMap::new()),
            me: Mutex::new(HashMap::new()),
            counter: Mutex::new(0),
            send_delay: Mutex::new(None),
            files: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/api/sessions", post(create_session))
            .route(
                "/api/sessions/{s}",
                get(get_session).put(put_session).delete(delete_session),
            )
            .route("/api/sessions/{s}/me", get(me))
            .route("/api/sessions/{s}/{action}", post(session_action))
            .route("/api/{s}/auth/qr", get(qr))
            .route("/api/{s}/auth/request-code", post(request_code))
            .route("/api/{s}/lids/{lid}", get(lid))
            .route("/api/{send}", post(send))
            .route("/api/files/{*name}", get(file))
            .with_state(shared.clone());
        let served = crate::serve::serve(app).await;
        FakeWaha {
            base: served.base.clone(),
            api_key: api_key.to_string(),
            shared,
            http: crate::http_client(),
            _served: served,
        }
    }

    pub fn engine(&self, engine: Engine) {
        *self.shared.engine.lock().expect("engine") = engine;
    }

    /// Sends answer only after this long (`None`: at once).
    pub fn delay_sends(&self, delay: Option<std::time::Duration>) {
        *self.shared.send_delay.lock().expect("delay") = delay;
    }

    /// The session's status changes on the gateway without a webhook (WAHA lost it).
    pub fn set_status_quietly(&self, session: &str, status: &str) {
        let mut sessions = self.shared.sessions.lock().expect("sessions");
        sessions
            .get_mut(session)
            .expect("the session exists")
            .status = status.to_string();
    }

    pub fn requests(&self) -> Vec<WahaRequest> {
        self.shared.requests.lock().expect("requests").clone()
    }

    /// The requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<WahaRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn session(&self, name: &str) -> Option<Session> {
        self.shared
            .sessions
            .lock()
            .expect("sessions")
            .get(name)
            .cloned()
    }

    /// The only session there is.
    pub fn only_session(&self) -> Session {
        let sessions = self.shared.sessions.lock().expect("sessions");
        assert_eq!(sessions.len(), 1, "{:?}", sessions.keys());
        sessions.values().next().cloned().expect("a session")
    }

    /// A media file of an inbound message, served with the API key as WAHA serves them; the
    /// URL a `message` payload's `media.url` names.
    pub fn add_file(&self, name: &str, bytes: &[u8], mimetype: &str) -> String {
        self.shared
            .files
            .lock()
            .expect("files")
            .insert(name.to_string(), (bytes.to_vec(), mimetype.to_string()));
        format!("{}/api/files/{name}", self.base)
    }

    pub fn add_lid(&self, lid: &str, phone: &str) {
        self.shared
            .lids
            .lock()
            .expect("lids")
            .insert(lid.to_string(), phone.to_string());
    }

    /// The session's status changes (as when the phone scans the QR code), and the fake
    /// posts `session.status` to the session's webhook like WAHA; the webhook's answer.
    pub async fn set_status(
        &self,
        session: &str,
        status: &str,
        phone: Option<&str>,
    ) -> reqwest::Response {
        {
            let mut sessions = self.shared.sessions.lock().expect("sessions");
            let s = sessions.get_mut(session).expect("the session exists");
            s.status = status.to_string();
        }
        if let Some(p) = phone {
            self.shared
                .me
                .lock()
                .expect("me")
                .insert(session.to_string(), format!("{p}@c.us"));
        }
        let payload = json!({"name": session, "status": status,
            "statuses": [{"status": status, "timestamp": now_ms()}]});
        self.deliver(session, "session.status", payload).await
    }

    /// A webhook envelope as WAHA builds it.
    pub fn envelope(&self, session: &str, event: &str, payload: Value) -> Value {
        let me = self
            .shared
            .me
            .lock()
            .expect("me")
            .get(session)
            .map(|id| json!({"id": id, "pushName": "Shop"}))
            .unwrap_or(Value::Null);
        json!({
            "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
            "timestamp": now_ms(),
            "event": event,
            "session": session,
            "metadata": {},
            "me": me,
            "payload": payload,
            "engine": "WEBJS",
            "environment": {"version": "2025.1.1", "engine": "WEBJS", "tier": "CORE"},
        })
    }

    /// Posts an event to the session's webhook, signed with its key, as WAHA does.
    pub async fn deliver(&self, session: &str, event: &str, payload: Value) -> reqwest::Response {
        let body = self.envelope(session, event, payload).to_string();
        self.deliver_raw(session, &body).await
    }

    /// Posts `body` as it is to the session's webhook, signed with its key.
    pub async fn deliver_raw(&self, session: &str, body: &str) -> reqwest::Response {
        let (url, key) = self.webhook_of(session);
        let sig = crate::shared::gateway_hmac(&key, body.as_bytes());
        self.post_signed(&url, body, Some(&sig)).await
    }

    /// The session's webhook URL and HMAC key, from its config.
    pub fn webhook_of(&self, session: &str) -> (String, String) {
        let s = self.session(session).expect("the session exists");
        let hook = &s.config["webhooks"][0];
        (
            hook["url"].as_str().expect("a url").to_string(),
            hook["hmac"]["key"].as_str().expect("a key").to_string(),
        )
    }

    /// A webhook request with any signature (or none).
    pub async fn post_signed(&self, url: &str, body: &str, sig: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("X-Webhook-Request-Id", uuid::Uuid::new_v4().to_string())
            .header("X-Webhook-Timestamp", now_ms().to_string());
        if let Some(s) = sig {
            req = req
                .header("X-Webhook-Hmac", s)
                .header("X-Webhook-Hmac-Algorithm", "sha512");
        }
        req.body(body.to_string())
            .send()
            .await
            .expect("the app answers")
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What a handler answers: `Err` for WAHA's refusals, so that `?` ends the handler.
type Answer = Result<Response, Response>;

/// Records the request; one without the right `X-Api-Key` is refused after that.
// The refusal is the response itself, so that handlers end with `?`; a fake's size is no cost.
#[allow(clippy::result_large_err)]
fn record(
    shared: &Shared,
    method: &str,
    path: String,
    headers: &HeaderMap,
    body: Value,
) -> Result<(), Response> {
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ok = api_key.as_deref() == Some(shared.api_key.as_str());
    shared.requests.lock().expect("requests").push(WahaRequest {
        method: method.to_string(),
        path,
        api_key,
        body,
    });
    if ok {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

/// WAHA's `{"message": …}` error.
fn message(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"message": message.into()}))).into_response()
}

fn session_not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Session not found")
}

/// WAHA's 422 for a session that is not in the `expected` status.
fn not_as_expected(session: &str, status: Option<String>, expected: &str) -> Response {
    let error = "Session status is not as expected. Try again later or restart the session";
    let body =
        json!({"error": error, "session": session, "status": status, "expected": [expected]});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Unauthorized", "statusCode": 401})),
    )
        .into_response()
}

async fn create_session(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Answer {
    record(&sh, "POST", "/api/sessions".into(), &headers, body.clone())?;
    let name = body["name"].as_str().unwrap_or("default").to_string();
    let mut sessions = sh.sessions.lock().expect("sessions");
    if sessions.contains_key(&name) {
        let error = format!("Session '{name}' already exists. Use PUT to update it.");
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": error})),
        )
            .into_response());
    }
    let status = if body["start"].as_bool() == Some(false) {
        "STOPPED"
    } else {
        "SCAN_QR_CODE"
    };
    let s = Session {
        name: name.clone(),
        status: status.into(),
        config: body["config"].clone(),
    };
    sessions.insert(name.clone(), s);
    Ok((StatusCode::CREATED, Json(json!({"name": name, "status": status, "config": body["config"], "me": null, "engine": {"engine": "WEBJS"}}))).into_response())
}

async fn get_session(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(s): Path<String>,
) -> Answer {
    record(
        &sh,
        "GET",
        format!("/api/sessions/{s}"),
        &headers,
        Value::Null,
    )?;
    match sh.sessions.lock().expect("sessions").get(&s) {
        Some(x) => Ok(
            Json(json!({"name": x.name, "status": x.status, "config": x.config})).into_response(),
        ),
        None => Err(session_not_found()),
    }
}

async fn put_session(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(s): Path<String>,
    Json(body): Json<Value>,
) -> Answer {
    record(
        &sh,
        "PUT",
        format!("/api/sessions/{s}"),
        &headers,
        body.clone(),
    )?;
    let mut sessions = sh.sessions.lock().expect("sessions");
    let Some(x) = sessions.get_mut(&s) else {
        return Err(session_not_found());
    };
    x.config = body["config"].clone();
    x.status = "SCAN_QR_CODE".into();
    Ok(Json(json!({"name": s, "status": x.status})).into_response())
}

async fn delete_session(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(s): Path<String>,
) -> Answer {
    record(
        &sh,
        "DELETE",
        format!("/api/sessions/{s}"),
        &headers,
        Value::Null,
    )?;
    sh.sessions.lock().expect("sessions").remove(&s);
    Ok(Json(json!({})).into_response())
}

async fn session_action(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((s, action)): Path<(String, String)>,
) -> Answer {
    record(
        &sh,
        "POST",
        format!("/api/sessions/{s}/{action}"),
        &headers,
        Value::Null,
    )?;
    let mut sessions = sh.sessions.lock().expect("sessions");
    let Some(x) = sessions.get_mut(&s) else {
        return Err(session_not_found());
    };
    x.status = match action.as_str() {
        "stop" => "STOPPED",
        "start" | "restart" => "STARTING",
        "logout" => "SCAN_QR_CODE",
        _ => return Err(message(StatusCode::NOT_FOUND, "Cannot POST")),
    }
    .into();
    Ok(Json(json!({"name": s, "status": x.status})).into_response())
}

async fn me(State(sh): State<Arc<Shared>>, headers: HeaderMap, Path(s): Path<String>) -> Answer {
    record(
        &sh,
        "GET",
        format!("/api/sessions/{s}/me"),
        &headers,
        Value::Null,
    )?;
    match sh.me.lock().expect("me").get(&s) {
        Some(id) => Ok(Json(json!({"id": id, "pushName": "Shop"})).into_response()),
        None => Ok(Json(Value::Null).into_response()),
    }
}

async fn qr(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(s): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    record(&sh, "GET", format!("/api/{s}/auth/qr"), &headers, json!(q))?;
    let status = sh
        .sessions
        .lock()
        .expect("sessions")
        .get(&s)
        .map(|x| x.status.clone());
    if status.as_deref() != Some("SCAN_QR_CODE") {
        return Err(not_as_expected(&s, status, "SCAN_QR_CODE"));
    }
    if q.get("format").map(String::as_str) == Some("raw") {
        return Ok(Json(json!({"value": QR_VALUE})).into_response());
    }
    let wants_json = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        Ok(Json(json!({"mimetype": "image/png", "data": QR_PNG})).into_response())
    } else {
        Ok((StatusCode::OK, [("content-type", "image/png")], "PNG").into_response())
    }
}

async fn request_code(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(s): Path<String>,
    Json(body): Json<Value>,
) -> Answer {
    record(
        &sh,
        "POST",
        format!("/api/{s}/auth/request-code"),
        &headers,
        body,
    )?;
    Ok(Json(json!({"code": "ABCD-EFGH"})).into_response())
}

async fn lid(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((s, lid)): Path<(String, String)>,
) -> Answer {
    record(
        &sh,
        "GET",
        format!("/api/{s}/lids/{lid}"),
        &headers,
        Value::Null,
    )?;
    match sh.lids.lock().expect("lids").get(&lid) {
        Some(pn) => Ok(Json(json!({"lid": lid, "pn": format!("{pn}@c.us")})).into_response()),
        None => Err(message(StatusCode::NOT_FOUND, "lid not found")),
    }
}

async fn send(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Json(body): Json<Value>,
) -> Answer {
    record(&sh, "POST", format!("/api/{kind}"), &headers, body.clone())?;
    if ![
        "sendText",
        "sendImage",
        "sendVideo",
        "sendVoice",
        "sendFile",
    ]
    .contains(&kind.as_str())
    {
        return Err(message(
            StatusCode::NOT_FOUND,
            format!("Cannot POST /api/{kind}"),
        ));
    }
    let delay = *sh.send_delay.lock().expect("delay");
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let session = body["session"].as_str().unwrap_or("default").to_string();
    let status = sh
        .sessions
        .lock()
        .expect("sessions")
        .get(&session)
        .map(|x| x.status.clone());
    if status.as_deref() != Some("WORKING") {
        return Err(not_as_expected(&session, status, "WORKING"));
    }
    let chat = body["chatId"].as_str().unwrap_or_default().to_string();
    let id = {
        let mut c = sh.counter.lock().expect("counter");
        *c += 1;
        format!("3EB0{:016X}", *c)
    };
    let answer = match *sh.engine.lock().expect("engine") {
        Engine::Webjs => {
            json!({"id": {"fromMe": true, "remote": chat, "id": id, "_serialized": format!("true_{chat}_{id}")},
            "ack": 0, "body": body["text"], "fromMe": true, "to": chat})
        }
        Engine::Noweb => {
            json!({"key": {"remoteJid": chat.replace("@c.us", "@s.whatsapp.net"), "fromMe": true, "id": id},
            "message": {"extendedTextMessage": {"text": body["text"]}}, "status": "PENDING"})
        }
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn file(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = record(
        &sh,
        "GET",
        format!("/api/files/{name}"),
        &headers,
        Value::Null,
    ) {
        return r;
    }
    let found = sh.files.lock().ok().and_then(|f| f.get(&name).cloned());
    match found {
        Some((bytes, mimetype)) => {
            ([(axum::http::header::CONTENT_TYPE, mimetype)], bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
