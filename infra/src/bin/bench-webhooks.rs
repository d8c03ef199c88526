//! `make bench-webhooks`: how many webhook deliveries per second the dispatcher makes to a
//! local receiver, on the local stack (DynamoDB Local + moto).
//!
//! Two figures:
//! - end to end: events published to the queue, polled by the dev server's pollers (as
//!   Lambda's event source mapping would), delivered, recorded. Bound by moto, which
//!   serves one request at a time (~300–400 requests/s);
//! - dispatcher only: the same handler given ready-made SQS batches, several at once (as
//!   concurrent Lambda instances would), so SQS receiving is left out: the dispatcher's
//!   own work (DynamoDB reads and conditional writes, signing, the HTTP call).
//!
//! Options: `--events N` (default 400), `--tenants N` (default 4), `--concurrency N`
//! (batches at once in the second run, default 8).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use axum::http::StatusCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wati_infra::local::{start, LocalOptions};
use wati_shared::domain::plans::Plan;
use wati_shared::domain::webhooks::{
    event_id, EventType, MessageKind, MessageReceived, WebhookEvent,
};
use wati_shared::runtime::aws::AwsClients;
use wati_shared::services::events::{publish_all, DispatchMessage};

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench-webhooks: {e}");
        std::process::exit(1);
    }
}

fn arg(name: &str, default: usize) -> Result<usize, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} needs a positive number")),
    }
}

fn event(n: usize) -> WebhookEvent {
    WebhookEvent::MessageReceived(MessageReceived {
        device_id: "bench-device".into(),
        from: "923001234567".into(),
        to: "923009999999".into(),
        text: format!("bench message {n}"),
        message_id: format!("BENCH{n}"),
        kind: MessageKind::Text,
        media_url: None,
        media_error: None,
        timestamp: 1_733_832_000,
    })
}

async fn run() -> Result<(), String> {
    let events = arg("--events", 400)?;
    let tenants = arg("--tenants", 4)?;
    let concurrency = arg("--concurrency", 8)?;

    // The receiver: answers 200 at once and counts.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let c = counter.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let url = format!(
        "http://{}/hook",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut opts = LocalOptions::new(
        std::env::var("TEMPLATE_PATH").unwrap_or_else(|_| "template.yaml".into()),
        prefix,
    );
    opts.overrides
        .insert("ALLOW_LOOPBACK_TARGETS".into(), "true".into());
    opts.overrides.insert("RUST_LOG".into(), "warn".into());
    let local = start(opts, AwsClients::from_env().await).await?;
    let state = local.state.clone();
    let now = chrono::Utc::now();
    let mut tenant_ids = Vec::new();
    for i in 0..tenants {
        let (tenant, _) = state
            .store
            .create_tenant(&format!("Bench {i}"), Plan::Pro, now, 60)
            .await
            .map_err(|e| e.to_string())?;
        state
            .store
            .put_webhook(&tenant.id, &url, &EventType::SUBSCRIBABLE, now)
            .await
            .map_err(|e| e.to_string())?;
        tenant_ids.push(tenant.id);
    }
    println!("webhook delivery benchmark: {events} events, {tenants} tenants, receiver {url}");

    // 1. End to end through the queue.
    let started = Instant::now();
    for (i, tenant) in tenant_ids.iter().enumerate() {
        let share: Vec<WebhookEvent> = (0..events)
            .filter(|n| n % tenants == i)
            .map(event)
            .collect();
        publish_all(&state, tenant, share)
            .await
            .map_err(|e| e.to_string())?;
    }
    let published = started.elapsed();
    let workers = local.server.spawn_workers();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    while hits.load(Ordering::Relaxed) < events {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {events} delivered in 10 minutes",
                hits.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e2e = started.elapsed();
    for w in workers {
        w.abort();
    }
    println!(
        "  publish (SendMessageBatch):        {events} events in {:>7.2} s = {:>7.1} events/s",
        published.as_secs_f64(),
        events as f64 / published.as_secs_f64()
    );
    println!(
        "  end to end (queue -> dispatcher):  {events} deliveries in {:>7.2} s = {:>7.1} deliveries/s",
        e2e.as_secs_f64(),
        events as f64 / e2e.as_secs_f64()
    );

    // 2. The dispatcher alone, on ready-made batches.
    hits.store(0, Ordering::Relaxed);
    let batches: Vec<SqsEvent> = (0..events)
        .collect::<Vec<_>>()
        .chunks(10)
        .map(|chunk| {
            let mut batch = SqsEvent::default();
            for &n in chunk {
                let tenant = &tenant_ids[n % tenants];
                let ev = event(n);
                let msg = DispatchMessage {
                    tenant_id: tenant.clone(),
                    event_id: event_id(EventType::MessageReceived, now.timestamp_millis(), None),
                    event_type: EventType::MessageReceived,
                    seq: 1,
                    due_at: 0,
                    payload: ev.body().ok(),
                };
                let mut record = SqsMessage::default();
                record.message_id = Some(uuid::Uuid::new_v4().to_string());
                record.body = serde_json::to_string(&msg).ok();
                batch.records.push(record);
            }
            batch
        })
        .collect();
    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = Vec::new();
    let mut failures = 0usize;
    for batch in batches {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            let res = fn_webhook_dispatcher::handle(&state, batch).await;
            drop(permit);
            res.batch_item_failures.len()
        }));
    }
    for t in tasks {
        failures += t.await.unwrap_or(0);
    }
    let alone = started.elapsed();
    let delivered = hits.load(Ordering::Relaxed);
    println!(
        "  dispatcher only ({concurrency} batches at once): {delivered} deliveries in {:>7.2} s = {:>7.1} deliveries/s ({failures} failed)",
        alone.as_secs_f64(),
        delivered as f64 / alone.as_secs_f64()
    );
    println!(
        "(local emulators: DynamoDB Local, moto serving one request at a time; AWS is not this)"
    );
    Ok(())
}
