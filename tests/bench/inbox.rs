//! `make bench-inbox`: a tenant with 10,000 conversations on the local stack (statuses,
//! assignees, devices and labels spread over them), then, per listing filter, the AWS calls
//! and DynamoDB read capacity of one page and the items it returned; and what a customer
//! message costs in writes on a conversation (its transaction and its entry writes).
//!
//! Options: `--conversations N` (default 10000), `--concurrency N` (default 8),
//! `--limit N` (page size, default 50).

// A benchmark built on the test kit stops at the first broken expectation, as a test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::stream::{self, StreamExt};
use std::time::Instant;
use wati_tests::shared::services::record_aws_calls;
use wati_tests::*;

fn args() -> Result<(usize, usize, usize), String> {
    let (mut n, mut concurrency, mut limit) = (10_000, 8, 50);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let v: usize = value.parse().map_err(|_| format!("{flag}: a number"))?;
        match flag.as_str() {
            "--conversations" => n = v,
            "--concurrency" => concurrency = v.max(1),
            "--limit" => limit = v.clamp(1, 100),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((n, concurrency, limit))
}

fn peer(i: usize) -> String {
    format!("92300{:07}", i)
}

#[tokio::main]
async fn main() {
    let (n, concurrency, limit) = args().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let (app, t) = TestApp::with_roomy_tenant("agency").await;
    let (_, a1) = t.member_as(&app, "a1", "manager").await;
    let (_, a2) = t.member_as(&app, "a2", "manager").await;
    let devices = [
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    ];
    let base = chrono::Utc::now() - chrono::Duration::days(2);

    // 1. The conversations: one customer message each, through the inbound transaction.
    let started = Instant::now();
    let (app_ref, devices_ref) = (&app, &devices);
    let tenant = t.id.clone();
    let ids: Vec<String> = stream::iter(0..n)
        .map(|i| {
            let tenant = tenant.clone();
            async move {
                let device = &devices_ref[i % 2];
                let at = base + chrono::Duration::seconds(i as i64);
                let wamid = format!("wamid.bench{i}");
                app_ref
                    .record_customer_message(&tenant, device, &peer(i), &wamid, "hi", at, at)
                    .await;
                app_ref.conversation(&tenant, device, &peer(i)).await.id
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    println!(
        "{n} conversations stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. Spread: every 4th assigned (alternating members), every 5th pending, every 7th
    // resolved, every 11th labelled `vip`.
    let started = Instant::now();
    let changes = ids.iter().enumerate().map(|(i, id)| {
        let (t, a1, a2) = (&t, &a1, &a2);
        async move {
            let path = format!("/api/inbox/conversations/{id}");
            if i % 4 == 0 {
                let who = if i % 8 == 0 { a1 } else { a2 };
                t.post(&format!("{path}/assign"), json!({ "userId": who }))
                    .await
                    .ok();
            }
            if i % 5 == 0 {
                t.post(&format!("{path}/status"), json!({"status": "pending"}))
                    .await
                    .ok();
            } else if i % 7 == 0 {
                t.post(&format!("{path}/status"), json!({"status": "resolved"}))
                    .await
                    .ok();
            }
            if i % 11 == 0 {
                t.put(&format!("{path}/labels"), json!({"labels": ["vip"]}))
                    .await
                    .ok();
            }
        }
    });
    stream::iter(changes)
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    println!(
        "statuses, assignees and labels set in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. A page of each filter.
    println!();
    println!("| filter (limit {limit}) | items | AWS calls | read capacity (RCU) |");
    println!("|---|---|---|---|");
    let auth = t.get("/api/usage").await; // what authentication alone costs
    let auth_units: f64 = auth
        .header("x-aws-consumed-capacity")
        .parse()
        .unwrap_or(0.0);
    for query in [
        String::new(),
        "status=open".into(),
        "status=pending&assignee=unassigned".into(),
        format!("assignee={a1}"),
        format!("status=open&assignee={a2}&deviceId={}", devices[0]),
        "label=vip".into(),
        format!("status=resolved&label=vip&deviceId={}", devices[0]),
        "q=9230000012".into(),
        "status=open&q=9230000".into(),
    ] {
        let path = format!("/api/inbox/conversations?limit={limit}&{query}");
        let reply = t.get(&path).await;
        let calls = reply.count("x-aws-calls");
        let units: f64 = reply
            .header("x-aws-consumed-capacity")
            .parse()
            .unwrap_or(0.0);
        let items = reply.ok()["conversations"].as_array().map_or(0, Vec::len);
        let label = if query.is_empty() { "(none)" } else { &query };
        println!(
            "| `{label}` | {items} | {} + key | {:.1} |",
            calls - 1,
            units - auth_units
        );
    }
    let counts = t.get("/api/inbox/conversations/counts").await;
    println!(
        "| counts | - | {} + key | {:.1} |",
        counts.count("x-aws-calls") - 1,
        counts
            .header("x-aws-consumed-capacity")
            .parse::<f64>()
            .unwrap_or(0.0)
            - auth_units
    );

    // 4. The write side: one more customer message on an unlabelled and a labelled
    // conversation: its transaction (DynamoDB charges 2 WCU an item of up to 1 KB) and the
    // entries' single writes after it (1 WCU each).
    println!();
    for (what, i) in [("unlabelled", 1usize), ("labelled (1 label)", 11)] {
        let device = &devices[i % 2];
        let at = chrono::Utc::now();
        let (_, log) = record_aws_calls(
            "inbound",
            app.record_customer_message(
                &t.id,
                device,
                &peer(i),
                &format!("wamid.benchmore{i}"),
                "more",
                at,
                at,
            ),
        )
        .await;
        let calls = log.calls();
        let items: usize = calls
            .iter()
            .filter(|c| c.operation == "TransactWriteItems")
            .filter_map(|c| c.items)
            .sum();
        let singles = calls
            .iter()
            .filter(|c| matches!(c.operation.as_str(), "PutItem" | "DeleteItem"))
            .count();
        println!(
            "a customer message on a {what} conversation: a transaction of {items} items and \
             {singles} entry writes = {} WCU",
            2 * items + singles
        );
    }
}
