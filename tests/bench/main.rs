//! `make bench`: what a send and a lookup cost in AWS calls, sequential round trips and
//! DynamoDB capacity units, per request, measured by the call accounting of the real code
//! paths against the local stack (DynamoDB Local reports consumed capacity as DynamoDB does).
//! Meta's Graph API is the local fake; latencies are local and only indicative.
//!
//! `BENCH_REQUESTS` (default 40) requests per scenario.

// A benchmark built on the test kit stops at the first broken expectation, as a test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use wati_tests::fake_files::FileSpec;
use wati_tests::*;

struct Sample {
    calls: f64,
    sequential: f64,
    before_provider: Option<f64>,
    capacity: f64,
    latency: Duration,
}

fn num(h: &reqwest::header::HeaderMap, name: &str) -> Option<f64> {
    h.get(name)?.to_str().ok()?.parse().ok()
}

async fn measure(req: reqwest::RequestBuilder) -> Sample {
    let started = Instant::now();
    let res = req.send().await.unwrap_or_else(|e| panic!("request: {e}"));
    let latency = started.elapsed();
    let status = res.status();
    let h = res.headers().clone();
    let body = res.text().await.expect("a readable body");
    assert!(status.is_success(), "{status}: {body}");
    Sample {
        calls: num(&h, "x-aws-calls").unwrap_or(f64::NAN),
        sequential: num(&h, "x-aws-sequential").unwrap_or(f64::NAN),
        before_provider: num(&h, "x-aws-sequential-before-provider"),
        capacity: num(&h, "x-aws-consumed-capacity").unwrap_or(0.0),
        latency,
    }
}

/// `n` requests, one after another; `req(i)` builds the `i`th.
async fn measure_n(n: usize, req: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        samples.push(measure(req(i)).await);
    }
    samples
}

fn row(name: &str, samples: &[Sample]) {
    let n = samples.len() as f64;
    let mean = |f: &dyn Fn(&Sample) -> f64| samples.iter().map(f).sum::<f64>() / n;
    let before: Vec<f64> = samples.iter().filter_map(|s| s.before_provider).collect();
    let before = if before.is_empty() {
        "-".to_string()
    } else {
        format!("{:.2}", before.iter().sum::<f64>() / before.len() as f64)
    };
    let mut lat: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    lat.sort();
    let p50 = lat[lat.len() / 2];
    println!(
        "| {name:<44} | {:>5} | {:>9.2} | {:>10.2} | {:>15} | {:>13.2} | {:>7.1} |",
        samples.len(),
        mean(&|s| s.calls),
        mean(&|s| s.sequential),
        before,
        mean(&|s| s.capacity),
        p50.as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let fakes = Fakes::spawn().await;
    let app = TestApp::start_with(fakes.options()).await;
    let t = app.tenant("pro").await;
    // A key with room for the whole run (the default is 60 a minute).
    let created = t
        .create_key(json!({"name": "bench", "rateLimitPerMinute": 100000}))
        .await
        .expect(StatusCode::CREATED);
    let api = app.with_key(created["apiKey"].str());
    let cloud = t
        .cloud_device(&fakes.meta, "106540352242922", "EAAGbench")
        .await;
    // The customer wrote first: free-form sends are inside the 24-hour window.
    app.open_window(&t.id, &cloud, "923001234567").await;
    let sandbox = t.sandbox_device().await;
    let image = fakes
        .files
        .add("/bench/photo.jpg", FileSpec::new("image/jpeg", 200 * 1024));
    let send = |body: Value| api.builder(Method::POST, "/api/public/v1/send").json(&body);
    let text = |device: &str| json!({"to": "+923001234567", "message": "Your OTP is 123456", "deviceId": device});

    println!("AWS calls and DynamoDB capacity per request (means over {n} requests; `make bench`)");
    println!();
    println!(
        "| {:<44} | {:>5} | {:>9} | {:>10} | {:>15} | {:>13} | {:>7} |",
        "request", "n", "AWS calls", "sequential", "seq. before WA", "capacity (CU)", "p50 ms"
    );
    println!(
        "|{:-<46}|{:->7}|{:->11}|{:->12}|{:->17}|{:->15}|{:->9}|",
        "", "", "", "", "", "", ""
    );

    let first = measure(send(text(&cloud))).await;
    row("send text, Cloud API, token not yet cached", &[first]);

    let s = measure_n(n, |_| send(text(&cloud))).await;
    row("send text, Cloud API", &s);

    let no_device = json!({"to": "+923001234567", "message": "Your OTP is 123456"});
    let s = measure_n(n, |_| send(no_device.clone())).await;
    row("send text, Cloud API, no deviceId", &s);

    // Run twice with the same keys: the second pass is all replays.
    let keyed = |i| send(text(&cloud)).header("idempotency-key", format!("bench-{i}"));
    let s = measure_n(n, keyed).await;
    row("send text, Cloud API, Idempotency-Key", &s);
    let s = measure_n(n, keyed).await;
    row("send text, Idempotency-Key replay", &s);

    let s = measure_n(n, |_| send(text(&sandbox))).await;
    row("send text, sandbox", &s);

    let media = json!({"to": "+923001234567", "type": "image", "url": image, "deviceId": cloud});
    let s = measure_n(n, |_| {
        api.builder(Method::POST, "/api/public/v1/send-media")
            .json(&media)
    })
    .await;
    row("send-media image, Cloud API", &s);

    let sent = api.send(send(text(&cloud))).await.ok();
    for (name, id) in [
        ("lookup by id", &sent["id"]),
        ("lookup by WhatsApp id", &sent["messageId"]),
    ] {
        let path = format!("/api/public/v1/messages/{}", id.str());
        row(
            name,
            &measure_n(n, |_| api.builder(Method::GET, &path)).await,
        );
    }
    println!();
    println!("AWS calls include authentication (1 conditional write; 2 on a key's first request of a minute).");
    println!("\"seq. before WA\": AWS round trips a send waits for before it contacts WhatsApp (Meta or the sandbox queue).");
    println!("Capacity: read + write units as the table reports them (ReturnConsumedCapacity=TOTAL). DynamoDB Local");
    println!("reports 2 units for any transaction and none for a cancelled one; docs/sending.md has DynamoDB's figures.");
}
