//! Analytics: counting events as they happen (on write, never by reading messages) and the
//! summary of a period. See `docs/analytics.md` for what is counted where and how exact it is.
//!
//! Counting never fails the flow it belongs to: a counter write that fails after its
//! retries is logged (the figure is then one short), the event itself stands.

use crate::domain::analytics::{
    self as rules, AutoReply, Counted, CountsAs, Period, Summary, Tally,
};
use crate::domain::messages::MessageStatus;
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::store::analytics::CountAt;
use crate::store::messages::{Direction, Message};
use crate::store::StoreError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A parameter is not acceptable; the message names it.
    #[error("{0}")]
    BadParameter(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Adds `tally` to the counters of `to` (one `UpdateItem`), retried briefly; a failure is
/// logged, never returned.
pub async fn count(state: &AppState, to: CountAt<'_>, tally: &Tally) {
    if tally.is_empty() {
        return;
    }
    let to = &to;
    // Boxed: the SDK's request future is large, and counting sits deep inside the send and
    // inbound flows' futures.
    let done = Box::pin(retry(
        Backoff::new(3).base(Duration::from_millis(50)),
        |attempt| async move {
            state.store.add_counts(to, tally).await.map_err(|e| {
                tracing::warn!(error = %e, attempt, "adding to the analytics counters failed");
                Retry::Again(e)
            })
        },
    ))
    .await;
    if let Err(e) = done {
        tracing::error!(error = %e, tenant_id = to.tenant_id, figures = ?tally.adds, "analytics counts lost");
    }
}

/// What an outbound message's status change (from rank `before`; 0: its send completing)
/// adds, if anything.
pub fn status_tally(before: u8, message: &Message, counts_as: &CountsAs) -> Option<Tally> {
    if message.direction != Direction::Out {
        return None;
    }
    let counted = |s: MessageStatus| match s {
        MessageStatus::Sent | MessageStatus::Unconfirmed => Some(Counted::Sent),
        MessageStatus::Delivered => Some(Counted::Delivered),
        MessageStatus::Read => Some(Counted::Read),
        MessageStatus::Failed => Some(Counted::Failed),
        MessageStatus::Pending | MessageStatus::Received => None,
    };
    let now = counted(message.status)?;
    let before = match before {
        0 => None,
        1 => Some(Counted::Sent),
        2 => Some(Counted::Delivered),
        _ => Some(Counted::Read),
    };
    let template = message
        .template_name
        .as_deref()
        .zip(message.template_language.as_deref());
    let mut t = Tally::default();
    t.status(
        before,
        now,
        template,
        message.campaign_id.as_deref(),
        counts_as,
    );
    Some(t)
}

/// Counts an outbound message's status change (the send completing, or a provider report).
pub async fn status_changed(
    state: &AppState,
    before: u8,
    message: &Message,
    at: &str,
    counts_as: &CountsAs,
) {
    let Some(tally) = status_tally(before, message, counts_as) else {
        return;
    };
    let at = crate::domain::time::parse(at).unwrap_or_else(|| state.clock.now());
    let to = CountAt {
        tenant_id: &message.tenant_id,
        device_id: message.device_id.as_deref().unwrap_or_default(),
        at,
    };
    count(state, to, &tally).await;
}

/// An automatic reply's outcome that no send recorded (quota, AI error, a reply stopped
/// before the provider).
pub async fn auto_reply(state: &AppState, to: CountAt<'_>, kind: AutoReply) {
    count(state, to, Tally::default().auto_reply(kind)).await;
}

// The Team Inbox's figures: each to be called right after the inbox's own write that made
// the event (so a retried request counts nothing). `to`: the conversation's tenant and
// device, and when it happened.

/// A conversation opened (new, or a resolved one opened again) outside the inbound flow,
/// which counts its own.
pub async fn conversation_opened(state: &AppState, to: CountAt<'_>) {
    count(state, to, Tally::default().conversation_opened()).await;
}

/// A conversation resolved, `resolution_seconds` after it opened, by `agent` if one did.
pub async fn conversation_resolved(
    state: &AppState,
    to: CountAt<'_>,
    agent: Option<&str>,
    resolution_seconds: i64,
) {
    let mut t = Tally::default();
    t.conversation_resolved(agent, resolution_seconds);
    count(state, to, &t).await;
}

/// The first reply in a conversation, `seconds` after the customer's message, by `agent`
/// (`None`: an API key, in the totals only). The agent's reply is counted too
/// ([`agent_reply`] is for the later ones): one write.
pub async fn first_response(state: &AppState, to: CountAt<'_>, agent: Option<&str>, seconds: i64) {
    let mut t = Tally::default();
    t.first_response(agent, seconds);
    if let Some(a) = agent {
        t.agent_reply(a);
    }
    count(state, to, &t).await;
}

/// An agent's reply in the inbox.
pub async fn agent_reply(state: &AppState, to: CountAt<'_>, agent: &str) {
    count(state, to, Tally::default().agent_reply(agent)).await;
}

/// A summary's parameters as the query gave them.
#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: Option<String>,
    pub device_id: Option<String>,
}

/// The summary of a period and the one before it: one key range read (one `Query`, more
/// pages only past 1 MB of counters), whatever the traffic.
pub async fn summary(
    state: &AppState,
    tenant_id: &str,
    q: &SummaryQuery,
) -> Result<Summary, AnalyticsError> {
    let period = Period::parse(
        q.from.as_deref(),
        q.to.as_deref(),
        q.tz.as_deref(),
        state.clock.now(),
    )
    .map_err(AnalyticsError::BadParameter)?;
    let device = q
        .device_id
        .as_deref()
        .map(crate::domain::messages::device_id)
        .transpose()
        .map_err(AnalyticsError::BadParameter)?;
    let (first, _) = period.previous().slots();
    let (_, last) = period.slots();
    let items = state.store.counts(tenant_id, &first, &last).await?;
    Ok(rules::summarize(&period, device.as_deref(), &items))
}
