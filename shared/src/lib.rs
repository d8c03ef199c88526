//! Everything the Lambda functions share: configuration, AWS clients, the error type,
//! authentication, HTTP plumbing, DynamoDB access (`store`) and the pure business rules
//! (`domain`). Handlers in `functions/*` stay thin and call into this crate.

pub mod ai;
pub mod auth;
pub mod aws;
pub mod campaigns;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod inbound;
pub mod media;
pub mod metrics;
pub mod net;
pub mod providers;
pub mod secrets;
pub mod sending;
pub mod state;
pub mod statuses;
pub mod store;
pub mod telemetry;
pub mod window;

pub use error::ApiError;
pub use state::AppState;
