//! Every I/O that is not the table: WhatsApp providers, Secrets Manager, the AI client,
//! media URL checks, S3 and the SSRF-guarded HTTP client. No HTTP statuses: each adapter has
//! its own error type.

pub mod admin_key;
pub mod ai;
pub mod http_client;
pub mod jwks;
pub mod media_check;
pub mod media_store;
pub mod providers;
pub mod queues;
pub mod s3;
pub mod secrets;
pub mod signing_key;
