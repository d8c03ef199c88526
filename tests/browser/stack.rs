//! `browser-stack`: the app as `make dev` runs it (every route, the queue pollers, the
//! dashboard's built files at `/`) on a free port of the test stack, with the kit's fake
//! WAHA as the WhatsApp Web gateway, for the dashboard's browser tests
//! (`dashboard/browser/`). Prints one JSON line — the app's URL, the platform admin key, a
//! super admin's credentials, the control URL — and runs until SIGINT (10 minutes at most).
//!
//! Control (what a phone would do): `POST {control}/scan` pairs the only WAHA session (the
//! QR code was scanned), reporting `WORKING` to the app's webhook like WAHA.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;
use wati_tests::fake_waha::FakeWaha;
use wati_tests::serve::serve;
use wati_tests::{json, workspace_root, TestApp, TestOptions, Value};

const WAHA_KEY: &str = "browser-waha-key";
/// The number the fake phone pairs as.
const PAIRED_PHONE: &str = "923009998877";

#[tokio::main]
async fn main() {
    let dist = std::env::var("DASHBOARD_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("dashboard/dist"));
    if !dist.join("index.html").exists() {
        eprintln!(
            "browser-stack: {} has no index.html: build the dashboard first (make dashboard)",
            dist.display()
        );
        std::process::exit(2);
    }
    let waha = Arc::new(FakeWaha::start(WAHA_KEY).await);
    let mut opts = TestOptions::default()
        .with("WAHA_BASE_URL", &waha.base)
        .with("WAHA_API_KEY", WAHA_KEY)
        .with("SANDBOX_STATUS_DELAY_SECONDS", "1")
        .roomy_keys();
    opts.assets = Some(dist);
    let app = TestApp::start_with(opts).await;
    let _workers = app.spawn_workers();
    let made = app
        .cli(&[
            "user",
            "create",
            "--email",
            "root@platform.example",
            "--super-admin",
        ])
        .await
        .unwrap_or_else(|e| panic!("super admin: {e}"));
    let made: Value = serde_json::from_str(&made).unwrap_or_default();

    let control = serve(
        Router::new()
            .route("/scan", post(scan))
            .with_state(waha.clone()),
    )
    .await;
    let ready = json!({
        "base": app.base,
        "adminKey": app.admin_key,
        "superAdmin": {"email": "root@platform.example", "password": made["password"]},
        "control": control.base,
        "pairedPhone": PAIRED_PHONE,
    });
    println!("{ready}");
    // Until the test runner stops it (SIGINT), or 10 minutes at most if it never does.
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
    }
}

async fn scan(State(waha): State<Arc<FakeWaha>>) -> Json<Value> {
    let session = waha.only_session().name;
    let res = waha
        .set_status(&session, "WORKING", Some(PAIRED_PHONE))
        .await;
    Json(json!({"session": session, "webhookStatus": res.status().as_u16()}))
}
