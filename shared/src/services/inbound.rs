//! The inbound queue (`InboundQueue`, +DLQ): what the entry points hand to the inbound
//! worker, and what the worker hands itself later.
//!
//! - `message`: one customer message, as Meta's JSON (the sandbox's inbound endpoint builds
//!   the same JSON), with the device it reached and the sender's profile name.
//! - `status`: one element of Meta's `statuses[]`; re-queued with a delay while its message
//!   is not findable yet (the send has not recorded `sent`, or the index lags).
//! - `replyStep`: the next response of a multi-step keyword rule, queued with
//!   `DelaySeconds = step_delay_seconds` after the previous one went out. No Lambda sleeps.
//!
//! Entry points answer as soon as the jobs are queued (one `SendMessageBatch` per ten).

use crate::adapters::queues::{self, Outgoing};
use crate::domain::devices::ProviderKind;
use crate::runtime::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "camelCase")]
pub enum InboundJob {
    Message(MessageJob),
    Status(StatusJob),
    ReplyStep(ReplyStepJob),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageJob {
    pub tenant_id: String,
    pub device_id: String,
    pub provider: ProviderKind,
    /// The business number the message was sent to (Meta's `display_phone_number`), digits.
    #[serde(default)]
    pub business_number: String,
    /// The sender's WhatsApp profile name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    /// One element of Meta's `messages[]`, as received.
    pub message: Value,
    /// Unix seconds when the entry point received it.
    pub received_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusJob {
    pub tenant_id: String,
    pub device_id: String,
    /// One element of Meta's `statuses[]`, as received.
    pub status: Value,
    /// 0 the first time; each re-queue adds one.
    #[serde(default)]
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyStepJob {
    pub tenant_id: String,
    pub device_id: String,
    pub peer: String,
    /// Our id of the customer message being answered (the sends' idempotency keys derive
    /// from it, so a redelivered step never goes out twice).
    pub inbound_message_id: String,
    pub rule_id: String,
    pub responses: Vec<String>,
    /// The index of the response this job sends.
    pub step: usize,
    pub step_delay_seconds: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("INBOUND_QUEUE_URL is not configured")]
    NoQueue,
    #[error("queueing inbound work failed: {0}")]
    Queue(String),
}

/// Queues jobs, each with its delay in seconds, ten per SQS call. All or an error.
pub async fn enqueue(state: &AppState, jobs: &[(InboundJob, u32)]) -> Result<(), EnqueueError> {
    let url = state
        .config
        .inbound_queue_url
        .as_deref()
        .ok_or(EnqueueError::NoQueue)?;
    let outgoing: Vec<_> = jobs
        .iter()
        .map(|(job, delay)| Outgoing {
            body: job,
            delay_secs: *delay,
        })
        .collect();
    queues::send_all(&state.aws.sqs, url, &outgoing)
        .await
        .map_err(|e| EnqueueError::Queue(e.to_string()))
}
