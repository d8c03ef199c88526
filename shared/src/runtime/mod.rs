//! What every layer runs on: configuration read once, the state handed to every handler,
//! the clock, logging, AWS clients with call accounting, retries and caches.

pub mod aws;
pub mod aws_http;
pub mod cache;
pub mod clock;
pub mod config;
pub mod metrics;
pub mod retry;
pub mod state;
pub mod telemetry;
pub mod tls;
