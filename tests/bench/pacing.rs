//! `make bench-pacing`: how evenly a campaign's messages go out. For `delaySeconds` 1 and 3
//! it runs one campaign on the local stack, with the dev server's workers and schedules
//! (SQS delays are real on moto), against the fake Graph API, and measures the gaps between
//! the moments consecutive messages reach the provider: median gap, median and worst
//! deviation from `delaySeconds`. Small batches (`--batch-size`, default 5) make the
//! batch-to-batch hand-over part of the sample.
//!
//! Options: `--messages N` (default 16 at 1 s, half that at 3 s), `--batch-size N` (1–98),
//! `--delays 1,3`.

// A benchmark built on the test kit stops at the first broken expectation, as a test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use wati_tests::shared::{CampaignStatus, POLL_INTERVAL};
use wati_tests::*;

struct Args {
    messages: Option<usize>,
    batch_size: usize,
    delays: Vec<u32>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        messages: None,
        batch_size: 5,
        delays: vec![1, 3],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--messages" => a.messages = Some(value.parse().map_err(|_| "--messages: a number")?),
            "--batch-size" => a.batch_size = value.parse().map_err(|_| "--batch-size: 1-98")?,
            "--delays" => {
                a.delays = value
                    .split(',')
                    .map(|d| d.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| "--delays: e.g. 1,3")?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[tokio::main]
async fn main() {
    let args = args().unwrap_or_else(|e| {
        eprintln!("bench-pacing: {e}");
        std::process::exit(2)
    });
    let fakes = Fakes::spawn().await;
    let fake = &fakes.meta;
    let opts = fakes
        .options()
        .with("CAMPAIGN_BATCH_SIZE", args.batch_size)
        .roomy_keys();
    let app = TestApp::start_with(opts).await;
    // The dev server's side of Lambda: queue pollers (and schedules) as in `make dev`.
    let workers = app.spawn_workers();
    let tenant = app.tenant("pro").await;
    let device = tenant
        .cloud_device(fake, "106540352242999", "EAAGbenchPacing01")
        .await;

    println!(
        "Campaign pacing on the local stack (moto SQS delays, dev-server pollers every {} ms when idle, batches of {}):",
        POLL_INTERVAL.as_millis(),
        args.batch_size
    );
    println!();
    println!("| delaySeconds | messages | batches | median gap (s) | median deviation (s) | worst deviation (s) | total (s) |");
    println!("|---|---|---|---|---|---|---|");
    for (round, delay) in args.delays.iter().copied().enumerate() {
        let n = args
            .messages
            .unwrap_or(if delay <= 1 { 16 } else { 8 })
            .max(2);
        let phones: Vec<String> = (0..n).map(|i| format!("9230{round}{i:07}")).collect();
        // Each customer wrote first: free-form sends need an open 24-hour window, and a
        // closed one fails a recipient without a call to Meta, which would measure nothing.
        for phone in &phones {
            app.open_window(&tenant.id, &device, phone).await;
        }
        let recipients: Vec<Value> = phones
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"name": format!("R{i}"), "phone": format!("+{p}")}))
            .collect();
        let prefix = format!("9230{round}");
        let id = tenant
            .campaign_id(
                json!({"name": format!("Pacing {delay}s"), "message": "Hi {{name}}",
                          "delaySeconds": delay, "recipients": recipients}),
            )
            .await;
        let started = Instant::now();
        tenant.run_campaign(&id).await.ok();
        let deadline = started + Duration::from_secs(u64::from(delay) * n as u64 + 120);
        let campaign = loop {
            let c = app
                .state
                .store
                .get_campaign(&tenant.id, &id)
                .await
                .ok()
                .flatten();
            if let Some(c) = c.filter(|c| c.status == CampaignStatus::Completed) {
                break c;
            }
            if Instant::now() > deadline {
                eprintln!("bench-pacing: the {delay} s campaign did not complete in time");
                std::process::exit(1);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let mut at: Vec<Instant> = fake
            .requests()
            .into_iter()
            .filter(|r| {
                r.body["to"]
                    .as_str()
                    .is_some_and(|to| to.starts_with(&prefix))
            })
            .map(|r| r.at)
            .collect();
        at.sort();
        let gaps: Vec<f64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
        let mut deviations: Vec<f64> = gaps.iter().map(|g| (g - f64::from(delay)).abs()).collect();
        let worst = deviations.iter().copied().fold(0.0, f64::max);
        let total = at
            .last()
            .zip(at.first())
            .map(|(l, f)| (*l - *f).as_secs_f64())
            .unwrap_or_default();
        println!(
            "| {delay} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1} |",
            at.len(),
            campaign.batch,
            median(&mut gaps.clone()),
            median(&mut deviations),
            worst,
            total
        );
        let list: Vec<String> = gaps.iter().map(|g| format!("{g:.2}")).collect();
        eprintln!("  gaps at {delay} s: {}", list.join(" "));
    }
    drop(workers);
}
