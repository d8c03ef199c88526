//! Honest delivery states for WhatsApp Web: WAHA accepting a message does not mean
//! WhatsApp did. A message with no server or device ack `WAHA_UNCONFIRMED_AFTER_SECONDS`
//! after the send is `unconfirmed` (and reported so); a late ack moves it on.

use crate::adapters::queues::{self, Outgoing};
use crate::runtime::state::AppState;
use crate::services::inbound::{AckCheckJob, InboundJob};
use crate::services::statuses::publish_status;
use crate::store::messages::Message;
use crate::store::StoreError;

/// Queues the check of a message just sent through a WhatsApp Web device. A failure is
/// logged: the message then stays `sent` unless an ack says more.
pub async fn schedule_check(state: &AppState, tenant_id: &str, message_id: &str) {
    let Some(url) = state.config.queues.inbound.as_deref() else {
        tracing::warn!(
            "INBOUND_QUEUE_URL is not set: WhatsApp Web messages are never marked unconfirmed"
        );
        return;
    };
    let job = InboundJob::AckCheck(AckCheckJob {
        tenant_id: tenant_id.to_string(),
        message_id: message_id.to_string(),
    });
    let out = [Outgoing {
        body: &job,
        delay_secs: state.config.gateway.unconfirmed_after_seconds,
    }];
    if let Err(e) = queues::send_all(&state.aws.sqs, url, &out).await {
        tracing::error!(message_id, error = %e, "scheduling the ack check failed");
    }
}

/// The check: still `sent` with no ack → `unconfirmed`, published as `message.status`.
pub async fn check(state: &AppState, job: AckCheckJob) -> Result<(), StoreError> {
    let now = state.clock.now();
    if let Some(m) = state
        .store
        .mark_unconfirmed(&job.tenant_id, &job.message_id, now)
        .await?
    {
        tracing::warn!(message_id = %m.id, "no ack from WhatsApp: message unconfirmed");
        publish_status(state, &m).await;
    }
    Ok(())
}

/// An ack from WhatsApp's server or the phone: the message is never made `unconfirmed`,
/// and one that was is `sent` again.
pub async fn acked(state: &AppState, message: &Message) -> Result<(), StoreError> {
    let now = state.clock.now();
    if let Some(m) = state
        .store
        .mark_acked(&message.tenant_id, &message.id, now)
        .await?
    {
        tracing::info!(message_id = %m.id, "a late ack: message sent after all");
        publish_status(state, &m).await;
    }
    Ok(())
}
