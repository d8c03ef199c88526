//! Inbound: everything that happens after a customer writes in, and the providers' delivery
//! statuses. See `docs/inbound.md`.
//!
//! - [`webhook`]: what the entry points do beyond HTTP: Meta's signature over the raw body,
//!   its envelope split into jobs, a sandbox customer message turned into a job.
//! - [`record`]: a customer message stored once, its conversation, contact and
//!   `message.received`.
//! - [`answer`]: the decision flow: keyword rules (compiled, cached per instance), multi-step
//!   replies, AI Smart Reply within its quota, the reply log.
//! - [`statuses`]: providers' statuses of outbound messages, through `services::statuses`.
//!
//! The inbound queue (`InboundQueue`, +DLQ) carries what the entry points hand to the
//! inbound worker, and what the worker hands itself later:
//!
//! - `message`: one customer message, as Meta's JSON (the sandbox's inbound endpoint builds
//!   the same JSON), with the device it reached and the sender's profile name.
//! - `status`: one element of Meta's `statuses[]`, when the webhook could not apply it at
//!   once (its message not findable yet: queued with a delay; the table failed); re-queued
//!   with a delay while its message is not findable (the send has not recorded `sent`, or
//!   the index lags).
//! - `ackCheck`: a WhatsApp Web message to mark `unconfirmed` if no ack came in time
//!   (`services::gateway::acks`).
//! - `phoneMessage`: a message typed on a WhatsApp Web device's phone, recorded as outbound
//!   unless it turns out to be one of our own sends.
//! - `replyStep`: the next response of a multi-step keyword rule, queued with
//!   `DelaySeconds = step_delay_seconds` after the previous one went out. No Lambda sleeps.
//!
//! Entry points answer as soon as the jobs are queued (one `SendMessageBatch` per ten).
//!
//! A customer message:
//! 1. One `BatchGetItem`: tenant, device, conversation, rules version, AI settings (and the
//!    tenant's compiled rules from this instance's cache, reloaded when the version moved);
//!    the contact, created first when the conversation is new or the profile name changed.
//! 2. One transaction: the message (refused if its WhatsApp id was stored before) and the
//!    conversation (reopened if resolved, unread count + 1, the 24-hour window).
//! 3. The media and `message.received`.
//! 4. Consent (opt-out and opt-in words, opted-out customers; see [`consent`]), then the
//!    spec's decision flow: a keyword rule's responses (the first now, the next ones
//!    through the queue `step_delay_seconds` apart), else AI Smart Reply within the daily
//!    AI quota, else nothing. Every reply goes through the send flow (daily outbound cap,
//!    24-hour window, statuses) with an idempotency key derived from the customer's message,
//!    so a redelivered job never sends a reply twice. The decision is logged.
//!
//! A failure before step 4 fails the job (SQS delivers it again; storing is idempotent). From
//! step 4 on, a failure is logged, not retried: an AI error or timeout means no reply and an
//! `ai_error` entry, never a retry storm.

pub mod answer;
pub mod consent;
pub mod record;
pub mod statuses;
pub mod webhook;

use crate::adapters::ai::SmartReply;
use crate::adapters::queues::{self, Outgoing};
use crate::domain::devices::ProviderKind;
use crate::runtime::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "camelCase")]
pub enum InboundJob {
    Message(MessageJob),
    Status(StatusJob),
    ReplyStep(ReplyStepJob),
    AckCheck(AckCheckJob),
    PhoneMessage(crate::services::gateway::phone::PhoneMessageJob),
}

impl InboundJob {
    /// Jobs with the same key are handled in their order, never at once: a customer's
    /// messages and reply steps (one conversation: no race for its version, answers in
    /// order), and the statuses of one message.
    pub fn order_key(&self) -> Option<String> {
        let (kind, tenant, device, of) = match self {
            InboundJob::Message(j) => (
                "customer",
                &j.tenant_id,
                &j.device_id,
                j.message["from"].as_str()?,
            ),
            InboundJob::ReplyStep(j) => ("customer", &j.tenant_id, &j.device_id, j.peer.as_str()),
            InboundJob::PhoneMessage(j) => ("customer", &j.tenant_id, &j.device_id, j.to.as_str()),
            InboundJob::Status(j) => (
                "message",
                &j.tenant_id,
                &j.device_id,
                j.status["id"].as_str()?,
            ),
            InboundJob::AckCheck(_) => return None,
        };
        Some(format!("{kind}/{tenant}/{device}/{of}"))
    }
}

/// WhatsApp Web: is this message acknowledged yet? Queued with a delay by the send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AckCheckJob {
    pub tenant_id: String,
    pub message_id: String,
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
        .queues
        .inbound
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

/// Why a job failed: SQS delivers it again (and, past its receive count, to the DLQ).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error(transparent)]
    Answer(#[from] answer::AnswerError),
    #[error(transparent)]
    Status(#[from] statuses::StatusError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Consent(#[from] consent::ConsentError),
}

/// The inbound worker's service, built once per Lambda instance: it keeps the instance's
/// compiled keyword rules and its AI client between jobs.
pub struct Inbound {
    state: AppState,
    rules: answer::RulesCache,
    ai: SmartReply,
}

impl Inbound {
    pub fn new(state: AppState) -> Self {
        let ai = SmartReply::from_config(&state.config, state.aws.secrets.clone());
        Inbound {
            state,
            rules: answer::RulesCache::default(),
            ai,
        }
    }

    /// Does one job. An error leaves it to SQS to deliver again.
    pub async fn handle(&self, job: InboundJob) -> Result<(), JobError> {
        match job {
            InboundJob::Message(m) => self.message(m).await,
            InboundJob::Status(s) => Ok(statuses::status(&self.state, s).await?),
            InboundJob::ReplyStep(r) => Ok(self.reply_step(r).await?),
            InboundJob::AckCheck(c) => {
                Ok(crate::services::gateway::acks::check(&self.state, c).await?)
            }
            InboundJob::PhoneMessage(m) => {
                Ok(crate::services::gateway::phone::record(&self.state, m).await?)
            }
        }
    }

    /// A customer message: stored (steps 1–3), answered at most once (step 4), marked done.
    async fn message(&self, job: MessageJob) -> Result<(), JobError> {
        let incoming = record::Incoming::parse(&self.state, job)?;
        let span = tracing::info_span!("inbound", tenant_id = %incoming.job.tenant_id,
            message_id = %incoming.id, wamid = %incoming.content.wamid);
        self.message_inner(incoming).instrument(span).await
    }

    async fn message_inner(&self, incoming: record::Incoming) -> Result<(), JobError> {
        let Some(recorded) = record::record(&self.state, incoming).await? else {
            return Ok(());
        };
        // The tenant's compiled rules (cached), before anything is answered: a failure to
        // read them retries the job like the steps above.
        let rules = self.rules_for_message(&recorded).await?;
        // Consent first: an opt-out or opt-in word, or a message from an opted-out
        // customer, is never answered by a rule or the AI. A failure retries the job.
        // Boxed: these futures are large, and a worker's batch runs them side by side.
        if Box::pin(self.consent(&recorded)).await? == consent::ConsentStep::Continue {
            if let Err(e) = Box::pin(self.answer(&recorded, rules.as_deref())).await {
                tracing::error!(error = %e, "answering the message failed; no reply");
            }
        }
        record::finish(&self.state, &recorded).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(v: Value) -> InboundJob {
        serde_json::from_value(v).expect("an inbound job")
    }

    #[test]
    fn a_customers_messages_and_reply_steps_share_a_key_and_a_messages_statuses_another() {
        let message = |from: &str| {
            job(
                json!({"job": "message", "tenantId": "t1", "deviceId": "d1", "provider": "cloud_api",
                "message": {"from": from, "id": "wamid.1"}, "receivedAt": 1}),
            )
        };
        let step = job(
            json!({"job": "replyStep", "tenantId": "t1", "deviceId": "d1",
            "peer": "923001112222", "inboundMessageId": "m1", "ruleId": "r1",
            "responses": ["a", "b"], "step": 1, "stepDelaySeconds": 2}),
        );
        let status = |id: &str| {
            job(json!({"job": "status", "tenantId": "t1", "deviceId": "d1",
                "status": {"id": id, "status": "read"}}))
        };
        let key = message("923001112222").order_key();
        assert_eq!(key.as_deref(), Some("customer/t1/d1/923001112222"));
        assert_eq!(step.order_key(), key);
        assert_ne!(message("923001113333").order_key(), key);
        assert_eq!(status("wamid.1").order_key(), status("wamid.1").order_key());
        assert_ne!(status("wamid.1").order_key(), status("wamid.2").order_key());
        // Without a sender there is nothing to keep in order with.
        let no_sender = job(json!({"job": "message", "tenantId": "t1", "deviceId": "d1",
            "provider": "cloud_api", "message": {"id": "wamid.3"}, "receivedAt": 1}));
        assert_eq!(no_sender.order_key(), None);
    }
}
