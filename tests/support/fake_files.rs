//! A local file host for media URL checks: each path has a size and a type; it can refuse
//! `HEAD`, ignore `Range`, redirect, or fail. Bodies are generated on the fly (never held in
//! memory) and every byte written is counted, so a test can tell whether a client
//! downloaded a file or only asked about it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct FileSpec {
    pub content_type: Option<String>,
    pub size: u64,
    /// Answer `HEAD` with 405.
    pub no_head: bool,
    /// Honour `Range: bytes=0-0` with a 206.
    pub ranges: bool,
    /// Answer every request with this status instead.
    pub status: Option<u16>,
    /// Answer with a 302 to this URL.
    pub redirect: Option<String>,
    /// Wait this long before answering.
    pub delay: Option<std::time::Duration>,
}

impl FileSpec {
    pub fn new(content_type: &str, size: u64) -> FileSpec {
        FileSpec {
            content_type: Some(content_type.to_string()),
            size,
            no_head: false,
            ranges: true,
            status: None,
            redirect: None,
            delay: None,
        }
    }

    /// A file on a server that refuses `HEAD` and ignores `Range`: only a plain `GET`
    /// tells its size.
    pub fn get_only(content_type: &str, size: u64) -> FileSpec {
        FileSpec {
            no_head: true,
            ranges: false,
            ..FileSpec::new(content_type, size)
        }
    }
}

#[derive(Default)]
struct Shared {
    files: Mutex<HashMap<String, FileSpec>>,
    bytes_sent: AtomicU64,
    requests: Mutex<Vec<(String, String)>>,
}

pub struct FakeFiles {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    shared: Arc<Shared>,
    _served: crate::serve::Served,
}

impl FakeFiles {
    pub async fn start() -> FakeFiles {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(serve).with_state(shared.clone());
        let served = crate::serve::serve(app).await;
        FakeFiles {
            base: served.base.clone(),
            shared,
            _served: served,
        }
    }

    /// Serves `spec` at `path` and returns its URL.
    pub fn add(&self, path: &str, spec: FileSpec) -> String {
        self.shared
            .files
            .lock()
            .expect("files")
            .insert(path.to_string(), spec);
        format!("{}{path}", self.base)
    }

    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::SeqCst)
    }

    /// `(method, path)` of every request, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.requests.lock().expect("requests").clone()
    }
}

async fn serve(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Ok(mut r) = shared.requests.lock() {
        r.push((req.method().to_string(), path.clone()));
    }
    let spec = shared.files.lock().ok().and_then(|f| f.get(&path).cloned());
    let Some(spec) = spec else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(pause) = spec.delay {
        tokio::time::sleep(pause).await;
    }
    if let Some(to) = &spec.redirect {
        return (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response();
    }
    if let Some(status) = spec.status {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    }
    let mut builder = Response::builder();
    if let Some(ct) = &spec.content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    let wants_first_byte = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        == Some("bytes=0-0");
    match *req.method() {
        Method::HEAD if spec.no_head => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        Method::HEAD => builder
            .header(header::CONTENT_LENGTH, spec.size)
            .body(Body::empty())
            .unwrap_or_default(),
        Method::GET if spec.ranges && wants_first_byte => {
            shared.bytes_sent.fetch_add(1, Ordering::SeqCst);
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes 0-0/{}", spec.size))
                .header(header::CONTENT_LENGTH, 1)
                .body(Body::from(vec![0u8]))
                .unwrap_or_default()
        }
        Method::GET => {
            let counter = shared.clone();
            const CHUNK: u64 = 64 * 1024;
            let stream = futures::stream::unfold(spec.size, move |left| {
                let counter = counter.clone();
                async move {
                    if left == 0 {
                        return None;
                    }
                    let n = left.min(CHUNK);
                    counter.bytes_sent.fetch_add(n, Ordering::SeqCst);
                    let chunk = axum::body::Bytes::from(vec![0u8; n as usize]);
                    Some((Ok::<_, std::io::Error>(chunk), left - n))
                }
            });
            builder
                .header(header::CONTENT_LENGTH, spec.size)
                .body(Body::from_stream(stream))
                .unwrap_or_default()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}
