//! Storing a customer message once: the message with its conversation (one transaction),
//! the contact, and `message.received`. Every step is idempotent, so a failure fails the
//! job and SQS's redelivery repeats the steps harmlessly.

use super::MessageJob;
use crate::domain::analytics::Tally;
use crate::domain::devices::ProviderKind;
use crate::domain::inbound::{
    inbound_message_id, media_url, parse_message, reported_time, InboundContent, Location,
};
use crate::domain::messages::MessageStatus;
use crate::domain::webhooks::{MessageKind as EventKind, MessageReceived, WebhookEvent};
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::services::events::{self, PublishError};
use crate::services::media;
use crate::store::analytics::CountAt;
use crate::store::contacts::UpsertOutcome;
use crate::store::conversations::{
    ContactRef, Conversation, ConversationStatus, Handling, InboundContext, RecordInbound,
};
use crate::store::messages::{Direction, Message, MessageSource};
use crate::store::StoreError;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use std::time::Duration;

/// A claim older than this is an earlier attempt that died: a redelivery takes over. Well
/// above the worker's 60 s timeout, below the queue's 360 s visibility timeout.
const STALE_CLAIM: chrono::Duration = chrono::Duration::seconds(120);

/// Tries at writing a message against a conversation other messages are changing too, with
/// jittered backoff (about 3 s in all): a burst of one customer's messages takes turns.
const CONVERSATION_CONTENTION: Backoff = Backoff::new(12).base(Duration::from_millis(10));

/// Tries at the idempotent calls after the message is stored (the event, the `done` mark).
pub(super) const IDEMPOTENT_CALL: Backoff = Backoff::new(3).base(Duration::from_millis(100));

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unreadable message: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the conversation kept changing; retry later")]
    ConversationContended,
    #[error("contact: {0}")]
    Contact(StoreError),
    #[error("signing the media link failed: {0}")]
    MediaLink(String),
    #[error("publishing message.received failed: {0}")]
    Event(#[from] PublishError),
}

/// A customer message as the job brought it, read.
#[derive(Debug)]
pub struct Incoming {
    pub job: MessageJob,
    pub content: InboundContent,
    /// Our id of the message (the same for every copy of the job).
    pub id: String,
    /// When the customer sent it.
    pub sent_at: DateTime<Utc>,
}

impl Incoming {
    pub fn parse(state: &AppState, job: MessageJob) -> Result<Self, RecordError> {
        let content = parse_message(&job.message).map_err(RecordError::Unreadable)?;
        let received = Utc
            .timestamp_opt(job.received_at, 0)
            .single()
            .unwrap_or_else(|| state.clock.now());
        let sent_at = reported_time(content.timestamp, received);
        let id = inbound_message_id(&job.tenant_id, &content.wamid, sent_at);
        Ok(Incoming {
            job,
            content,
            id,
            sent_at,
        })
    }
}

/// A message this attempt stored (or took over from a dead attempt): what answering needs.
#[derive(Debug)]
pub struct Recorded {
    pub job: MessageJob,
    pub content: InboundContent,
    /// What was read before storing: tenant, device, the conversation as it was, rules
    /// version, AI settings.
    pub ctx: InboundContext,
    /// The conversation with this message.
    pub conversation: Conversation,
    pub message: Message,
    /// When this attempt began.
    pub now: DateTime<Utc>,
}

/// A message this attempt answers, as stored.
struct Answerable {
    ctx: InboundContext,
    conversation: Conversation,
    message: Message,
    /// Stored now (`true`), or an earlier attempt's claim taken over (`false`).
    first_time: bool,
}

/// What one try at storing came to.
enum Stored {
    Answerable(Box<Answerable>),
    /// Nothing to do: an unknown tenant, or a copy another attempt handles.
    Skip,
}

impl Stored {
    fn answerable(
        ctx: InboundContext,
        conversation: Conversation,
        message: Message,
        first_time: bool,
    ) -> Self {
        Stored::Answerable(Box::new(Answerable {
            ctx,
            conversation,
            message,
            first_time,
        }))
    }
}

/// Steps 1–3: the context, the message with its conversation, the contact and the event.
/// `None` when there is nothing to answer (an unknown tenant, a duplicate).
pub async fn record(state: &AppState, incoming: Incoming) -> Result<Option<Recorded>, RecordError> {
    let now = state.clock.now();
    // Messages of one customer arrive together (a batch holds up to ten, and Meta sends
    // bursts): they take turns on the conversation. Jittered backoff keeps them from
    // colliding again; failing the job would park it for the queue's whole visibility
    // timeout.
    let stored = retry(CONVERSATION_CONTENTION, |_| {
        store_once(state, &incoming, now)
    })
    .await?;
    let Stored::Answerable(stored) = stored else {
        return Ok(None);
    };
    let Answerable {
        ctx,
        conversation,
        mut message,
        first_time,
    } = *stored;
    let Incoming {
        job,
        content,
        sent_at,
        ..
    } = incoming;
    tracing::info!(
        kind = content.kind.as_str(),
        first_time,
        "inbound message stored"
    );

    // 3: the event (idempotent: a failure retries the job).
    keep_media(state, &job, &content, &ctx, &mut message).await?;
    publish_received(state, &job, &content, &message, sent_at).await?;
    if first_time && conversation.opened_from(ctx.conversation.as_ref()) {
        crate::services::inbox::happenings::opened(state, &conversation).await;
    }
    Ok(Some(Recorded {
        job,
        content,
        ctx,
        conversation,
        message,
        now,
    }))
}

/// One read of the context and one transaction; a conversation changed meanwhile is worth
/// another try.
async fn store_once(
    state: &AppState,
    incoming: &Incoming,
    now: DateTime<Utc>,
) -> Result<Stored, Retry<RecordError>> {
    let Incoming {
        job,
        content,
        id,
        sent_at,
    } = incoming;
    let peer = &content.from;
    let ctx = state
        .store
        .inbound_context(&job.tenant_id, &job.device_id, peer)
        .await
        .map_err(RecordError::Store)?;
    if ctx.tenant.is_none() {
        tracing::warn!("message for an unknown tenant dropped");
        return Ok(Stored::Skip);
    }
    let message = inbound_message(state, job, content, id, *sent_at, now);
    let contact = contact_of(state, job, peer, &ctx, now)
        .await
        .map_err(RecordError::Contact)?;
    let next = Conversation::after_inbound(
        ctx.conversation.as_ref(),
        &message,
        *sent_at,
        job.profile_name.as_deref(),
        contact,
        now,
    );
    let extra = InboundExtra::of(content, job, &next.id);
    match state
        .store
        .record_inbound(&message, &extra, &next, ctx.conversation.as_ref(), now)
        .await
        .map_err(RecordError::Store)?
    {
        RecordInbound::Recorded => {
            count_stored(
                state,
                &job.tenant_id,
                &job.device_id,
                ctx.conversation.as_ref(),
                *sent_at,
            )
            .await;
            Ok(Stored::answerable(ctx, next, message, true))
        }
        RecordInbound::Duplicate => {
            match state
                .store
                .take_over_inbound(&job.tenant_id, id, now - STALE_CLAIM, now)
                .await
                .map_err(RecordError::Store)?
            {
                Handling::TakenOver => {
                    tracing::info!("finishing a message an earlier attempt stored");
                    let conv = ctx.conversation.clone().unwrap_or(next);
                    // The earlier attempt may have stopped before the inbox entries.
                    state
                        .store
                        .write_entries(None, &conv)
                        .await
                        .map_err(RecordError::Store)?;
                    Ok(Stored::answerable(ctx, conv, message, false))
                }
                Handling::Busy | Handling::Done => {
                    tracing::info!("duplicate message ignored");
                    Ok(Stored::Skip)
                }
            }
        }
        RecordInbound::ConversationChanged => Err(Retry::Again(RecordError::ConversationContended)),
    }
}

/// The customer's contact for the conversation. A new conversation or a new profile name
/// creates (or names) it first, so the conversation holds it from its first message on
/// (idempotent: a retry finds it made).
async fn contact_of(
    state: &AppState,
    job: &MessageJob,
    peer: &str,
    ctx: &InboundContext,
    now: DateTime<Utc>,
) -> Result<Option<ContactRef>, StoreError> {
    let name_changed = match (&ctx.conversation, &job.profile_name) {
        (None, _) => true,
        (Some(c), Some(n)) => c.profile_name.as_deref() != Some(n.as_str()),
        (Some(_), None) => false,
    };
    let contact = if name_changed {
        match state
            .store
            .contact_from_profile(&job.tenant_id, peer, job.profile_name.as_deref(), now)
            .await?
        {
            UpsertOutcome::Created(c) | UpsertOutcome::Updated(c) | UpsertOutcome::Unchanged(c) => {
                Some(c)
            }
            UpsertOutcome::Failed(why) => {
                tracing::warn!(%why, "no contact for the customer");
                ctx.contact.clone()
            }
        }
    } else {
        ctx.contact.clone()
    };
    Ok(contact.map(|c| ContactRef {
        id: c.id,
        name: c.name,
    }))
}

/// Counts a message this attempt stored (once: a redelivery finds it stored), and the
/// conversation it opened (new, or resolved before). A separate write after the
/// transaction, not an item in it: every inbound message of a device's half hour adds to the
/// same counter item, and transactions on one item conflict with each other.
async fn count_stored(
    state: &AppState,
    tenant_id: &str,
    device_id: &str,
    before: Option<&Conversation>,
    at: DateTime<Utc>,
) {
    let mut tally = Tally::default();
    tally.inbound();
    if before.is_none_or(|c| c.status == ConversationStatus::Resolved) {
        tally.conversation_opened();
    }
    let to = CountAt {
        tenant_id,
        device_id,
        at,
    };
    crate::services::analytics::count(state, to, &tally).await;
}

/// Step 5: `handling = done`. Tried a few times; a mark that never lands leaves the claim to
/// go stale, and a later copy of the job that takes it over finds the replies already sent
/// (idempotency keys).
pub async fn finish(state: &AppState, recorded: &Recorded) {
    let (tenant_id, id, now) = (&recorded.job.tenant_id, &recorded.message.id, recorded.now);
    // Each failed attempt is logged; the last failure changes nothing more.
    let _ = retry(IDEMPOTENT_CALL, |attempt| async move {
        state
            .store
            .finish_inbound(tenant_id, id, now)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, attempt, "marking the message answered failed");
                Retry::Again(e)
            })
    })
    .await;
}

fn inbound_message(
    state: &AppState,
    job: &MessageJob,
    content: &InboundContent,
    id: &str,
    sent_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Message {
    let config = &state.config;
    let media = content.media.as_ref();
    Message {
        kind: content.kind,
        // A gateway's media come with their URL on the gateway; Meta's with an id.
        media_url: media.map(|m| match job.provider {
            ProviderKind::WhatsappWeb => m.id.clone(),
            _ => media_url(
                &config.meta.graph_api_base_url,
                &config.meta.graph_api_version,
                &m.id,
            ),
        }),
        media_mimetype: media.and_then(|m| m.mime_type.clone()),
        media_file_name: media.and_then(|m| m.file_name.clone()),
        device_id: Some(job.device_id.clone()),
        provider: Some(job.provider),
        wa_message_id: Some(content.wamid.clone()),
        sent_at: Some(sent_at),
        ..Message::text(
            id.to_string(),
            job.tenant_id.clone(),
            Direction::In,
            content.from.clone(),
            content.text.clone(),
            MessageStatus::Received,
            MessageSource::Inbound,
            now,
        )
    }
}

/// The message's media downloaded once into the media bucket (`services::media`), and the
/// outcome on the message: its object key, or why it could not be kept. A media that cannot
/// be kept does not fail the job: the message is delivered with `mediaError`.
async fn keep_media(
    state: &AppState,
    job: &MessageJob,
    content: &InboundContent,
    ctx: &InboundContext,
    message: &mut Message,
) -> Result<(), RecordError> {
    let Some(media) = &content.media else {
        return Ok(());
    };
    let inbound = media::Inbound {
        tenant_id: &job.tenant_id,
        message_id: &message.id,
        kind: content.kind,
        provider: job.provider,
        media,
    };
    let Some(kept) = media::keep(state, ctx.device.as_ref(), inbound).await else {
        return Ok(());
    };
    state
        .store
        .set_inbound_media(
            &job.tenant_id,
            &message.id,
            kept.as_deref().map_err(String::as_str),
        )
        .await?;
    match kept {
        Ok(key) => message.media_key = Some(key),
        Err(e) => message.media_error = Some(e),
    }
    Ok(())
}

/// `message.received`, keyed by the WhatsApp id: publishing it again (a retried job) makes
/// no second delivery.
async fn publish_received(
    state: &AppState,
    job: &MessageJob,
    content: &InboundContent,
    message: &Message,
    sent_at: DateTime<Utc>,
) -> Result<(), RecordError> {
    let mut kind = content.kind.event_kind();
    // A kept media is reached through our signed link; one that could not be kept has none.
    let media_url = match (&message.media_key, &message.media_error) {
        (Some(_), _) => Some(
            media::signed_link(state, &job.tenant_id, &message.id, None)
                .await
                .map_err(|e| RecordError::MediaLink(e.to_string()))?,
        ),
        (None, Some(_)) => None,
        (None, None) => message.media_url.clone(),
    };
    if kind != EventKind::Text && media_url.is_none() && message.media_error.is_none() {
        kind = EventKind::Text;
    }
    let text = if kind == EventKind::Text {
        content.describe()
    } else {
        content.text.clone().unwrap_or_default()
    };
    let event = WebhookEvent::MessageReceived(MessageReceived {
        device_id: job.device_id.clone(),
        from: content.from.clone(),
        to: job.business_number.clone(),
        text,
        message_id: content.wamid.clone(),
        kind,
        media_url: if kind == EventKind::Text {
            None
        } else {
            media_url
        },
        media_error: message.media_error.clone(),
        timestamp: sent_at.timestamp(),
    });
    let key = format!("received:{}", content.wamid);
    let (event, key) = (&event, key.as_str());
    retry(IDEMPOTENT_CALL, |_| async move {
        events::publish_with_key(state, &job.tenant_id, event.clone(), key)
            .await
            .map(drop)
            .map_err(Retry::Again)
    })
    .await
    .map_err(RecordError::Event)
}

/// What an inbound message item holds besides the [`Message`] fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundExtra {
    /// Meta's `type`, as sent.
    wa_type: String,
    conversation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_name: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    business_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_id: Option<String>,
    /// The JSON of a message of a type this platform does not understand.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

impl InboundExtra {
    fn of(c: &InboundContent, job: &MessageJob, conversation_id: &str) -> Self {
        InboundExtra {
            wa_type: c.wa_type.clone(),
            conversation_id: conversation_id.to_string(),
            profile_name: job.profile_name.clone(),
            business_number: job.business_number.clone(),
            media_id: c.media.as_ref().map(|m| m.id.clone()),
            media_sha256: c.media.as_ref().and_then(|m| m.sha256.clone()),
            location: c.location.clone(),
            reply_id: c.reply_id.clone(),
            context_id: c.context_id.clone(),
            raw: c.raw.clone(),
        }
    }
}
