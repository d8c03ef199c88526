//! A message sent to a customer who has a conversation on the sending device becomes that
//! conversation's last message (docs/inbox.md, "Last message"). The send learns whether
//! there is one from the customer's conversations it reads for the 24-hour window; a
//! customer without a conversation costs no write.
//! Replies from the inbox move their conversation themselves (`services::inbox`).

use super::window::WindowRead;
use crate::runtime::state::AppState;
use crate::store::conversations::LastMessage;
use crate::store::messages::{Direction, Message, MessageSource};

/// Whether the read found a conversation with the customer on `device_id`.
pub fn on_device(read: &WindowRead, device_id: &str) -> bool {
    read.as_ref()
        .is_ok_and(|seen| seen.iter().any(|(d, _)| d == device_id))
}

/// After the send went out: the conversation's last message and time (one `UpdateItem`),
/// unless the inbox sent it. A failure is logged: the message went out.
pub async fn touch(state: &AppState, message: &Message, device_id: &str, has_conversation: bool) {
    if !has_conversation || message.source == MessageSource::Inbox {
        return;
    }
    let last = LastMessage {
        text: message.text.clone(),
        direction: Direction::Out,
        kind: message.kind,
        at: state.clock.now(),
    };
    let (tenant_id, peer) = (&message.tenant_id, &message.peer);
    if let Err(e) = state
        .store
        .touch_conversation(tenant_id, device_id, peer, &last)
        .await
    {
        tracing::warn!(error = %e, message_id = %message.id, "the conversation's last message was not moved");
    }
}
