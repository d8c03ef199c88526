//! A local server speaking OpenAI's chat-completions protocol, for AI Smart Reply tests.
//! It records every request and answers as its `mode` says.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Mode {
    /// Answer with this reply.
    Reply(String),
    /// Answer this status with an OpenAI-style error body.
    Fail(u16),
    /// Answer only after this long.
    Hang(Duration),
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: String,
    pub body: Value,
}

#[derive(Clone)]
struct Shared {
    mode: Arc<Mutex<Mode>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

pub struct FakeAi {
    pub base_url: String,
    shared: Shared,
    _served: crate::serve::Served,
}

impl FakeAi {
    pub async fn start(mode: Mode) -> FakeAi {
        let shared = Shared {
            mode: Arc::new(Mutex::new(mode)),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(shared.clone());
        let served = crate::serve::serve(app).await;
        FakeAi {
            base_url: served.base.clone(),
            shared,
            _served: served,
        }
    }

    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().expect("mode") = mode;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("requests").clone()
    }
}

async fn complete(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    fake.requests.lock().expect("requests").push(Recorded {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body: body.clone(),
    });
    let mode = fake.mode.lock().expect("mode").clone();
    match mode {
        Mode::Reply(text) => Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }))
        .into_response(),
        Mode::Fail(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(json!({"error": {"message": "upstream failure", "type": "server_error"}})),
        )
            .into_response(),
        Mode::Hang(d) => {
            tokio::time::sleep(d).await;
            Json(json!({"choices": []})).into_response()
        }
    }
}
