//! A message sent to a customer who has a conversation on the sending device becomes that
//! conversation's last message (docs/inbox.md, "Last message"). Free-form sends learn
//! whether there is one from the 24-hour window's read; a template (no window) reads the
//! same query in the send's first round. A customer without a conversation costs no write.
//! Replies from the inbox move their conversation themselves (`services::inbox`).

use super::window::WindowRead;
use crate::adapters::providers::Content;
use crate::runtime::state::AppState;
use crate::store::conversations::LastMessage;
use crate::store::messages::{Direction, Message, MessageSource};

/// The customer's conversations for a template send (a free-form send has the window's).
pub async fn read_for_template(
    state: &AppState,
    tenant_id: &str,
    to: &str,
    content: &Content,
) -> WindowRead {
    match content {
        Content::Template(_) => Some(state.store.last_inbound_by_device(tenant_id, to).await),
        _ => None,
    }
}

/// Whether either read (the window's, the template's) found a conversation with the
/// customer on `device_id`.
pub fn on_device(reads: [&WindowRead; 2], device_id: &str) -> bool {
    reads
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_ref().ok())
        .any(|seen| seen.iter().any(|(d, _)| d == device_id))
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
