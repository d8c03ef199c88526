//! Messages typed on a WhatsApp Web device's phone: WAHA reports them as `fromMe` messages,
//! like the echoes of our own sends. A moment later (so a send of ours has recorded its
//! WhatsApp id), one that is not ours is stored as an outbound message from the phone, so
//! the conversation's history is whole.

use crate::domain::devices::ProviderKind;
use crate::domain::inbound::{inbound_message_id, reported_time};
use crate::domain::messages::MessageStatus;
use crate::runtime::state::AppState;
use crate::store::messages::{Direction, Message, MessageSource};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};

/// How long after WAHA's report the message is looked at.
pub const SETTLE_SECONDS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneMessageJob {
    pub tenant_id: String,
    pub device_id: String,
    /// The customer, digits.
    pub to: String,
    pub wa_message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Unix seconds WAHA gave.
    pub timestamp: Option<i64>,
}

/// Stores the message unless it is one of ours or was stored before.
pub async fn record(state: &AppState, job: PhoneMessageJob) -> Result<(), StoreError> {
    let store = &state.store;
    if store
        .find_message_by_wamid(&job.tenant_id, &job.wa_message_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let now = state.clock.now();
    let sent_at = reported_time(job.timestamp, now);
    // Derived from the WhatsApp id: a redelivered job finds it stored.
    let id = inbound_message_id(&job.tenant_id, &job.wa_message_id, sent_at);
    let mut message = Message::text(
        id,
        job.tenant_id,
        Direction::Out,
        job.to,
        job.text,
        MessageStatus::Sent,
        MessageSource::Phone,
        now,
    );
    message.device_id = Some(job.device_id);
    message.provider = Some(ProviderKind::WhatsappWeb);
    message.wa_message_id = Some(job.wa_message_id);
    message.sent_at = Some(sent_at);
    if store.record_phone_message(&message).await? {
        tracing::info!(message_id = %message.id, "message typed on the phone recorded");
        // It is the conversation's last message too. Nothing here has read whether there
        // is a conversation: the update's condition tells (a rare path, 1 WCU either way).
        let device_id = message.device_id.clone().unwrap_or_default();
        crate::services::sending::conversation::touch(state, &message, &device_id, true).await;
    }
    Ok(())
}
