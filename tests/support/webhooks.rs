//! A tenant's webhook endpoint for tests: a local HTTP server whose answers a test sets
//! (fail N times then succeed, always fail, hang, 429 with `Retry-After`), recording every
//! request it gets; and the independent signature verifiers (the spec's Node.js snippet,
//! the `standardwebhooks` package from PyPI).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, String),
    /// Waits this long before answering 200 (past the timeout, the sender gives up first).
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Hit {
    /// The header's value; panics when the request had none.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Answer>,
    default: Option<Answer>,
    hits: Vec<Hit>,
}

#[derive(Clone)]
pub struct Receiver {
    /// The URL to configure: `http://127.0.0.1:<port>/hook`.
    pub url: String,
    script: Arc<Mutex<Script>>,
    _served: Arc<crate::serve::Served>,
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let next = {
        let mut s = script.lock().unwrap_or_else(|e| e.into_inner());
        s.hits.push(Hit {
            at: Instant::now(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        s.queue
            .pop_front()
            .or_else(|| s.default.clone())
            .unwrap_or(Answer::Status(200))
    };
    match next {
        Answer::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Answer::RetryAfter(code, after) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
            [("retry-after", after)],
        )
            .into_response(),
        Answer::Hang(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
    }
}

impl Receiver {
    /// A receiver that gives `answers` in order, then `then` forever.
    pub async fn start(answers: Vec<Answer>, then: Answer) -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            queue: answers.into(),
            default: Some(then),
            hits: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(answer))
            .with_state(script.clone());
        let served = crate::serve::serve(app).await;
        Receiver {
            url: format!("{}/hook", served.base),
            script,
            _served: Arc::new(served),
        }
    }

    /// Changes what it answers from now on.
    pub fn answer_from_now(&self, answers: Vec<Answer>, then: Answer) {
        let mut s = self.script.lock().unwrap_or_else(|e| e.into_inner());
        s.queue = answers.into();
        s.default = Some(then);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hits
            .clone()
    }

    /// Waits until at least `n` requests arrived (or panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                Instant::now() < deadline,
                "receiver got {} requests, expected {n} within {within:?}",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn run_json(mut cmd: Command, input: &serde_json::Value) -> serde_json::Value {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("writing to {cmd:?}: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The spec's Node.js verifier on each (hit, secret): `X-Wati-Signature` over the raw body.
pub fn verify_with_node(cases: &[(&Hit, &str)]) -> Vec<bool> {
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|(hit, secret)| {
            serde_json::json!({
                "body": hit.body,
                "signature": hit.header("x-wati-signature"),
                "secret": secret,
            })
        })
        .collect();
    let mut cmd = Command::new("node");
    cmd.arg(crate::workspace_root().join("tests/verifiers/wati_verify.mjs"));
    let out = run_json(cmd, &serde_json::Value::Array(input));
    out.as_array()
        .expect("the Node.js verifier prints an array")
        .iter()
        .map(|v| v.as_bool() == Some(true))
        .collect()
}

/// The `standardwebhooks` package on each (hit, secret): `Ok(())` or the package's reason.
pub fn verify_with_standardwebhooks(cases: &[(&Hit, &str)]) -> Vec<Result<(), String>> {
    let python = crate::workspace_root().join(".local/venv-verify/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `infra/local/install.sh verifiers` (make test does)",
        python.display()
    );
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|(hit, secret)| {
            serde_json::json!({
                "body": hit.body,
                "headers": {
                    "webhook-id": hit.header("webhook-id"),
                    "webhook-timestamp": hit.header("webhook-timestamp"),
                    "webhook-signature": hit.header("webhook-signature"),
                },
                "secret": secret,
            })
        })
        .collect();
    let mut cmd = Command::new(python);
    cmd.arg(crate::workspace_root().join("tests/verifiers/standard_verify.py"));
    let out = run_json(cmd, &serde_json::Value::Array(input));
    out.as_array()
        .expect("the standardwebhooks verifier prints an array")
        .iter()
        .map(|v| match v {
            serde_json::Value::Bool(true) => Ok(()),
            other => Err(other.to_string()),
        })
        .collect()
}
