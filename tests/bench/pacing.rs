//! `make bench-pacing`: how evenly a campaign's messages go out. For `delaySeconds` 1 and 3
//! it runs one campaign on the local stack, with the dev server's workers and schedules
//! (SQS delays are real on moto), against the fake Graph API, and measures the gaps between
//! the moments consecutive messages reach the provider: median gap, median and worst
//! deviation from `delaySeconds`. Small batches (`--batch-size`, default 5) make the
//! batch-to-batch hand-over part of the sample.
//!
//! Options: `--messages N` (default 16 at 1 s, half that at 3 s), `--batch-size N` (1–98),
//! `--delays 1,3`.

use std::time::{Duration, Instant};
use wati_shared::domain::campaigns::CampaignStatus;
use wati_tests::fake_meta::FakeMeta;
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
    let fake = FakeMeta::start().await;
    let mut opts = sending_options(&fake.base);
    opts.overrides
        .push(("CAMPAIGN_BATCH_SIZE".into(), args.batch_size.to_string()));
    opts.overrides
        .push(("DEFAULT_RATE_LIMIT_PER_MINUTE".into(), "10000".into()));
    let app = TestApp::start_with(opts).await;
    // The dev server's side of Lambda: queue pollers (and schedules) as in `make dev`.
    let workers = app.server.spawn_workers();
    let tenant = app.create_tenant("pro").await;
    app.cloud_device(&tenant.key, &fake, "106540352242999", "EAAGbenchPacing01")
        .await;

    println!(
        "Campaign pacing on the local stack (moto SQS delays, dev-server pollers every {} ms when idle, batches of {}):",
        wati_infra::devserver::POLL_INTERVAL.as_millis(),
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
        let recipients: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("R{i}"), "phone": format!("+9230{round}{i:07}")}))
            .collect();
        let prefix = format!("9230{round}");
        let res = app
            .req(Method::POST, "/api/public/v1/campaigns", Some(&tenant.key))
            .json(
                &json!({"name": format!("Pacing {delay}s"), "message": "Hi {{name}}",
                          "delaySeconds": delay, "recipients": recipients}),
            )
            .send()
            .await;
        let (status, _, created) = parts(res).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap_or_default().to_string();
        let started = Instant::now();
        let res = app
            .req(
                Method::POST,
                &format!("/api/public/v1/campaigns/{id}/run"),
                Some(&tenant.key),
            )
            .send()
            .await;
        let (status, _, ran) = parts(res).await;
        assert_eq!(status, StatusCode::OK, "{ran}");
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
    for w in workers {
        w.abort();
    }
}
