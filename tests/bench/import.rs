//! `make bench-import`: imports 100,000 generated contacts (a BOM, semicolons, quoted names
//! with commas, 1% bad rows, duplicates) on the local stack and prints the time and the
//! DynamoDB capacity per contact; then exports them and imports the export again (all
//! `unchanged`). The request is the real route; the chunks run through the worker's own
//! code (`contact_jobs::import_chunk`), `--concurrency` at a time (default 8), each with its
//! AWS calls recorded, so the capacity they consumed can be added up.
//!
//! Options: `--rows N` (default 100000), `--concurrency N`.

// A benchmark built on the test kit stops at the first broken expectation, as a test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::stream::{self, StreamExt};
use std::time::Instant;
use wati_tests::csv_file::generated_csv;
use wati_tests::shared::services::{contact_jobs, record_aws_calls};
use wati_tests::shared::AppState;
use wati_tests::*;

fn args() -> Result<(usize, usize), String> {
    let (mut rows, mut concurrency) = (100_000, 8);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: usize = value.parse().map_err(|_| format!("{flag}: a number"))?;
        match flag.as_str() {
            "--rows" => rows = n,
            "--concurrency" => concurrency = n.max(1),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((rows, concurrency))
}

/// Runs every chunk of an import; the capacity units they consumed.
async fn run_chunks(state: &AppState, tenant: &str, id: &str, chunks: u32, n: usize) -> f64 {
    let runs = (0..chunks).map(|chunk| async move {
        let (result, calls) = record_aws_calls(
            "import-chunk",
            contact_jobs::import_chunk(state, tenant, id, chunk),
        )
        .await;
        result.unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
        calls.summary().consumed_capacity.unwrap_or_default()
    });
    stream::iter(runs)
        .buffer_unordered(n)
        .collect::<Vec<f64>>()
        .await
        .into_iter()
        .sum()
}

async fn import(t: &Tenant, state: &AppState, csv: &str, n: usize) -> (Value, f64, f64, f64) {
    let started = Instant::now();
    let req = t
        .builder(Method::POST, "/api/contacts/import")
        .header("content-type", "text/csv")
        .body(csv.to_string());
    let reply = t.send(req).await;
    let request_capacity: f64 = reply
        .header_opt("x-aws-consumed-capacity")
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    let request_secs = started.elapsed().as_secs_f64();
    let accepted = reply.expect(StatusCode::ACCEPTED);
    let id = accepted["import"]["id"].string();
    let stored = state.store.get_import(&t.id, &id).await.unwrap().unwrap();
    let worker_capacity = run_chunks(state, &t.id, &id, stored.chunks, n).await;
    let secs = started.elapsed().as_secs_f64();
    let done = t.get_ok(&format!("/api/contacts/imports/{id}")).await["import"].clone();
    println!(
        "  {} rows in {secs:.1} s (request {request_secs:.2} s, {} chunks): created {}, updated {}, unchanged {}, duplicates {}, failed {}",
        done["rows"], stored.chunks, done["created"], done["updated"], done["unchanged"], done["duplicates"], done["failed"]
    );
    (done, secs, request_capacity, worker_capacity)
}

#[tokio::main]
async fn main() {
    let (rows, concurrency) = args().unwrap_or_else(|e| {
        eprintln!("bench-import: {e}");
        std::process::exit(2)
    });
    let app = TestApp::start_with(TestOptions::default().roomy_keys()).await;
    let t = app.tenant("pro").await;
    let state = &app.state;
    let (csv, created, duplicates, bad) = generated_csv(rows, "92300");
    println!(
        "Contact import on the local stack: {rows} rows ({} KB), chunks {concurrency} at a time:",
        csv.len() / 1024
    );
    let (done, secs, req_cu, worker_cu) = import(&t, state, &csv, concurrency).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rows"].u64(), rows as u64);
    assert_eq!(done["created"].u64(), created as u64);
    assert_eq!(done["duplicates"].u64(), duplicates as u64);
    assert_eq!(done["failed"].u64(), bad.len() as u64);
    let named = done["errors"].as_array().unwrap().len();
    assert_eq!(named, bad.len().min(100));
    let per = (req_cu + worker_cu) / created as f64;
    println!(
        "  exact counts; {named} bad rows named; {:.0} contacts/s; DynamoDB capacity {:.0} units ({req_cu:.0} in the request, {worker_cu:.0} in the worker): {per:.2} per contact",
        created as f64 / secs,
        req_cu + worker_cu
    );

    // The export of the tag, imported again: every row unchanged.
    let started = Instant::now();
    let export = t
        .post("/api/contacts/export", json!({"tag": "import"}))
        .await
        .expect(StatusCode::ACCEPTED);
    let export_id = export["export"]["id"].string();
    let (result, calls) =
        record_aws_calls("export", contact_jobs::export(state, &t.id, &export_id)).await;
    result.unwrap();
    let export = t
        .get_ok(&format!("/api/contacts/exports/{export_id}"))
        .await["export"]
        .clone();
    let file = wati_tests::http_client()
        .get(export["url"].str())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    println!(
        "  export of the tag: {} contacts, {} KB in {:.1} s, {:.2} capacity units per contact",
        export["rows"],
        file.len() / 1024,
        started.elapsed().as_secs_f64(),
        calls.summary().consumed_capacity.unwrap_or_default() / created as f64
    );
    assert_eq!(export["rows"].u64(), created as u64);
    println!("Re-importing the export:");
    let (again, _, req_cu, worker_cu) = import(&t, state, &file, concurrency).await;
    assert_eq!(again["unchanged"].u64(), created as u64);
    assert_eq!(again["rows"].u64(), created as u64);
    println!(
        "  all {created} unchanged; {:.2} capacity units per contact (reads only)",
        (req_cu + worker_cu) / created as f64
    );
}
