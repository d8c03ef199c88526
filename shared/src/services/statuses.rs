//! Message status changes — `pending → sent | failed` when a send completes, then
//! `delivered`, `read` or `failed` as the provider reports them (the sandbox worker, Meta's
//! status webhooks). Every change goes through [`record`]: it is the one place a
//! `message.status` event is published.

use crate::domain::analytics::CountsAs;
use crate::domain::messages::MessageStatus;
use crate::domain::webhooks::{
    EventType, MessageState, MessageStatus as WebhookMessageStatus, StatusError, WebhookEvent,
};
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::services::analytics;
use crate::store::messages::Message;
use crate::store::messages::{StatusOutcome, StatusUpdate};
use crate::store::StoreResult;
use std::time::Duration;

/// Applies a status change (one conditional write: statuses never move backwards) and
/// reports what happened.
pub async fn record(state: &AppState, update: StatusUpdate) -> StoreResult<StatusOutcome> {
    record_as(state, update, &CountsAs::Message, None).await
}

/// [`record`], for a send's completion that counts as more than a message (a campaign
/// recipient, an automatic reply). `status_events`: whether the tenant's webhook wants
/// `message.status`, when the caller knows it exactly ([`publish_status_as`]).
pub async fn record_as(
    state: &AppState,
    update: StatusUpdate,
    counts_as: &CountsAs,
    status_events: Option<bool>,
) -> StoreResult<StatusOutcome> {
    let outcome = state.store.update_message_status(&update).await?;
    announce(state, &outcome, &update, counts_as, status_events).await;
    Ok(outcome)
}

/// A send's outcome written as its message's only record (a send that stored nothing before
/// the provider: [`crate::store::Store::put_completed`], its history at `position`), then
/// published and counted as [`record_as`] does with the same `update`.
pub async fn record_once(
    state: &AppState,
    message: &Message,
    position: &str,
    update: StatusUpdate,
    counts_as: &CountsAs,
    status_events: Option<bool>,
) -> StoreResult<StatusOutcome> {
    let outcome = state.store.put_completed(message, position).await?;
    announce(state, &outcome, &update, counts_as, status_events).await;
    Ok(outcome)
}

/// Publishes and counts a change; logs the rest.
async fn announce(
    state: &AppState,
    outcome: &StatusOutcome,
    update: &StatusUpdate,
    counts_as: &CountsAs,
    status_events: Option<bool>,
) {
    match outcome {
        StatusOutcome::Changed(message, before) => {
            tracing::info!(
                message_id = %message.id,
                status = %message.status,
                wa_message_id = message.wa_message_id.as_deref().unwrap_or_default(),
                "message status changed"
            );
            // Only real changes reach this point: duplicates and stale reports come back
            // as `Unchanged`, so each change is published (and counted) once.
            tokio::join!(
                publish_status_as(state, message, status_events),
                analytics::status_changed(state, *before, message, &update.at, counts_as),
            );
        }
        StatusOutcome::Unchanged(message) => {
            tracing::debug!(
                message_id = %message.id,
                current = %message.status,
                reported = %update.status,
                "status report ignored (duplicate, stale or early)"
            );
        }
        StatusOutcome::NotFound => {
            tracing::warn!(message_id = %update.message_id, "status for an unknown message");
        }
    }
}

/// The `message.status` webhook event of a change, if it is one clients hear about
/// (`pending` is internal).
pub fn status_event(message: &Message) -> Option<WebhookEvent> {
    let status = match message.status {
        MessageStatus::Pending | MessageStatus::Received => return None,
        MessageStatus::Sent => MessageState::Sent,
        MessageStatus::Delivered => MessageState::Delivered,
        MessageStatus::Read => MessageState::Read,
        MessageStatus::Failed => MessageState::Failed,
        MessageStatus::Unconfirmed => MessageState::Unconfirmed,
    };
    let timestamp = message.updated_at.timestamp();
    Some(WebhookEvent::MessageStatus(WebhookMessageStatus {
        device_id: message.device_id.clone().unwrap_or_default(),
        id: message.id.clone(),
        message_id: message.wa_message_id.clone().unwrap_or_default(),
        to: message.peer.clone(),
        status,
        error: (status == MessageState::Failed).then(|| StatusError {
            code: message
                .error_code
                .map(|c| c.to_string())
                .unwrap_or_default(),
            message: message.error.clone().unwrap_or_default(),
        }),
        timestamp,
    }))
}

/// Publishes the change for the tenant's webhook, keyed by message and status so a retried
/// report cannot publish twice. A publishing failure is retried briefly and then logged: the
/// status itself is already recorded.
pub async fn publish_status(state: &AppState, message: &Message) {
    publish_status_as(state, message, None).await
}

/// [`publish_status`]; with `status_events`, whether the tenant's webhook wants the event,
/// known exactly without a read (an API key's copy: [`crate::store::api_keys::Principal`]).
pub async fn publish_status_as(state: &AppState, message: &Message, status_events: Option<bool>) {
    let Some(event) = status_event(message) else {
        return;
    };
    // Most statuses are of tenants without a webhook for them: nothing to queue.
    let wanted = match status_events {
        Some(known) => known,
        None => {
            crate::services::events::may_want(state, &message.tenant_id, EventType::MessageStatus)
                .await
        }
    };
    if !wanted {
        return;
    }
    let key = format!("{}:{}", message.id, message.status.as_str());
    let published = retry(Backoff::new(3).base(Duration::from_millis(50)), |attempt| {
        let event = event.clone();
        let key = &key;
        async move {
            crate::services::events::publish_with_key(state, &message.tenant_id, event, key)
                .await
                .map_err(|e| {
                    tracing::warn!(message_id = %message.id, error = %e, attempt, "publishing message.status failed");
                    Retry::Again(e)
                })
        }
    })
    .await;
    if published.is_ok() {
        return;
    }
    tracing::error!(message_id = %message.id, status = %message.status, "message.status event lost");
}
