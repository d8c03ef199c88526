//! Test support: a whole stack per test on DynamoDB Local and moto (unique resource names,
//! so tests run in parallel), served over real HTTP on an ephemeral port.
//!
//! Endpoints come from `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SQS` (what
//! `make test` exports), defaulting to the dev stack's 127.0.0.1:8000 and :5000.

pub mod fake_files;
pub mod fake_meta;

use aws_config::{BehaviorVersion, Region};
use std::path::PathBuf;
use tokio::task::JoinHandle;
use wati_infra::devserver::DevServer;
use wati_infra::functions::Functions;
use wati_infra::local::{start_with, LocalOptions};
use wati_shared::runtime::aws::AwsClients;
use wati_shared::runtime::clock::Clock;
use wati_shared::AppState;

pub mod webhooks;

pub use reqwest::{Client, Method, Response, StatusCode};
pub use serde_json::{json, Value};

pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

pub fn template_path() -> PathBuf {
    workspace_root().join("template.yaml")
}

fn endpoint(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Clients for the local stack with dummy credentials.
pub async fn local_aws() -> AwsClients {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    AwsClients::with_endpoints(
        &sdk,
        Some(&endpoint(
            "AWS_ENDPOINT_URL_DYNAMODB",
            "http://127.0.0.1:8000",
        )),
        Some(&endpoint("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5000")),
    )
}

pub fn unique_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A hook that adds to (or replaces) the registered function implementations.
pub type ExtraFunctions = Box<dyn FnOnce(&AppState, &mut Functions) + Send>;

pub struct TestOptions {
    pub overrides: Vec<(String, String)>,
    pub clock: Clock,
    pub template: PathBuf,
    pub visibility_timeout: Option<i32>,
    pub extra_functions: Option<ExtraFunctions>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            overrides: Vec::new(),
            clock: Clock::System,
            template: template_path(),
            visibility_timeout: None,
            extra_functions: None,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: Client,
    pub admin_key: String,
    pub state: AppState,
    pub server: DevServer,
    pub clock: Clock,
    task: JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Tenant {
    pub id: String,
    pub key: String,
    pub body: Value,
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(TestOptions::default()).await
    }

    pub async fn start_with(opts: TestOptions) -> TestApp {
        let admin_key = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let mut local = LocalOptions::new(opts.template.clone(), unique_prefix());
        local.admin_key = admin_key.clone();
        local.clock = opts.clock.clone();
        local.visibility_timeout = opts.visibility_timeout;
        local
            .overrides
            .insert("EXPOSE_AWS_CALL_COUNTS".into(), "true".into());
        for (k, v) in opts.overrides {
            local.overrides.insert(k, v);
        }
        let extra = opts.extra_functions;
        let started = start_with(local, local_aws().await, move |state| {
            let mut f = wati_infra::functions::registry(state);
            if let Some(extra) = extra {
                extra(state, &mut f);
            }
            f
        })
        .await
        .unwrap_or_else(|e| {
            panic!("local stack not reachable ({e}): run the tests with `make test`")
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let app = started.server.app();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestApp {
            base: format!("http://{addr}"),
            http: Client::new(),
            admin_key,
            state: started.state,
            server: started.server,
            clock: opts.clock,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with a Bearer token (if any).
    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req(method, path, Some(&self.admin_key))
    }

    pub async fn create_tenant(&self, plan: &str) -> Tenant {
        let res = self
            .admin(Method::POST, "/api/admin/tenants")
            .json(&json!({"name": format!("Tenant {plan}"), "plan": plan}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create tenant: {e}"));
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap_or_default();
        Tenant {
            id: body["tenant"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            key: body["apiKey"].as_str().unwrap_or_default().to_string(),
            body,
        }
    }
}

impl TestApp {
    /// A device for the tenant: `POST /api/devices` with `body`; panics unless 201.
    pub async fn create_device(&self, key: &str, body: Value) -> Value {
        let (status, _, created) = parts(
            self.req(Method::POST, "/api/devices", Some(key))
                .json(&body)
                .send()
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["device"].clone()
    }

    /// A sandbox device; returns its id.
    pub async fn sandbox_device(&self, key: &str) -> String {
        let d = self
            .create_device(key, json!({"name": "Sandbox", "provider": "sandbox"}))
            .await;
        d["id"].as_str().unwrap_or_default().to_string()
    }

    /// A Cloud API device whose token `fake` accepts; returns its id.
    pub async fn cloud_device(
        &self,
        key: &str,
        fake: &fake_meta::FakeMeta,
        phone_number_id: &str,
        token: &str,
    ) -> String {
        fake.register(phone_number_id, token);
        let d = self
            .create_device(
                key,
                json!({"name": format!("Cloud {phone_number_id}"), "provider": "cloud_api",
                       "phoneNumberId": phone_number_id, "wabaId": "102290129340398",
                       "accessToken": token, "appSecret": "0123456789abcdef0123456789abcdef",
                       "verifyToken": "verify-me"}),
            )
            .await;
        d["id"].as_str().unwrap_or_default().to_string()
    }
}

impl TestApp {
    /// The customer `peer` wrote to the device just now, recorded as the inbound pipeline
    /// records it (message and conversation), so free-form sends to them pass WhatsApp's
    /// 24-hour window.
    pub async fn open_window(&self, tenant_id: &str, device_id: &str, peer: &str) {
        self.customer_wrote_at(tenant_id, device_id, peer, self.clock.now())
            .await;
    }

    /// The customer `peer` wrote to the device at `at`.
    pub async fn customer_wrote_at(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let wamid = format!("wamid.window.{}", uuid::Uuid::new_v4().simple());
        self.record_customer_message(
            tenant_id,
            device_id,
            peer,
            &wamid,
            "hello",
            at,
            self.clock.now(),
        )
        .await;
    }

    /// Stores a customer's text message and its conversation as the inbound worker's first
    /// step does (claimed for answering at `stored_at`), and nothing else. Returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_customer_message(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        wamid: &str,
        text: &str,
        at: chrono::DateTime<chrono::Utc>,
        stored_at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        use wati_shared::domain::inbound::inbound_message_id;
        use wati_shared::domain::messages::MessageStatus;
        use wati_shared::domain::time::iso;
        use wati_shared::store::conversations::{Conversation, RecordInbound};
        use wati_shared::store::messages::{Direction, Message, MessageKind, MessageSource};
        let store = &self.state.store;
        let now = stored_at;
        for _ in 0..5 {
            let prev = store
                .get_conversation(tenant_id, device_id, peer)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let id = inbound_message_id(tenant_id, wamid, at);
            let next = Conversation::after_inbound(
                prev.as_ref(),
                tenant_id,
                device_id,
                peer,
                &id,
                at,
                None,
                now,
            );
            let message = Message {
                id: id.clone(),
                tenant_id: tenant_id.into(),
                direction: Direction::In,
                peer: peer.into(),
                kind: MessageKind::Text,
                text: Some(text.into()),
                media_url: None,
                media_mimetype: None,
                media_file_name: None,
                template_name: None,
                template_language: None,
                device_id: Some(device_id.into()),
                provider: None,
                status: MessageStatus::Received,
                wa_message_id: Some(wamid.to_string()),
                error: None,
                error_code: None,
                response_status: None,
                retry_after: None,
                source: MessageSource::Inbound,
                api_key_id: None,
                created_at: iso(now),
                updated_at: iso(now),
                sent_at: Some(iso(at)),
                delivered_at: None,
                read_at: None,
                failed_at: None,
            };
            let recorded = store
                .record_inbound(&message, &json!({}), &next, prev.map(|c| c.version), now)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if recorded == RecordInbound::Recorded {
                return id;
            }
        }
        panic!("could not record the customer's message");
    }
}

/// Options for sending tests: the Graph API is `graph_base` (a fake), media URLs may be on
/// this machine, the provider times out after 2 s and the sandbox reports after 1 s.
pub fn sending_options(graph_base: &str) -> TestOptions {
    TestOptions {
        overrides: vec![
            ("GRAPH_API_BASE_URL".into(), graph_base.into()),
            ("ALLOW_LOOPBACK_TARGETS".into(), "true".into()),
            ("PROVIDER_TIMEOUT_SECONDS".into(), "2".into()),
            ("MEDIA_CHECK_TIMEOUT_SECONDS".into(), "2".into()),
            ("SANDBOX_STATUS_DELAY_SECONDS".into(), "1".into()),
        ],
        ..Default::default()
    }
}

/// Status and JSON body of a response.
pub async fn parts(
    res: reqwest::Result<Response>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let res = res.unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, headers, body)
}

pub fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A local server speaking OpenAI's chat-completions protocol, for AI Smart Reply tests.
/// It records every request and answers as its `mode` says.
pub mod fake_ai {
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
    pub struct FakeAi {
        pub base_url: String,
        pub mode: Arc<Mutex<Mode>>,
        pub requests: Arc<Mutex<Vec<Recorded>>>,
    }

    impl FakeAi {
        pub async fn start(mode: Mode) -> FakeAi {
            let fake = FakeAi {
                base_url: String::new(),
                mode: Arc::new(Mutex::new(mode)),
                requests: Arc::new(Mutex::new(Vec::new())),
            };
            let app = Router::new()
                .route("/v1/chat/completions", post(complete))
                .with_state(fake.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("bind: {e}"));
            let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            FakeAi {
                base_url: format!("http://{addr}"),
                ..fake
            }
        }

        pub fn set(&self, mode: Mode) {
            if let Ok(mut m) = self.mode.lock() {
                *m = mode;
            }
        }

        pub fn requests(&self) -> Vec<Recorded> {
            self.requests.lock().map(|r| r.clone()).unwrap_or_default()
        }
    }

    async fn complete(
        State(fake): State<FakeAi>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> axum::response::Response {
        if let Ok(mut r) = fake.requests.lock() {
            r.push(Recorded {
                authorization: headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string(),
                body: body.clone(),
            });
        }
        let mode = fake
            .mode
            .lock()
            .map(|m| m.clone())
            .unwrap_or(Mode::Fail(500));
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
}
