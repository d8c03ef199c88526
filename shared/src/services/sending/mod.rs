//! Sending one outbound message: the flow behind `POST /api/public/v1/send` and
//! `/send-media`, and what campaigns and automatic replies are to call as well.
//!
//! Round trips (after authentication, which is one conditional write):
//! 1. At once: with an `Idempotency-Key` (or a caller-chosen id: campaigns), record the
//!    message as `pending` with the claim in the same transaction; find the device, check
//!    the media URL, take an outbound unit (quotas), read the 24-hour window (free-form
//!    content; enforced for Cloud API devices).
//! 2. The provider call (a Cloud API device's token comes from Secrets Manager, cached per
//!    instance: one more call the first time an instance sends from that device).
//! 3. Record `sent` (with WhatsApp's id) or `failed` (with the reason) on the message; a send
//!    without a pending record writes the whole message here, once.
//!
//! A send without a key and without a caller-chosen id writes no pending record: nobody can
//! ask about it before its answer, and it saves a write unit per send. What that gives up:
//! if the instance dies between the provider's answer and this write (or the write fails
//! after its retries), the message has no record at all instead of one stuck in `pending`.
//! Such a send's id is computed from WhatsApp's id (`domain::messages::id_from_wamid`), so
//! statuses and lookups by WhatsApp's id read it by key and it writes no WhatsApp-id index
//! entry; the UUIDv7 drawn when the request came in is its place in the history (and its
//! id when it failed, or when the computed id is taken).
//!
//! A send that stops before the provider (no device, bad media URL, cap reached) leaves no
//! message and releases its claim. A provider refusal leaves a `failed` message, answered
//! with a non-2xx error that carries its id.

pub mod conversation;
pub mod device;
pub mod window;

use crate::adapters::providers::{Content, OutboundMessage, ProviderError};
use crate::domain::analytics::CountsAs;
use crate::domain::devices::ProviderKind;
use crate::domain::media::MediaKind;
use crate::domain::messages::{id_from_wamid, MessageKind};
use crate::domain::messages::{MessageStatus, IDEMPOTENCY_TTL_SECS};
use crate::domain::phone::Phone;
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::quota::{cap_for, limit_reached_message, Limit};
use crate::domain::time::iso;
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::store::api_keys::Principal;
use crate::store::messages::{
    Completion, CreateOutcome, Direction, Failure, IdempotencyClaim, Message, MessageSource,
    StatusOutcome, StatusUpdate,
};
use crate::store::usage::{Reservation, Reserve};
use chrono::{DateTime, Utc};
use device::DeviceError;
use std::time::Duration;

/// Who a send is for: the tenant, the plan whose caps apply, and the API key that asked
/// (none for campaigns' and automatic replies' sends made by the system).
#[derive(Debug, Clone)]
pub struct Sender {
    pub tenant_id: String,
    pub plan: Plan,
    pub limits: LimitOverrides,
    pub api_key_id: Option<String>,
    /// The signed-in team member who asked, if any.
    pub user_id: Option<String>,
}

impl From<&Principal> for Sender {
    fn from(p: &Principal) -> Self {
        Sender {
            tenant_id: p.tenant_id.clone(),
            plan: p.plan,
            limits: p.limits,
            api_key_id: Some(p.key_id.clone()).filter(|k| !k.is_empty()),
            user_id: p.user.as_ref().map(|u| u.user_id.clone()),
        }
    }
}

/// Why a send stopped before the provider (nothing went out, no unit was kept). A provider
/// refusal is not an error: it is a [`Failed`] outcome with a recorded message.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("This Idempotency-Key was already used with a different request: use a new key for a new message")]
    IdempotencyKeyReused,
    #[error(
        "A request with this Idempotency-Key is still being processed (message {0}): retry shortly"
    )]
    IdempotencyInProgress(String),
    #[error("The first request with this Idempotency-Key did not finish: whether message {0} went out is unknown")]
    IdempotencyOutcomeUnknown(String),
    /// The tenant's daily outbound cap; the message names the limit and the plan.
    #[error("{0}")]
    DailyLimit(String),
    #[error(transparent)]
    Device(DeviceError),
    /// The media URL failed its check; the message says why.
    #[error("{0}")]
    BadMedia(String),
    #[error("Templates are for Cloud API devices: device {0} is a WhatsApp Web device, which sends text and media without templates or a 24-hour window")]
    TemplateOnWhatsappWeb(String),
    /// A template send refused by the check against the device's synced templates.
    #[error(transparent)]
    Template(crate::services::templates::TemplateRefusal),
    /// The recipient opted out (and this kind of send honours it): nothing was sent.
    #[error("{}", crate::domain::consent::opted_out_message(.0))]
    OptedOut(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A store failure while finding the device stays a store failure; the rest say which
/// device could not be used.
impl From<DeviceError> for SendError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Store(e) => SendError::Store(e),
            e => SendError::Device(e),
        }
    }
}

impl SendError {
    /// The send cannot go through the device it names (or any device): a campaign pauses
    /// until one is connected.
    pub fn is_device_unavailable(&self) -> bool {
        matches!(self, SendError::Device(_))
    }
}

/// A send, validated.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub to: Phone,
    pub content: Content,
    /// The text recorded on the message (a text's body, a caption, a template send's
    /// `message`).
    pub text: Option<String>,
    /// `None`: the tenant's first connected device.
    pub device_id: Option<String>,
    /// For media: the check the URL must pass before anything is sent.
    pub media_check: Option<MediaCheck>,
    pub idempotency: Option<Idempotency>,
    pub source: MessageSource,
    /// Whether the recipient's opt-out stops this send.
    pub consent: ConsentCheck,
    /// What the analytics count the message as when its send completes.
    pub counts_as: CountsAs,
}

/// How a send honours the recipient's opt-out (read in the send's first round, with one
/// `BatchGetItem` of the recipient's phone claim and the tenant's opt-out settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentCheck {
    /// `/send`, `/send-media`, inbox replies: refused unless the tenant's
    /// `blockDirectSends` is off.
    Direct,
    /// Campaigns, keyword rules, AI Smart Reply: always refused.
    Always,
    /// The opt-out or opt-in confirmation itself: not checked.
    Skip,
}
#[derive(Debug, Clone)]
pub struct MediaCheck {
    pub kind: MediaKind,
    pub url: reqwest::Url,
    pub declared_mimetype: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key_hash: String,
    pub fingerprint: String,
}

/// The provider accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub id: String,
    pub wa_message_id: String,
    pub to: String,
}

/// The provider did not take the message; it is recorded as `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub id: String,
    pub http_status: u16,
    pub error: String,
    pub code: Option<i64>,
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReply {
    pub outcome: Result<Sent, Failed>,
    /// The answer of an earlier request with the same `Idempotency-Key`.
    pub replayed: bool,
}

/// A `pending` message older than this whose request never finished has an unknown outcome.
const STALE_PENDING_SECS: i64 = 60;

pub async fn send(
    state: &AppState,
    caller: &Sender,
    req: SendRequest,
) -> Result<SendReply, SendError> {
    send_new(state, caller, req, None).await
}

/// [`send`] asked by an authenticated caller, whose API key's copy says whether the
/// tenant's webhook wants `message.status` (no read of the webhook for the send's event).
pub async fn send_by(
    state: &AppState,
    caller: &Principal,
    req: SendRequest,
) -> Result<SendReply, SendError> {
    send_new(state, &Sender::from(caller), req, caller.status_events).await
}

/// A send under a new UUIDv7, recorded first only with an `Idempotency-Key`.
async fn send_new(
    state: &AppState,
    caller: &Sender,
    req: SendRequest,
    status_events: Option<bool>,
) -> Result<SendReply, SendError> {
    let pending = req.idempotency.is_some();
    let id = uuid::Uuid::now_v7().to_string();
    // Boxed: a send's future is large, and callers run several side by side.
    Box::pin(send_as(state, caller, req, id, pending, status_events)).await
}

/// [`send`] with the message id chosen by the caller (a new UUIDv7), for callers that must
/// know it before the provider is called: a campaign records it on its claim of the
/// recipient, so a claim whose process died can be settled from the message record.
pub async fn send_with_id(
    state: &AppState,
    caller: &Sender,
    req: SendRequest,
    id: String,
) -> Result<SendReply, SendError> {
    Box::pin(send_as(state, caller, req, id, true, None)).await
}

/// A send; with `pending`, its message is recorded before the provider is called under
/// `id`, else only once it completes, under the id computed from WhatsApp's (`id` when
/// there is none, or when that one is taken; `id` is its history position either way).
async fn send_as(
    state: &AppState,
    caller: &Sender,
    req: SendRequest,
    id: String,
    pending: bool,
    status_events: Option<bool>,
) -> Result<SendReply, SendError> {
    let tenant_id = caller.tenant_id.as_str();
    let now = state.clock.now();
    let message = new_message(&id, caller, &req, now);
    let claim = req.idempotency.as_ref().map(|i| IdempotencyClaim {
        tenant_id: tenant_id.to_string(),
        key_hash: i.key_hash.clone(),
        fingerprint: i.fingerprint.clone(),
        message_id: id.clone(),
        created_at: now,
        expires_at: now.timestamp() + IDEMPOTENCY_TTL_SECS,
    });

    // Round 1: everything the provider call needs, at once.
    let media = async {
        match &req.media_check {
            Some(m) => Some(
                state
                    .media
                    .check(m.kind, &m.url, m.declared_mimetype.as_deref())
                    .await,
            ),
            None => None,
        }
    };
    let consent = async {
        match req.consent {
            ConsentCheck::Skip => Ok(None),
            _ => state
                .store
                .send_consent(tenant_id, req.to.as_str())
                .await
                .map(Some),
        }
    };
    let created = async {
        match pending {
            true => {
                state
                    .store
                    .create_outbound(&message, claim.as_ref(), now.timestamp())
                    .await
            }
            false => Ok(CreateOutcome::Created),
        }
    };
    let (created, device, media, unit, window, consent) = tokio::join!(
        created,
        device::resolve(state, tenant_id, req.device_id.as_deref()),
        media,
        reserve_outbound_unit(state, caller, now),
        window::read(state, tenant_id, req.to.as_str()),
        consent,
    );
    let claim_hash = claim.as_ref().map(|c| c.key_hash.as_str());
    // The record a stopped send discards, if one was written.
    let stored_id = pending.then_some(id.as_str());
    let release_unit = |unit: Result<OutboundUnit, SendError>| async move {
        if let Ok(u) = unit {
            refund_outbound_unit(state, &u).await;
        }
    };
    match created {
        Err(e) => {
            release_unit(unit).await;
            return Err(e.into());
        }
        Ok(CreateOutcome::AlreadyClaimed(first)) => {
            release_unit(unit).await;
            let fingerprint = claim.as_ref().map(|c| c.fingerprint.as_str());
            if Some(first.fingerprint.as_str()) != fingerprint {
                return Err(SendError::IdempotencyKeyReused);
            }
            return replay(state, tenant_id, &first.message_id, now).await;
        }
        Ok(CreateOutcome::Created) => {}
    }
    let unit = match unit {
        Ok(u) => u,
        Err(e) => {
            if pending {
                if let Err(d) = state
                    .store
                    .discard_pending(tenant_id, &id, claim_hash)
                    .await
                {
                    tracing::error!(message_id = %id, error = %d, "discarding a refused send failed");
                }
            }
            return Err(e);
        }
    };
    // The recipient's opt-out: refused before the device, the media or the provider.
    let refused = match (req.consent, consent) {
        (_, Err(e)) => Some(SendError::Store(e)),
        (ConsentCheck::Always, Ok(Some(c))) if c.opted_out => Some(opted_out(&req)),
        (ConsentCheck::Direct, Ok(Some(c))) if c.opted_out && c.block_direct_sends => {
            Some(opted_out(&req))
        }
        _ => None,
    };
    if let Some(e) = refused {
        return Err(abandon(state, tenant_id, stored_id, claim_hash, &unit, e).await);
    }
    let device = match device {
        Ok(d) => d,
        Err(e) => {
            return Err(abandon(state, tenant_id, stored_id, claim_hash, &unit, e.into()).await)
        }
    };
    if device.provider == ProviderKind::WhatsappWeb && matches!(req.content, Content::Template(_)) {
        let e = SendError::TemplateOnWhatsappWeb(device.id.clone());
        return Err(abandon(state, tenant_id, stored_id, claim_hash, &unit, e).await);
    }
    // A template is checked against the device's synced templates, its variables become
    // the body's parameters (`services::templates::check_send`).
    let content = match &req.content {
        Content::Template(t) => {
            match crate::services::templates::check_send(state, &device, t).await {
                Ok(Ok(filled)) => Content::Template(filled),
                Ok(Err(refusal)) => {
                    let e = SendError::Template(refusal);
                    return Err(abandon(state, tenant_id, stored_id, claim_hash, &unit, e).await);
                }
                Err(e) => {
                    let e = SendError::Store(e);
                    return Err(abandon(state, tenant_id, stored_id, claim_hash, &unit, e).await);
                }
            }
        }
        other => other.clone(),
    };
    // The 24-hour window (Cloud API, free-form content): a closed window is recorded and
    // answered like Meta's own refusal, without calling Meta. See `window`.
    let has_conversation = conversation::on_device(&window, &device.id);
    let window_refusal = window::check(&device, req.to.as_str(), &req.content, &window, now).err();
    let checked = match media {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(m)) => {
            let e = SendError::BadMedia(m);
            return Err(abandon(state, tenant_id, stored_id, claim_hash, &unit, e).await);
        }
    };

    // Round 2: the provider.
    let outbound = OutboundMessage {
        tenant_id: tenant_id.to_string(),
        message_id: pending.then(|| id.clone()),
        to: req.to.to_string(),
        content,
    };
    let result = match window_refusal {
        Some(refusal) => Err(refusal),
        None => {
            state
                .providers
                .for_kind(device.provider)
                .send(&device, &outbound)
                .await
        }
    };

    // Round 3: record the outcome (and give the unit back if nothing went out).
    let (status, failure, wa_message_id) = match &result {
        Ok(accepted) => (
            MessageStatus::Sent,
            None,
            Some(accepted.wa_message_id.clone()),
        ),
        Err(e) => (MessageStatus::Failed, Some(failure_of(e)), None),
    };
    let done_at = state.clock.now();
    let update = StatusUpdate {
        tenant_id: tenant_id.to_string(),
        message_id: id.clone(),
        status,
        at: iso(done_at),
        failure,
        completion: Some(Completion {
            peer: req.to.to_string(),
            device_id: device.id.clone(),
            provider: device.provider,
            wa_message_id,
            media_mimetype: checked.map(|c| c.mimetype),
        }),
    };
    let refund = async {
        if let Err(e) = &result {
            if e.certainly_not_sent() {
                refund_outbound_unit(state, &unit).await;
            }
        }
    };
    let touch = Box::pin(async {
        if result.is_ok() {
            conversation::touch(state, &message, &device.id, has_conversation).await;
        }
    });
    let once = (!pending).then(|| {
        let mut m = message.clone().completed(&update, done_at);
        if let Some(w) = &m.wa_message_id {
            m.id = id_from_wamid(tenant_id, w);
        }
        m
    });
    let update = StatusUpdate {
        message_id: once.as_ref().map_or(id.clone(), |m| m.id.clone()),
        ..update
    };
    let (recorded, (), ()) = tokio::join!(
        record_completion(
            state,
            update,
            &req.counts_as,
            once.as_ref(),
            &id,
            status_events
        ),
        refund,
        touch
    );
    // The id the message was stored under (the computed one, unless it was taken).
    let id = match &recorded {
        Ok(StatusOutcome::Changed(m, _) | StatusOutcome::Unchanged(m)) if !pending => m.id.clone(),
        _ => once.map_or(id, |m| m.id),
    };
    if let Err(e) = recorded {
        // The provider has the message: answering 500 would invite a duplicate send.
        tracing::error!(message_id = %id, error = %e, stored_before = pending, "recording the send's outcome failed; the message stays pending, or has no record if none was stored before");
    }
    if result.is_ok() && device.provider == ProviderKind::WhatsappWeb {
        crate::services::gateway::acks::schedule_check(state, tenant_id, &id).await;
    }
    let outcome = match result {
        Ok(accepted) => {
            tracing::info!(message_id = %id, device_id = %device.id, provider = device.provider.as_str(), "message sent");
            Ok(Sent {
                id,
                wa_message_id: accepted.wa_message_id,
                to: req.to.into(),
            })
        }
        Err(e) => Err(Failed {
            http_status: e.http_status(),
            retry_after: e.retry_after(),
            code: e.code,
            error: e.message,
            id,
        }),
    };
    Ok(SendReply {
        outcome,
        replayed: false,
    })
}

fn opted_out(req: &SendRequest) -> SendError {
    tracing::info!(to = %req.to, source = ?req.source, "send refused: the recipient opted out");
    SendError::OptedOut(req.to.to_string())
}

fn failure_of(e: &ProviderError) -> Failure {
    Failure {
        error: e.message.clone(),
        code: e.code,
        response_status: Some(e.http_status()),
        retry_after: e.retry_after(),
    }
}

/// Records the send's outcome, retrying briefly: the provider already has the message.
/// `once`: the whole message, for a send that stored nothing before the provider, its
/// history entry at `position`.
async fn record_completion(
    state: &AppState,
    update: StatusUpdate,
    counts_as: &CountsAs,
    once: Option<&Message>,
    position: &str,
    status_events: Option<bool>,
) -> Result<StatusOutcome, crate::store::StoreError> {
    use crate::services::statuses::{record_as, record_once};
    retry(Backoff::new(3).base(Duration::from_millis(50)), |attempt| {
        let update = update.clone();
        async move {
            match once {
                Some(m) => record_once(state, m, position, update, counts_as, status_events).await,
                None => record_as(state, update, counts_as, status_events).await,
            }
            .map_err(|e| {
                tracing::warn!(error = %e, attempt, "recording a send's outcome failed");
                Retry::Again(e)
            })
        }
    })
    .await
}

/// Stops a send before the provider: no message is left (`stored_id`: the pending record,
/// if one was written), the claim is released, the unit is given back.
async fn abandon(
    state: &AppState,
    tenant_id: &str,
    stored_id: Option<&str>,
    claim_hash: Option<&str>,
    unit: &OutboundUnit,
    reason: SendError,
) -> SendError {
    let discard = async {
        match stored_id {
            Some(id) => state.store.discard_pending(tenant_id, id, claim_hash).await,
            None => Ok(()),
        }
    };
    let (discarded, ()) = tokio::join!(discard, refund_outbound_unit(state, unit));
    if let Err(e) = discarded {
        tracing::error!(message_id = ?stored_id, error = %e, "discarding a stopped send failed");
    }
    reason
}

/// The answer the first request with this `Idempotency-Key` got.
async fn replay(
    state: &AppState,
    tenant_id: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<SendReply, SendError> {
    let in_progress = || SendError::IdempotencyInProgress(message_id.to_string());
    let Some(m) = state.store.get_message(tenant_id, message_id).await? else {
        return Err(in_progress());
    };
    let outcome = match (m.status, m.response_status, &m.wa_message_id) {
        (MessageStatus::Pending, _, _) => {
            let started = m.created_at;
            if (now - started).num_seconds() > STALE_PENDING_SECS {
                return Err(SendError::IdempotencyOutcomeUnknown(message_id.to_string()));
            }
            return Err(in_progress());
        }
        (_, Some(status), _) => Err(Failed {
            id: m.id,
            http_status: status,
            error: m
                .error
                .unwrap_or_else(|| "The message could not be sent".into()),
            code: m.error_code,
            retry_after: m.retry_after,
        }),
        (_, None, Some(wamid)) => Ok(Sent {
            id: m.id.clone(),
            wa_message_id: wamid.clone(),
            to: m.peer,
        }),
        (_, None, None) => Err(Failed {
            id: m.id,
            http_status: 502,
            error: m
                .error
                .unwrap_or_else(|| "The message could not be sent".into()),
            code: m.error_code,
            retry_after: None,
        }),
    };
    Ok(SendReply {
        outcome,
        replayed: true,
    })
}

// The daily outbound cap: `reserve_outbound_unit` runs in the same concurrent
// round as the pending record, before the provider is called — one conditional write, no
// read. `refund_outbound_unit` runs when the send stops before the provider, when a retry
// turns out to be an `Idempotency-Key` replay, and when the provider certainly did not take
// the message (`ProviderError::certainly_not_sent`: every failure but a timeout).

/// One unit of the tenant's daily outbound count, taken for this send.
#[derive(Debug, Clone)]
pub struct OutboundUnit {
    reservation: Reservation,
}

/// Takes one outbound unit, or refuses the send (409 naming the limit and the plan).
pub async fn reserve_outbound_unit(
    state: &AppState,
    caller: &Sender,
    now: DateTime<Utc>,
) -> Result<OutboundUnit, SendError> {
    let cap = cap_for(caller.plan, &caller.limits, Limit::MessagesPerDay);
    match state
        .store
        .reserve(&caller.tenant_id, Limit::MessagesPerDay, cap, now)
        .await?
    {
        Reserve::Granted(reservation) => Ok(OutboundUnit { reservation }),
        Reserve::Exceeded { cap } => Err(SendError::DailyLimit(limit_reached_message(
            Limit::MessagesPerDay,
            cap,
            caller.plan,
        ))),
    }
}

/// Gives a unit back. A failure is logged: the counter then over-counts by one, which
/// never lets a tenant exceed its cap.
pub async fn refund_outbound_unit(state: &AppState, unit: &OutboundUnit) {
    if let Err(e) = state.store.release(&unit.reservation).await {
        tracing::error!(error = %e, tenant_id = %unit.reservation.tenant_id, "refunding an outbound unit failed");
    }
}

/// The record of a new outbound message, before the provider has seen it.
fn new_message(id: &str, caller: &Sender, req: &SendRequest, at: DateTime<Utc>) -> Message {
    let (kind, media_url, file_name, template_name, template_language) = match &req.content {
        Content::Text { .. } => (MessageKind::Text, None, None, None, None),
        Content::Media {
            kind,
            link,
            file_name,
            ..
        } => (
            MessageKind::from(*kind),
            Some(link.clone()),
            file_name.clone(),
            None,
            None,
        ),
        Content::Template(t) => (
            MessageKind::Template,
            None,
            None,
            Some(t.name.clone()),
            Some(t.language.clone()),
        ),
    };
    Message {
        kind,
        media_url,
        media_mimetype: req
            .media_check
            .as_ref()
            .and_then(|m| m.declared_mimetype.clone()),
        media_file_name: file_name,
        template_name,
        template_language,
        campaign_id: match &req.counts_as {
            CountsAs::Campaign { id, .. } => Some(id.clone()),
            _ => None,
        },
        device_id: req.device_id.clone(),
        api_key_id: caller.api_key_id.clone(),
        user_id: caller.user_id.clone(),
        ..Message::text(
            id.to_string(),
            caller.tenant_id.clone(),
            Direction::Out,
            req.to.to_string(),
            req.text.clone(),
            MessageStatus::Pending,
            req.source,
            at,
        )
    }
}
