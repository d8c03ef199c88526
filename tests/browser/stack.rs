//! `browser-stack`: the app as `make dev` runs it (every route, the queue pollers, the
//! dashboard's built files at `/`) on a free port of the test stack, with the kit's fake
//! WAHA as the WhatsApp Web gateway, for the dashboard's browser tests
//! (`dashboard/browser/`). Prints one JSON line — the app's URL, the platform admin key, a
//! super admin's credentials, the control URL — and runs until SIGINT (10 minutes at most).
//!
//! Control (what a phone would do): `POST {control}/scan` pairs the only WAHA session (the
//! QR code was scanned), reporting `WORKING` to the app's webhook like WAHA.
//! `POST {control}/meta-inbound {"tenantId","text","hoursAgo"}` posts Meta's signed webhook
//! for a text from the test customer (923001234567) to the fake Meta Cloud API's number,
//! written `hoursAgo` hours ago (over 24: the customer service window is closed).
//!
//! The fake Meta Cloud API (`meta` in the JSON line) accepts the Cloud API device the test
//! creates with those credentials and lists one approved template, `order_update` (two body
//! variables), for its sync.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;
use wati_tests::fake_meta::FakeMeta;
use wati_tests::fake_waha::FakeWaha;
use wati_tests::serve::serve;
use wati_tests::{
    json, meta_text, now_ts, sign, workspace_root, TestApp, TestOptions, Value, APP_SECRET,
};

const WAHA_KEY: &str = "browser-waha-key";
/// The number the fake phone pairs as.
const PAIRED_PHONE: &str = "923009998877";
/// The fake Meta Cloud API's number, token and business account.
const META_PHONE_ID: &str = "109876543210987";
const META_TOKEN: &str = "browser-meta-token";
const META_WABA: &str = "102290129340398";

struct Control {
    waha: Arc<FakeWaha>,
    app: String,
}

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
    let meta = FakeMeta::start().await;
    meta.register(META_PHONE_ID, META_TOKEN);
    meta.set_templates(
        META_WABA,
        META_TOKEN,
        vec![
            json!({"name": "order_update", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "id": "id_order_update",
            "components": [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped"}]}),
        ],
    );
    let mut opts = TestOptions::default()
        .with("WAHA_BASE_URL", &waha.base)
        .with("GRAPH_API_BASE_URL", &meta.base)
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
            .route("/meta-inbound", post(meta_inbound))
            .with_state(Arc::new(Control {
                waha: waha.clone(),
                app: app.base.clone(),
            })),
    )
    .await;
    let ready = json!({
        "base": app.base,
        "adminKey": app.admin_key,
        "superAdmin": {"email": "root@platform.example", "password": made["password"]},
        "control": control.base,
        "pairedPhone": PAIRED_PHONE,
        "meta": {"phoneNumberId": META_PHONE_ID, "accessToken": META_TOKEN, "wabaId": META_WABA,
                 "appSecret": APP_SECRET, "verifyToken": "verify-me"},
    });
    println!("{ready}");
    // Until the test runner stops it (SIGINT), or 10 minutes at most if it never does.
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
    }
}

async fn scan(State(c): State<Arc<Control>>) -> Json<Value> {
    let session = c.waha.only_session().name;
    let res = c
        .waha
        .set_status(&session, "WORKING", Some(PAIRED_PHONE))
        .await;
    Json(json!({"session": session, "webhookStatus": res.status().as_u16()}))
}

async fn meta_inbound(State(c): State<Arc<Control>>, Json(req): Json<Value>) -> Json<Value> {
    let tenant = req["tenantId"].as_str().unwrap_or_default();
    let text = req["text"].as_str().unwrap_or("Hello");
    let hours = req["hoursAgo"].as_i64().unwrap_or(0);
    let wamid = format!("wamid.browser.{}", uuid::Uuid::now_v7().simple());
    let body = meta_text(META_PHONE_ID, &wamid, text, now_ts() - hours * 3600);
    let res = wati_tests::http_client()
        .post(format!("{}/api/public/cloud-api-webhook/{tenant}", c.app))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(APP_SECRET, body.as_bytes()))
        .body(body)
        .send()
        .await;
    let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
    Json(json!({"webhookStatus": status, "wamid": wamid}))
}
