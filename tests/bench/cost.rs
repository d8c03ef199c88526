//! `make bench-cost`: the AWS bill per million of four things the platform does, computed
//! from what a run on the local stack measured: every request and queue message the dev
//! server handled (the call accounting's ledger: its AWS calls, DynamoDB capacity and how
//! long it took), priced with the table below and the template's memory sizes.
//!
//! Scenarios (`--n`, default 20, of each): a text send (Cloud API); a send's full life (the
//! send, Meta's `sent`/`delivered`/`read` statuses through the webhook and the inbound
//! worker, and the `message.status` deliveries to the tenant's webhook); an inbound message
//! answered by a keyword rule; a campaign recipient (a campaign of `n`).

// A benchmark built on the test kit stops at the first broken expectation, as a test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};
use wati_tests::shared::metrics::{self, Work};
use wati_tests::shared::{CampaignStatus, Template};
use wati_tests::webhooks::{Answer, Receiver};
use wati_tests::*;

/// us-east-1 list prices, read 2026-11-30 (the team's FACTS.md, checked against the AWS
/// pricing pages for Lambda, API Gateway, DynamoDB, SQS and Secrets Manager).
struct Prices;
impl Prices {
    const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    const SQS_REQUEST: f64 = 0.40 / 1e6;
    const SECRETS_MANAGER_CALL: f64 = 0.05 / 10_000.0;
}

/// `--detail`: each row is preceded by its calls per function and operation.
static DETAIL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

const PHONE_ID: &str = "106540352242933";
const QUIET_PHONE_ID: &str = "106540352242944";
const CUSTOMER: &str = "923001234567";

/// One text send through `device`; WhatsApp's id of the message.
async fn send(t: &Tenant, device: &str) -> String {
    let body =
        json!({"to": format!("+{CUSTOMER}"), "message": "Your OTP is 123456", "deviceId": device});
    t.post("/api/public/v1/send", body).await.ok()["messageId"]
        .str()
        .to_string()
}

/// What one scenario used, summed over its runs.
#[derive(Default, Debug)]
struct Usage {
    api_requests: f64,
    lambda_invocations: f64,
    gb_seconds: f64,
    write_units: f64,
    read_units: f64,
    sqs_requests: f64,
    secrets_calls: f64,
    /// Time spent handling, in seconds (all functions).
    seconds: f64,
    /// Transactions whose units were computed from their item count.
    transactions: usize,
}

impl Usage {
    fn dollars(&self) -> [f64; 6] {
        [
            self.api_requests * Prices::HTTP_API_REQUEST,
            self.lambda_invocations * Prices::LAMBDA_REQUEST
                + self.gb_seconds * Prices::LAMBDA_GB_SECOND_ARM,
            self.write_units * Prices::DYNAMODB_WRITE_UNIT,
            self.read_units * Prices::DYNAMODB_READ_UNIT,
            self.sqs_requests * Prices::SQS_REQUEST,
            self.secrets_calls * Prices::SECRETS_MANAGER_CALL,
        ]
    }
}

/// Which function serves a unit of work, with its memory (MB) and, for queue workers, the
/// batch size its event source mapping uses.
struct Functions {
    by_path: Vec<(String, String)>,
    /// Functions with their own URL: providers' callbacks to them skip API Gateway.
    with_url: Vec<String>,
    memory: HashMap<String, f64>,
    by_worker: HashMap<String, (String, f64)>,
}

impl Functions {
    fn read() -> Functions {
        let t = Template::load(&template_path()).unwrap();
        let memory = t
            .functions()
            .map(|(id, _)| (id.to_string(), t.memory_mb(id)))
            .collect();
        let by_worker = t
            .queue_subscriptions()
            .into_iter()
            .map(|s| {
                // A worker names itself after its function: `ContactJobsFunction` is
                // `contact-jobs`.
                let worker = kebab(s.function.trim_end_matches("Function"));
                (worker, (s.function, s.batch_size as f64))
            })
            .collect();
        let by_path = t
            .routes()
            .into_iter()
            .map(|r| (r.path, r.function))
            .collect();
        let with_url = t
            .functions()
            .map(|(id, _)| id.to_string())
            .filter(|id| t.has_function_url(id))
            .collect();
        Functions {
            by_path,
            with_url,
            memory,
            by_worker,
        }
    }

    /// The function a request's path is routed to (`{param}` matches one segment).
    fn for_path(&self, path: &str) -> &str {
        let segments: Vec<&str> = path.split('/').collect();
        self.by_path
            .iter()
            .find(|(pattern, _)| {
                let p: Vec<&str> = pattern.split('/').collect();
                p.len() == segments.len()
                    && p.iter()
                        .zip(&segments)
                        .all(|(a, b)| a.starts_with('{') || a == b)
            })
            .map(|(_, f)| f.as_str())
            .unwrap_or_else(|| panic!("no route for {path}"))
    }

    /// Adds one unit of work. A queue message is billed as the event source mapping does it
    /// at volume: full batches (one invocation, one receive and one delete per batch).
    fn add(&self, usage: &mut Usage, work: &Work) {
        let (function, per_batch) = match self.by_worker.get(&work.what) {
            Some((f, batch)) => (f.as_str(), 1.0 / batch),
            None => {
                let function = self.for_path(&work.what);
                // Meta and WAHA are given the webhook functions' own URLs (docs/costs.md).
                let callback = work.what.starts_with("/api/public/")
                    && work.what.contains("-webhook/")
                    && self.with_url.iter().any(|f| f == function);
                if !callback {
                    usage.api_requests += 1.0;
                }
                (function, 1.0)
            }
        };
        usage.lambda_invocations += per_batch;
        if per_batch < 1.0 {
            usage.sqs_requests += 2.0 * per_batch;
        }
        usage.seconds += work.duration.as_secs_f64();
        usage.gb_seconds += work.duration.as_secs_f64() * self.memory[function] / 1024.0;
        for call in &work.calls {
            match (call.service.as_str(), call.operation.as_str()) {
                ("DynamoDB", op) => {
                    // DynamoDB Local reports 2 units for any transaction: DynamoDB charges
                    // 2 per item (up to 1 KB written, 4 KB read), so those are computed.
                    let units = match (op, call.items) {
                        ("TransactWriteItems" | "TransactGetItems", Some(items)) => {
                            usage.transactions += 1;
                            2.0 * items as f64
                        }
                        _ => call.capacity.unwrap_or(0.0),
                    };
                    if op.starts_with("Get")
                        || op.starts_with("Query")
                        || op.starts_with("Scan")
                        || op.starts_with("BatchGet")
                        || op == "TransactGetItems"
                    {
                        usage.read_units += units;
                    } else {
                        usage.write_units += units;
                    }
                }
                ("SQS", _) => usage.sqs_requests += 1.0,
                ("Secrets Manager", _) => usage.secrets_calls += 1.0,
                _ => {}
            }
        }
    }
}

/// `ContactJobs` → `contact-jobs`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Waits until the dev server has handled nothing new for three seconds: every queue the
/// scenario fed has been drained (on a busy machine a poller can pause for over a second).
async fn settle() {
    let mut seen = metrics::ledger_len();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = metrics::ledger_len();
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        }
    }
}

/// `--detail`: per function and operation, the calls and DynamoDB units one of `n` took.
fn detail(n: usize, works: &[Work]) {
    let mut lines: std::collections::BTreeMap<(String, String), (f64, f64)> = Default::default();
    for w in works {
        for c in &w.calls {
            let units = match (c.operation.as_str(), c.items) {
                ("TransactWriteItems" | "TransactGetItems", Some(items)) => 2.0 * items as f64,
                _ => c.capacity.unwrap_or(0.0),
            };
            let e = lines
                .entry((w.what.clone(), format!("{}.{}", c.service, c.operation)))
                .or_default();
            e.0 += 1.0;
            e.1 += units;
        }
    }
    for ((what, op), (calls, units)) in lines {
        println!(
            "    {what:<45} {op:<32} {:>5.2} calls {:>6.2} units",
            calls / n as f64,
            units / n as f64
        );
    }
}

fn row(name: &str, n: usize, functions: &Functions, works: &[Work]) {
    if DETAIL.load(std::sync::atomic::Ordering::Relaxed) {
        detail(n, works);
    }
    let mut usage = Usage::default();
    for w in works {
        functions.add(&mut usage, w);
    }
    let per_million = 1e6 / n as f64;
    let d = usage.dollars().map(|x| x * per_million);
    println!(
        "| {name:<40} | {:>6.2} | {:>6.2} | {:>6.2} | {:>6.2} | {:>6.2} | {:>6.2} | {:>9.2} | {:>5.1} WCU, {:>4.1} RCU, {:>4.1} SQS, {:>4.2} invocations, {:>5.1} ms handling |",
        d[0], d[1], d[2], d[3], d[4], d[5], d.iter().sum::<f64>(),
        usage.write_units / n as f64,
        usage.read_units / n as f64,
        usage.sqs_requests / n as f64,
        usage.lambda_invocations / n as f64,
        usage.seconds / n as f64 * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--detail") {
        args.remove(i);
        DETAIL.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let n: usize = match args.as_slice() {
        [] => 20,
        [flag, v] if flag == "--n" => v.parse().expect("--n: a number"),
        _ => panic!("usage: bench-cost [--n N] [--detail]"),
    };
    let functions = Functions::read();
    let fakes = Fakes::spawn().await;
    let app = TestApp::start_with(fakes.options().roomy_keys()).await;
    let _workers = app.spawn_workers();
    let t = app.tenant("pro").await;
    let device = t
        .cloud_device(&fakes.meta, PHONE_ID, "EAAGbenchCost01")
        .await;
    app.open_window(&t.id, &device, CUSTOMER).await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    t.configure_webhook(
        &receiver.url,
        Some(json!(["message.status", "message.received"])),
    )
    .await;
    t.create_rule(
        json!({"keyword": "price", "match_type": "contains", "response": "It is 10 USD"}),
    )
    .await;
    // A second tenant without any webhook: what a send costs when nobody listens.
    let quiet = app.tenant("pro").await;
    let quiet_device = quiet
        .cloud_device(&fakes.meta, QUIET_PHONE_ID, "EAAGbenchCost02")
        .await;
    app.open_window(&quiet.id, &quiet_device, CUSTOMER).await;
    // The first sends read the tokens from Secrets Manager; later ones find them cached.
    send(&t, &device).await;
    send(&quiet, &quiet_device).await;
    settle().await;
    metrics::open_ledger();

    println!("AWS cost per 1 million, in US dollars (us-east-1 list prices; {n} of each measured on the local stack; `make bench-cost`)");
    println!();
    println!("| {:<40} | API GW | Lambda | DDB wr | DDB rd | SQS    | Secrets | total     | measured per one |", "");
    println!("|{:-<42}|--------|--------|--------|--------|--------|---------|-----------|------------------|", "");

    let ts = chrono::Utc::now().timestamp();
    for (name, tenant, device, phone_id) in [
        ("", &quiet, &quiet_device, QUIET_PHONE_ID),
        (", webhook", &t, &device, PHONE_ID),
    ] {
        for _ in 0..n {
            send(tenant, device).await;
        }
        settle().await;
        row(
            &format!("text send (Cloud API){name}"),
            n,
            &functions,
            &metrics::take_ledger(),
        );
        for _ in 0..n {
            let wamid = send(tenant, device).await;
            for (i, status) in ["sent", "delivered", "read"].into_iter().enumerate() {
                app.from_meta(
                    &tenant.id,
                    &meta_status(phone_id, &wamid, status, ts + i as i64),
                )
                .await;
            }
        }
        settle().await;
        row(
            &format!("send's full life (3 statuses){name}"),
            n,
            &functions,
            &metrics::take_ledger(),
        );
    }

    for i in 0..n {
        let wamid = format!("wamid.bench.cost.in.{i}.{ts}");
        app.from_meta(
            &t.id,
            &meta_text(PHONE_ID, &wamid, "what is the price?", ts + i as i64),
        )
        .await;
    }
    settle().await;
    row(
        "inbound answered by a keyword rule",
        n,
        &functions,
        &metrics::take_ledger(),
    );

    let recipients: Vec<Value> = (0..n)
        .map(|i| json!({"phone": format!("+92301{i:07}")}))
        .collect();
    for r in &recipients {
        app.open_window(&t.id, &device, r["phone"].str().trim_start_matches('+'))
            .await;
    }
    metrics::take_ledger();
    let id = t
        .campaign_id(json!({"name": "Cost", "message": "Hello", "delaySeconds": 1, "recipients": recipients, "deviceId": device}))
        .await;
    t.run_campaign(&id).await.ok();
    // Read from the table, not the API: polling requests are not part of a recipient's cost.
    eventually(
        "the campaign completes",
        Duration::from_secs(30 + 2 * n as u64),
        || async {
            let c = app.state.store.get_campaign(&t.id, &id).await.unwrap();
            c.filter(|c| c.status == CampaignStatus::Completed)
        },
    )
    .await;
    settle().await;
    row("campaign recipient", n, &functions, &metrics::take_ledger());

    println!();
    println!("Lambda: measured durations × the template's memory size, arm64. Queue messages are billed as the event");
    println!("source mapping does at volume: full batches (one invocation, one ReceiveMessage and one DeleteMessageBatch");
    println!("per batch). DynamoDB: units as DynamoDB Local reports them, except transactions (2 units per item, items");
    println!("up to 1 KB). Meta answers locally in about a millisecond; in AWS a send waits ~300 ms for it, which the");
    println!("Lambda column does not include. Not included: the scheduler's minute tick and idle queue polling.");
}
