//! Publishing webhook events: what the rest of the system calls when something a tenant
//! may want to hear about happens (a message arrived or changed state, a conversation was
//! assigned, a campaign finished).
//!
//! ```ignore
//! use wati_shared::domain::webhooks::{MessageReceived, MessageKind, WebhookEvent};
//! wati_shared::services::events::publish(&state, &tenant_id, WebhookEvent::MessageReceived(MessageReceived { … })).await?;
//! ```
//!
//! Publishing is one SQS `SendMessage` (`SendMessageBatch` for [`publish_all`]) and no
//! reads: whether the tenant has a webhook, subscribes to the event and is on a plan with
//! webhooks is the dispatcher's business. Events of tenants without a webhook end there.
//! A publisher of frequent events may ask [`may_want`] first (one read, cached while the
//! answer is "yes"), as `message.status` does.
//! The caller's Lambda needs `sqs:SendMessage` on `WebhookQueue` (template:
//! `SQSSendMessagePolicy`) and `WEBHOOK_QUEUE_URL` (set for every function in Globals).

use crate::adapters::queues::{self, Outgoing, QueueError};
use crate::domain::webhooks::{event_id, EventType, WebhookEvent};
use crate::runtime::state::AppState;
use serde::{Deserialize, Serialize};

/// The message on the webhook queue: one attempt of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchMessage {
    pub tenant_id: String,
    pub event_id: String,
    pub event_type: EventType,
    /// The attempt this message is for (1-based over the event's life).
    pub seq: u32,
    /// Unix seconds before which the attempt must not be made. Waits longer than SQS's
    /// 15-minute delay are covered by re-queueing the message until it is due.
    pub due_at: i64,
    /// The body, on the first attempt only; later attempts read it from the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("WEBHOOK_QUEUE_URL is not configured")]
    NoQueue,
    #[error("invalid event: {0}")]
    Invalid(String),
    #[error("queueing the event failed: {0}")]
    Queue(String),
}

fn queue_url(state: &AppState) -> Result<&str, PublishError> {
    state
        .config
        .queues
        .webhooks
        .as_deref()
        .ok_or(PublishError::NoQueue)
}

fn first_attempt(
    state: &AppState,
    tenant_id: &str,
    event: &WebhookEvent,
    dedupe_key: Option<&str>,
) -> Result<DispatchMessage, PublishError> {
    event.validate().map_err(PublishError::Invalid)?;
    let now = state.clock.now();
    // A deduplicated id is built from the event's own time, so it is the same on retries.
    let millis = if dedupe_key.is_some() {
        event.timestamp().saturating_mul(1000)
    } else {
        now.timestamp_millis()
    };
    Ok(DispatchMessage {
        tenant_id: tenant_id.to_string(),
        event_id: event_id(event.event_type(), millis, dedupe_key),
        event_type: event.event_type(),
        seq: 1,
        due_at: now.timestamp(),
        payload: Some(
            event
                .body()
                .map_err(|e| PublishError::Invalid(e.to_string()))?,
        ),
    })
}

/// How long an instance remembers that a tenant's webhook subscribes to an event type.
pub const SUBSCRIBED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether an event of type `t` is worth queueing for the tenant: `false` only when it
/// has no webhook subscribed to it, read now. For publishers of frequent events
/// (`message.status`) to skip the queue, the dispatcher's invocation and its reads.
///
/// Invalidation rule: only a "subscribed" answer is cached (per instance, for
/// [`SUBSCRIBED_TTL`]); "not subscribed" is read again every time. So a new subscription
/// counts at once, and a removed one can only make an instance queue events for up to a
/// minute longer, which the dispatcher drops as it always has. A failed read queues.
pub async fn may_want(state: &AppState, tenant_id: &str, t: EventType) -> bool {
    let key = (tenant_id.to_string(), t);
    if state.webhook_subscriptions.get(&key).await.is_some() {
        return true;
    }
    match state.store.webhook_subscribes(tenant_id, t).await {
        Ok(true) => {
            state.webhook_subscriptions.insert(key, ()).await;
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::warn!(error = %e, "reading the webhook's events failed: queueing the event");
            true
        }
    }
}

/// Publishes one event for a tenant; returns its id (the `webhook-id` receivers see).
pub async fn publish(
    state: &AppState,
    tenant_id: &str,
    event: WebhookEvent,
) -> Result<String, PublishError> {
    let msg = first_attempt(state, tenant_id, &event, None)?;
    enqueue(state, &msg, 0).await?;
    Ok(msg.event_id)
}

/// Like [`publish`], with an id derived from `dedupe_key` (e.g. the provider's message id
/// plus the status): publishing the same event again (a retried worker) makes no second
/// delivery.
pub async fn publish_with_key(
    state: &AppState,
    tenant_id: &str,
    event: WebhookEvent,
    dedupe_key: &str,
) -> Result<String, PublishError> {
    let msg = first_attempt(state, tenant_id, &event, Some(dedupe_key))?;
    enqueue(state, &msg, 0).await?;
    Ok(msg.event_id)
}

/// Publishes many events of one tenant, ten per SQS call (e.g. the statuses of a
/// campaign's batch). Returns their ids in order. On a partial failure nothing tells which
/// were queued, so the error lists the failed ids.
pub async fn publish_all(
    state: &AppState,
    tenant_id: &str,
    events: Vec<WebhookEvent>,
) -> Result<Vec<String>, PublishError> {
    let url = queue_url(state)?;
    let messages = events
        .iter()
        .map(|e| first_attempt(state, tenant_id, e, None))
        .collect::<Result<Vec<_>, _>>()?;
    let outgoing: Vec<_> = messages
        .iter()
        .map(|m| Outgoing {
            body: m,
            delay_secs: 0,
        })
        .collect();
    match queues::send_all(&state.aws.sqs, url, &outgoing).await {
        Ok(()) => Ok(messages.into_iter().map(|m| m.event_id).collect()),
        Err(QueueError::NotQueued { not_queued, .. }) => {
            let ids: Vec<&str> = not_queued
                .iter()
                .filter_map(|&i| messages.get(i).map(|m| m.event_id.as_str()))
                .collect();
            Err(PublishError::Queue(format!(
                "{} events were not queued: {}",
                ids.len(),
                ids.join(", ")
            )))
        }
        Err(e) => Err(PublishError::Queue(e.to_string())),
    }
}

/// Puts a dispatch message on the webhook queue, delayed by up to 15 minutes.
pub async fn enqueue(
    state: &AppState,
    msg: &DispatchMessage,
    delay_secs: i64,
) -> Result<(), PublishError> {
    let url = queue_url(state)?;
    let delay = u32::try_from(delay_secs.max(0)).unwrap_or(u32::MAX);
    queues::send(&state.aws.sqs, url, msg, delay)
        .await
        .map_err(|e| PublishError::Queue(e.to_string()))
}
