//! Everything the Lambda functions share, in layers. Dependencies point down only:
//!
//! ```text
//! functions/<name>   routes + request/response types; main.rs runs lib.rs's handler(state)
//!       │
//! http/      axum only: errors → statuses, extractors, auth middleware, router guards
//! lambda/    running a handler: a Router, an SQS batch (partial failures), a scheduled event
//!       │
//! services/  orchestration (sending, campaigns, inbound, events, statuses): typed errors,
//!            narrow inputs, no HTTP
//!       │
//! store/     DynamoDB only, speaking domain types
//! adapters/  every other I/O: WhatsApp providers, Secrets Manager, the AI client, media
//!            checks, the SSRF-guarded HTTP client
//!       │
//! domain/    pure types and rules: no I/O, no async
//! runtime/   configuration, state, clock, telemetry, call accounting, retry, caches
//! ```
//!
//! The rule the layout enforces: nothing in `services/`, `store/`, `adapters/` or `domain/`
//! imports axum or returns an HTTP error; only `http/` turns an error into a status.
//! `docs/architecture.md` says where new code goes.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod runtime;
pub mod services;
pub mod store;

pub use runtime::state::AppState;
