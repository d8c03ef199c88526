//! One function per thing that happens in the inbox, called after it is stored: the place
//! where its side effects (the `conversation.assigned` webhook, auto-assignment, the
//! analytics counters) hook in. Each is called only by the write that made it happen, so a
//! retried request counts nothing twice.

use crate::domain::webhooks::{ConversationAssigned, WebhookEvent};
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::services::{analytics, events};
use crate::store::analytics::CountAt;
use crate::store::conversations::Conversation;
use std::time::Duration;

const PUBLISH: Backoff = Backoff::new(3).base(Duration::from_millis(100));

/// A customer's message opened a conversation (a new one, or one resolved or snoozed
/// before). With round-robin auto-assignment on, an unassigned one goes to the next agent.
pub async fn opened(state: &AppState, conversation: &Conversation) {
    tracing::info!(conversation = %conversation.id, "conversation opened");
    if conversation.assigned_to.is_none() {
        if let Err(e) = super::auto_assign(state, conversation).await {
            tracing::warn!(error = %e, "auto-assignment failed; the conversation stays unassigned");
        }
    }
}

/// A conversation changed hands (`by`: the member who did it, `None` for the API or a
/// rule): publishes `conversation.assigned` (signed, retried by the dispatcher).
pub async fn assigned(
    state: &AppState,
    prev: &Conversation,
    next: &Conversation,
    by: Option<&str>,
) {
    let event = WebhookEvent::ConversationAssigned(ConversationAssigned {
        conversation_id: next.id.clone(),
        device_id: next.device_id.clone(),
        peer: next.peer.clone(),
        assigned_to: next.assigned_to.clone(),
        previous_assignee: prev.assigned_to.clone(),
        assigned_by: by.map(str::to_string),
        timestamp: next.updated_at.timestamp(),
    });
    // Keyed by the conversation's version: a retried publish makes no second delivery.
    let key = format!("assigned:{}:{}", next.id, next.version);
    let tenant_id = &next.tenant_id;
    let published = retry(PUBLISH, |_| {
        let event = event.clone();
        let key = key.clone();
        async move {
            events::publish_with_key(state, tenant_id, event, &key)
                .await
                .map_err(Retry::Again)
        }
    })
    .await;
    if let Err(e) = published {
        tracing::error!(error = %e, conversation = %next.id, "conversation.assigned not published");
    }
}

/// An agent's (or the API's) reply went out from the inbox; `first` when it is the first
/// response since the conversation opened. `by`: the member who replied (`None`: an API
/// key, counted in the totals but not as an agent).
pub async fn replied_by_agent(
    state: &AppState,
    conversation: &Conversation,
    first: bool,
    by: Option<&str>,
) {
    tracing::info!(
        conversation = %conversation.id,
        first,
        first_response_seconds = conversation.first_response_seconds,
        "inbox reply sent"
    );
    let to = count_at(conversation);
    match (first, conversation.first_response_seconds) {
        (true, Some(seconds)) => analytics::first_response(state, to, by, seconds).await,
        _ => {
            if let Some(agent) = by {
                analytics::agent_reply(state, to, agent).await;
            }
        }
    }
}

/// A conversation was resolved. Its resolution counts for its assignee, or for the member
/// who resolved an unassigned one.
pub async fn resolved(state: &AppState, conversation: &Conversation, by: Option<&str>) {
    tracing::info!(
        conversation = %conversation.id,
        resolution_seconds = conversation.resolution_seconds,
        "conversation resolved"
    );
    let agent = conversation.assigned_to.as_deref().or(by);
    let seconds = conversation.resolution_seconds.unwrap_or(0);
    analytics::conversation_resolved(state, count_at(conversation), agent, seconds).await;
}

/// Where a conversation's figures are counted: its tenant and device, at its last change.
fn count_at(conversation: &Conversation) -> CountAt<'_> {
    CountAt {
        tenant_id: &conversation.tenant_id,
        device_id: &conversation.device_id,
        at: conversation.updated_at,
    }
}
