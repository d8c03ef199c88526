//! The test kit: a whole stack per test on DynamoDB Local and moto (unique resource names,
//! so tests run in parallel), served over real HTTP on an ephemeral port; typed callers of
//! its API; the outside parties as local fakes; Lambda event builders; waiting and time.
//!
//! Endpoints come from `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SQS` (what
//! `make test` exports), defaulting to the dev stack's 127.0.0.1:8000 and :5000.

// A test kit reports a broken expectation by panicking, so unwrap and expect are its tools.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod csv_file;
pub mod events;
pub mod fake_ai;
pub mod fake_files;
pub mod fake_meta;
pub mod fake_waha;
pub mod fakes;
pub mod json;
pub mod records;
pub mod serve;
pub mod shared;
pub mod time;
pub mod wait;
pub mod webhooks;

pub use app::{
    created_within_cap, header, ids_of, sending_options, with_status, Api, Reply, Tenant, TestApp,
    TestOptions, Workers, APP_SECRET,
};
pub use events::{
    failed_ids, fixture, invoke, meta_media, meta_status, meta_template_status, meta_text,
    sqs_event, sqs_event_of, sqs_fixture, sqs_json_event, sqs_record,
};
pub use fakes::{CloudTenant, Fakes};
pub use json::{parse, Json};
pub use records::CloudSender;
pub use reqwest::{Client, Method, StatusCode};
pub use serde_json::{json, Value};
pub use shared::{iso, next_midnight, sign, Clock};
pub use time::{at, clock_at, now_ts, start_of_next_minute};
pub use wait::eventually;

/// A client for the tests' own HTTP calls, on the platform's TLS provider (`runtime::tls`).
pub fn http_client() -> Client {
    wati_shared::runtime::tls::client_builder()
        .build()
        .expect("an HTTP client")
}

use aws_config::{BehaviorVersion, Region};
use shared::AwsClients;
use std::path::PathBuf;

pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(PathBuf::from)
        .expect("tests/ sits in the workspace")
}

pub fn template_path() -> PathBuf {
    workspace_root().join("template.yaml")
}

fn endpoint(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Clients for the local stack with dummy credentials.
pub async fn local_aws() -> AwsClients {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    AwsClients::with_endpoints(
        &sdk,
        Some(&endpoint(
            "AWS_ENDPOINT_URL_DYNAMODB",
            "http://127.0.0.1:8000",
        )),
        Some(&endpoint("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:5000")),
    )
}

pub fn unique_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
