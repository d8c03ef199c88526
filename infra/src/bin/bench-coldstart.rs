//! `make bench-coldstart`: each function's release binary started as Lambda starts it,
//! against a local fake of the Lambda Runtime API (loopback), on the local stack. Per
//! function: init (from exec to its first `/next` poll), the first invocation's duration
//! (from handing it the event to its response), its peak memory (`VmHWM` after that
//! invocation: what Lambda reports as "Max Memory Used") and its zipped size (`bootstrap`
//! alone in a zip, `zip -9`, as `sam build` packages it).
//!
//! The first event: an HTTP function gets its first route in the template with an unknown
//! API key (authentication is a DynamoDB call, answered 401); a queue worker an empty
//! batch; a scheduled function its schedule's input.
//!
//! `ARGS='--runs 3 --dir target/release'`: the median of `runs` starts is printed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wati_infra::bootstrap::{bootstrap, BootstrapOptions, LocalStack};
use wati_infra::template::Template;
use wati_shared::runtime::aws::AwsClients;

const RUNTIME: &str = "/2018-06-01/runtime";
/// How long a start may take before it counts as failed.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench-coldstart: {e}");
        std::process::exit(1);
    }
}

/// What the fake runtime saw, in order.
#[derive(Debug)]
enum Seen {
    /// A `/next` poll (the first one ends init); the event went out when this was sent.
    Next(Instant),
    Response(Instant, String),
    InitError(String),
}

#[derive(Clone)]
struct Fake {
    event: Arc<Mutex<Option<String>>>,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn next(State(f): State<Fake>) -> Result<(HeaderMap, String), StatusCode> {
    let event = f
        .event
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let _ = f.seen.send(Seen::Next(Instant::now()));
    let Some(event) = event else {
        // The second poll: the function is idle again. Keep it waiting as Lambda would.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Err(StatusCode::GONE);
    };
    let mut headers = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let pairs = [
        (
            "lambda-runtime-aws-request-id",
            "bench-coldstart-0001".to_string(),
        ),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_string(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_string(),
        ),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    }
    Ok((headers, event))
}

async fn response(State(f): State<Fake>, Path(_id): Path<String>, body: String) -> StatusCode {
    let _ = f.seen.send(Seen::Response(Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn error(State(f): State<Fake>, Path(_id): Path<String>, body: String) -> StatusCode {
    let _ = f
        .seen
        .send(Seen::Response(Instant::now(), format!("error: {body}")));
    StatusCode::ACCEPTED
}

async fn init_error(State(f): State<Fake>, body: String) -> StatusCode {
    let _ = f.seen.send(Seen::InitError(body));
    StatusCode::ACCEPTED
}

/// One start of one function.
struct Start {
    init: Duration,
    first: Duration,
    peak_mb: f64,
    answer: String,
}

async fn start_once(
    binary: &FsPath,
    env: &HashMap<String, String>,
    event: &str,
) -> Result<Start, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let fake = Fake {
        event: Arc::new(Mutex::new(Some(event.to_string()))),
        seen: tx,
    };
    let app = Router::new()
        .route(&format!("{RUNTIME}/invocation/next"), get(next))
        .route(
            &format!("{RUNTIME}/invocation/{{id}}/response"),
            post(response),
        )
        .route(&format!("{RUNTIME}/invocation/{{id}}/error"), post(error))
        .route(&format!("{RUNTIME}/init/error"), post(init_error))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = std::process::Command::new(binary)
        .env_clear()
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let outcome = async {
        let handed = match wait(&mut rx, "first /next").await? {
            Seen::Next(at) => at,
            Seen::InitError(e) => return Err(format!("init error: {e}")),
            other => return Err(format!("unexpected {other:?}")),
        };
        let (answered, answer) = match wait(&mut rx, "response").await? {
            Seen::Response(at, body) => (at, body),
            other => return Err(format!("unexpected {other:?}")),
        };
        // Idle again: the peak so far is the first invocation's.
        wait(&mut rx, "second /next").await?;
        Ok(Start {
            init: handed - started,
            first: answered - handed,
            peak_mb: peak_memory_mb(pid),
            answer,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    outcome
}

/// The next thing the fake runtime saw, within [`PATIENCE`].
async fn wait(rx: &mut mpsc::UnboundedReceiver<Seen>, what: &str) -> Result<Seen, String> {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .map_err(|_| format!("no {what} within {PATIENCE:?}"))?
        .ok_or_else(|| "the fake runtime stopped".to_string())
}

/// `VmHWM` of a process, in MB.
fn peak_memory_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The size of `bootstrap` alone in a zip, as Lambda gets it.
fn zipped_size(binary: &FsPath, scratch: &FsPath) -> Result<u64, String> {
    let dir = scratch.join(binary.file_name().unwrap_or_default());
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::copy(binary, dir.join("bootstrap")).map_err(|e| e.to_string())?;
    let zip = dir.join("function.zip");
    let _ = std::fs::remove_file(&zip);
    let status = std::process::Command::new("zip")
        .args(["-q", "-9", "-X", "function.zip", "bootstrap"])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("zip: {e}"))?;
    if !status.success() {
        return Err(format!("zip failed for {}", binary.display()));
    }
    std::fs::metadata(&zip)
        .map(|m| m.len())
        .map_err(|e| e.to_string())
}

/// The first event a function gets.
fn first_event(template: &Template, function: &str) -> String {
    let route = template
        .routes()
        .into_iter()
        .find(|r| r.function == function && r.method != "OPTIONS" && r.method != "ANY");
    if let Some(r) = route {
        let path: String = r
            .path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "00000000-0000-4000-8000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let key = format!("wati_{}", "0".repeat(40));
        return serde_json::json!({
            "version": "2.0",
            "routeKey": format!("{} {}", r.method, r.path),
            "rawPath": path,
            "rawQueryString": "",
            "headers": {
                "authorization": format!("Bearer {key}"),
                "content-type": "application/json",
                "host": "bench.execute-api.us-east-1.amazonaws.com"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "bench",
                "domainName": "bench.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "bench",
                "http": {"method": r.method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.10", "userAgent": "bench-coldstart"},
                "requestId": "bench-coldstart-0001",
                "routeKey": format!("{} {}", r.method, r.path),
                "stage": "$default",
                "time": "30/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1_795_514_400_000_i64
            },
            "body": if r.method == "GET" || r.method == "DELETE" { serde_json::Value::Null } else { "{}".into() },
            "isBase64Encoded": false
        })
        .to_string();
    }
    if template
        .queue_subscriptions()
        .iter()
        .any(|s| s.function == function)
    {
        return r#"{"Records":[]}"#.to_string();
    }
    template
        .schedules()
        .into_iter()
        .find(|s| s.function == function)
        .and_then(|s| s.input)
        .unwrap_or_else(|| "{}".to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 3usize;
    let mut dir = PathBuf::from("target/release");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--runs", Some(v)) => runs = v.parse().map_err(|_| "--runs: a number")?,
            ("--dir", Some(v)) => dir = PathBuf::from(v),
            _ => return Err("usage: bench-coldstart [--runs N] [--dir target/release]".into()),
        }
    }
    let template = Template::load(FsPath::new("template.yaml")).map_err(|e| e.to_string())?;
    let aws = AwsClients::from_env().await;
    let boot = BootstrapOptions {
        prefix: "wati-coldstart".into(),
        secret_values: HashMap::new(),
        visibility_timeout: None,
    };
    let stack: LocalStack = bootstrap(&template, &aws, &boot)
        .await
        .map_err(|e| e.to_string())?;
    let scratch = std::env::temp_dir().join(format!("bench-coldstart-{}", std::process::id()));

    println!("Cold start, {runs} starts per function (median), release build in {}, x86_64, on the local stack", dir.display());
    println!();
    println!("| function | memory (MB) | init (ms) | first invocation (ms) | peak memory (MB) | binary (MB) | zipped (MB) | first answer |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut functions: Vec<(&str, _)> = template.functions().collect();
    functions.sort_by_key(|(id, _)| *id);
    let mut failures = 0;
    for (id, resource) in functions {
        let Some(name) = resource.metadata["BuildProperties"]["Binary"].as_str() else {
            continue;
        };
        let binary = dir.join(name);
        if !binary.exists() {
            println!("| {name} | | not built | | | | | |");
            failures += 1;
            continue;
        }
        let memory = template.memory_mb(id);
        let mut env: HashMap<String, String> =
            stack.function_env(&template, id).into_iter().collect();
        for (k, v) in std::env::vars() {
            if k.starts_with("AWS_") || k == "PATH" || k == "HOME" {
                env.insert(k, v);
            }
        }
        env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), id.to_string());
        env.insert(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            format!("{memory}"),
        );
        env.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into());
        env.insert(
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{id}"),
        );
        env.insert("AWS_LAMBDA_LOG_STREAM_NAME".into(), "bench".into());
        env.insert("RUST_LOG".into(), "warn".into());
        let event = first_event(&template, id);
        let mut starts = Vec::new();
        let mut last_error = None;
        for _ in 0..runs {
            match start_once(&binary, &env, &event).await {
                Ok(s) => starts.push(s),
                Err(e) => last_error = Some(e),
            }
        }
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let zipped = zipped_size(&binary, &scratch)?;
        let mb = |b: u64| b as f64 / 1_048_576.0;
        if starts.is_empty() {
            failures += 1;
            println!(
                "| {name} | {memory} | failed: {} | | | {:.1} | {:.2} | |",
                last_error.unwrap_or_default(),
                mb(size),
                mb(zipped)
            );
            continue;
        }
        let ms = |f: &dyn Fn(&Start) -> Duration| {
            median(starts.iter().map(|s| f(s).as_secs_f64() * 1000.0).collect())
        };
        let answer: String = starts[0].answer.chars().take(40).collect();
        println!(
            "| {name} | {memory} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | `{}` |",
            ms(&|s| s.init),
            ms(&|s| s.first),
            median(starts.iter().map(|s| s.peak_mb).collect()),
            mb(size),
            mb(zipped),
            answer.replace('|', "\\|"),
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if failures > 0 {
        return Err(format!("{failures} function(s) did not start"));
    }
    Ok(())
}
