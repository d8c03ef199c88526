//! Messages and `Idempotency-Key` claims.
//!
//! - A message lives in a partition of its own, `TENANT#<id>#MSG#<uuid>` / `MSG`, so reads
//!   and status updates never contend on a tenant-wide key. A send stored once, with its
//!   outcome, is keyed by an id computed from WhatsApp's id
//!   ([`crate::domain::messages::id_from_wamid`]): lookups by WhatsApp's id (Meta's and
//!   WAHA's statuses, `GET /messages/{wamid}`) read it by key. Every other message with a
//!   WhatsApp id (pending-first sends, campaigns, inbound) is found through
//!   `GSI3PK = TENANT#<id>#WAMID#<wamid>`. GSI3 holds keys only, so a status update writes
//!   nothing to it; messages stored before it existed are found on GSI1, where they were.
//! - `statusRank` (0 pending, 1 sent, 2 delivered, 3 read, 4 failed) lets one conditional
//!   write refuse a status that would move a message backwards.
//! - A claim `TENANT#<id>#IDEMPOTENCY#<sha256(key)>` / `IDEMPOTENCY` points at the message
//!   the first request created, for 24 hours (`expiresAt`, TTL).

use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Query, Returns, Written};
use super::{from_item, n, s, Item, Store, StoreError, StoreResult};
use crate::domain::devices::ProviderKind;
use crate::domain::messages::id_from_wamid;
use crate::domain::messages::MessageKind;
use crate::domain::messages::MessageStatus;
use crate::domain::time;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

/// What sent an outbound message. Every outbound message counts against the daily cap,
/// whatever its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageSource {
    /// `POST /api/public/v1/send` or `/send-media`.
    Api,
    /// A bulk campaign's worker.
    Campaign,
    /// A customer's message (Meta's webhook, or the sandbox's inbound endpoint).
    Inbound,
    /// A keyword auto-reply rule's response.
    KeywordReply,
    /// An AI Smart Reply.
    AiReply,
    /// The away message, to a customer who wrote outside the working hours.
    AwayReply,
    /// WhatsApp Web: typed on the phone itself (WAHA reports it; we did not send it).
    Phone,
    /// The confirmation of a customer's opt-out or opt-in.
    ConsentReply,
    /// A reply from the Team Inbox.
    Inbox,
}

/// A message as stored (camelCase attributes; the keys are added around it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub tenant_id: String,
    pub direction: Direction,
    /// The other party's number, digits only.
    pub peer: String,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// The text, or a media message's caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_mimetype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_file_name: Option<String>,
    /// An inbound media kept in the media bucket: its object key (`docs/media.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_key: Option<String>,
    /// Why an inbound media could not be kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_language: Option<String>,
    /// The campaign that sent it, so its delivered and read reports count for the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Known once the device is resolved (a send without `deviceId` records it on completion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderKind>,
    pub status: MessageStatus,
    /// WhatsApp's id (`wamid.…`, or the sandbox's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_message_id: Option<String>,
    /// Why the message failed, in words a client can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The provider's error code (Meta's, e.g. 131030).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// The HTTP status the failed send was answered with (for `Idempotency-Key` replays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    pub source: MessageSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// The signed-in team member who sent it (inbox replies, sends with a user's token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub read_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub failed_at: Option<DateTime<Utc>>,
}

impl Message {
    /// A text message created at `at` with nothing sent, delivered or failed yet; the
    /// caller sets what else it knows (device, provider, WhatsApp's id, times).
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        id: String,
        tenant_id: String,
        direction: Direction,
        peer: String,
        text: Option<String>,
        status: MessageStatus,
        source: MessageSource,
        at: DateTime<Utc>,
    ) -> Message {
        Message {
            id,
            tenant_id,
            direction,
            peer,
            kind: MessageKind::Text,
            text,
            media_url: None,
            media_mimetype: None,
            media_file_name: None,
            media_key: None,
            media_error: None,
            template_name: None,
            template_language: None,
            campaign_id: None,
            device_id: None,
            provider: None,
            status,
            wa_message_id: None,
            error: None,
            error_code: None,
            response_status: None,
            retry_after: None,
            source,
            api_key_id: None,
            user_id: None,
            created_at: at,
            updated_at: at,
            sent_at: None,
            delivered_at: None,
            read_at: None,
            failed_at: None,
        }
    }
}

fn message_item(m: &Message) -> StoreResult<Item> {
    let mut item = keyed(m, message_pk(&m.tenant_id, &m.id), MESSAGE_SK)?;
    item.insert("statusRank".into(), n(m.status.rank()));
    if let Some(w) = &m.wa_message_id {
        // A message keyed by its WhatsApp id is found by key: no index entry.
        if m.id != id_from_wamid(&m.tenant_id, w) {
            item.insert(GSI3PK.into(), s(wamid_index_pk(&m.tenant_id, w)));
        }
    }
    // The conversation history (AI context, inbox): every message with its peer, except
    // an outbound one still `pending`: its completion adds it (see `history_keys`).
    if m.status != MessageStatus::Pending {
        item.insert(GSI2PK.into(), s(history_gsi2pk(&m.tenant_id, &m.peer)));
        item.insert(GSI2SK.into(), s(&m.id));
    }
    Ok(item)
}

/// A message as an inbound item: the message's attributes, its keys, and `extra`.
pub(crate) fn message_item_with(m: &Message, extra: Item) -> StoreResult<Item> {
    let mut item = message_item(m)?;
    for (k, v) in extra {
        item.entry(k).or_insert(v);
    }
    Ok(item)
}

/// The first request made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyClaim {
    #[serde(skip)]
    pub tenant_id: String,
    pub key_hash: String,
    /// Endpoint and canonical body: a retry must match it.
    pub fingerprint: String,
    pub message_id: String,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    /// Unix seconds (TTL).
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created,
    /// The key was used before (and has not expired): the first request's claim.
    AlreadyClaimed(IdempotencyClaim),
}

/// Why a message failed, as recorded on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub code: Option<i64>,
    pub response_status: Option<u16>,
    pub retry_after: Option<u64>,
}

/// What the send itself records when it completes (pending → sent / failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The recipient: the completion puts the message in its conversation's history.
    pub peer: String,
    pub device_id: String,
    pub provider: ProviderKind,
    pub wa_message_id: Option<String>,
    pub media_mimetype: Option<String>,
}

/// A status change. With `completion` it is the send's own (allowed only from `pending`);
/// without, a provider report (allowed only forward from `sent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub tenant_id: String,
    pub message_id: String,
    pub status: MessageStatus,
    /// When it happened (the provider's timestamp when it gives one).
    pub at: String,
    pub failure: Option<Failure>,
    pub completion: Option<Completion>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatusOutcome {
    /// Applied: the message as it is now, and the rank it had before (0: pending, so this
    /// was its send completing).
    Changed(Message, u8),
    /// Refused as stale, a duplicate, or too early (still `pending`): the message as it is.
    Unchanged(Message),
    NotFound,
}

impl Message {
    /// The message as its send's completion leaves it: what [`Store::update_message_status`]
    /// sets with a `completion`, for a send whose only record is written at its end
    /// ([`Store::put_completed`]).
    pub fn completed(mut self, u: &StatusUpdate, at: DateTime<Utc>) -> Message {
        self.status = u.status;
        self.updated_at = at;
        match u.status {
            MessageStatus::Failed => self.failed_at = Some(at),
            _ => self.sent_at = Some(at),
        }
        if let Some(f) = &u.failure {
            self.error = Some(f.error.clone());
            self.error_code = f.code;
            self.response_status = f.response_status;
            self.retry_after = f.retry_after;
        }
        if let Some(c) = &u.completion {
            self.peer = c.peer.clone();
            self.device_id = Some(c.device_id.clone());
            self.provider = Some(c.provider);
            if c.wa_message_id.is_some() {
                self.wa_message_id = c.wa_message_id.clone();
            }
            if c.media_mimetype.is_some() {
                self.media_mimetype = c.media_mimetype.clone();
            }
        }
        self
    }
}

impl Store {
    /// A send's only record, written when it completes (`sent` or `failed`, from
    /// [`Message::completed`]): one put of the item with its history entry (at `position`,
    /// the send's UUIDv7) and, unless its id is the one computed from its WhatsApp id, its
    /// WhatsApp-id index entry, instead of a pending put and the completion's update.
    /// Never overwrites: an id already taken by our own earlier attempt (same position) is
    /// this send recorded twice (nothing changed); taken by another message (WhatsApp
    /// reused its id), the message is stored under `position` with its index entry.
    /// [`StatusOutcome::Changed`] carries the message as stored, with the id it got.
    pub async fn put_completed(
        &self,
        message: &Message,
        position: &str,
    ) -> StoreResult<StatusOutcome> {
        let mut message = message.clone();
        loop {
            let mut item = message_item(&message)?;
            if let Some(at) = item.get_mut(GSI2SK) {
                *at = s(position);
            }
            let written = self
                .put_if_written(item, Cond::absent().returning_old())
                .await?;
            let old = match written {
                Written::Applied(_) => {
                    return Ok(StatusOutcome::Changed(
                        message,
                        MessageStatus::Pending.rank(),
                    ))
                }
                Written::Refused(old) => old,
            };
            let ours = old.as_ref().and_then(|o| o.get(GSI2SK)) == Some(&s(position));
            if ours || message.id == position {
                return Ok(match old {
                    Some(item) => StatusOutcome::Unchanged(from_item(item)?),
                    None => match self.get_message(&message.tenant_id, &message.id).await? {
                        Some(m) => StatusOutcome::Unchanged(m),
                        None => StatusOutcome::NotFound,
                    },
                });
            }
            tracing::warn!(message_id = %message.id, wa_message_id = ?message.wa_message_id, "the id computed from the WhatsApp id is taken: stored under the send's own id");
            message.id = position.to_string();
        }
    }

    /// Records a new outbound message as `pending`, and with `claim` takes the
    /// `Idempotency-Key` in the same transaction (an expired claim is taken over).
    pub async fn create_outbound(
        &self,
        message: &Message,
        claim: Option<&IdempotencyClaim>,
        now_epoch: i64,
    ) -> StoreResult<CreateOutcome> {
        let item = message_item(message)?;
        let new = || Cond::absent();
        let Some(claim) = claim else {
            return match self.put_if(item, new()).await? {
                true => Ok(CreateOutcome::Created),
                false => Err(StoreError::Contention("create message")),
            };
        };
        let claim_pk = &idempotency_pk(&claim.tenant_id, &claim.key_hash);
        let claim_item = keyed(claim, claim_pk, IDEMPOTENCY_SK)?;
        let expired = Cond::new("attribute_not_exists(PK) OR expiresAt < :now")
            .value(":now", n(now_epoch))
            .returning_old();
        let writes = vec![
            table::put(&self.table, claim_item, Some(expired))?,
            table::put(&self.table, item, Some(new()))?,
        ];
        let writes = &writes;
        table::retry("claim idempotency key", |_| async move {
            let commit = self.commit(writes.clone()).await?;
            if commit == Commit::Done {
                return Ok(Some(CreateOutcome::Created));
            }
            if let Some(old) = commit.old_at(0) {
                let existing = match old {
                    Some(item) => Some(from_item::<IdempotencyClaim>(item)?),
                    None => self.get(claim_pk, IDEMPOTENCY_SK).await?,
                };
                // `None`: deleted in between (a released claim): try again.
                return Ok(existing.map(|mut c| {
                    c.tenant_id = claim.tenant_id.clone();
                    CreateOutcome::AlreadyClaimed(c)
                }));
            }
            // Lost: another request with the same key is writing right now.
            commit.done_or_lost("claim idempotency key").map(|_| None)
        })
        .await
    }

    /// Undoes [`Store::create_outbound`] for a send that stopped before reaching the
    /// provider: the pending message goes, and the claim is released so a retry can proceed.
    pub async fn discard_pending(
        &self,
        tenant_id: &str,
        message_id: &str,
        claim_key_hash: Option<&str>,
    ) -> StoreResult<()> {
        // A refused delete is one already done (or a message already sent): nothing to undo.
        let message_pk = message_pk(tenant_id, message_id);
        let message = self.delete_if(
            &message_pk,
            MESSAGE_SK,
            Some(
                Cond::new("#st = :pending")
                    .name("#st", "status")
                    .value(":pending", s(MessageStatus::Pending.as_str())),
            ),
        );
        let claim = async {
            let Some(hash) = claim_key_hash else {
                return Ok(true);
            };
            self.delete_if(
                &idempotency_pk(tenant_id, hash),
                IDEMPOTENCY_SK,
                Some(Cond::new("messageId = :id").value(":id", s(message_id))),
            )
            .await
        };
        let (m, c) = tokio::join!(message, claim);
        m?;
        c?;
        Ok(())
    }

    /// WhatsApp Web: a `sent` message no ack confirmed becomes `unconfirmed`. The message
    /// as it is now when it changed; `None` otherwise (acked, moved on, gone).
    pub async fn mark_unconfirmed(
        &self,
        tenant_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Message>> {
        let cond = Cond::new("#st = :sent AND attribute_not_exists(ackedAt)")
            .name("#st", "status")
            .value(":sent", s(MessageStatus::Sent.as_str()))
            .value(":unconfirmed", s(MessageStatus::Unconfirmed.as_str()))
            .value(":at", s(time::iso(now)));
        let expr = "SET #st = :unconfirmed, updatedAt = :at";
        let pk = message_pk(tenant_id, id);
        match self
            .update_if(&pk, MESSAGE_SK, expr, cond, Returns::NEW)
            .await?
        {
            Written::Applied(new) => Ok(Some(from_item(new)?)),
            Written::Refused(_) => Ok(None),
        }
    }

    /// WhatsApp Web: WhatsApp's server (or the phone) acknowledged the message. Remembered,
    /// so it is never made `unconfirmed`; one already made so is `sent` again (the message
    /// as it is now, then).
    pub async fn mark_acked(
        &self,
        tenant_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Message>> {
        let pk = message_pk(tenant_id, id);
        let cond = Cond::exists().value(":at", s(time::iso(now)));
        self.update_if(
            &pk,
            MESSAGE_SK,
            "SET ackedAt = if_not_exists(ackedAt, :at)",
            cond,
            Returns::NOTHING,
        )
        .await?;
        let cond = Cond::new("#st = :unconfirmed")
            .name("#st", "status")
            .value(":sent", s(MessageStatus::Sent.as_str()))
            .value(":unconfirmed", s(MessageStatus::Unconfirmed.as_str()))
            .value(":at", s(time::iso(now)));
        match self
            .update_if(
                &pk,
                MESSAGE_SK,
                "SET #st = :sent, updatedAt = :at",
                cond,
                Returns::NEW,
            )
            .await?
        {
            Written::Applied(new) => Ok(Some(from_item(new)?)),
            Written::Refused(_) => Ok(None),
        }
    }

    /// Stores a message that went out without us (typed on a WhatsApp Web device's phone).
    /// `false`: it was stored before.
    pub async fn record_phone_message(&self, m: &Message) -> StoreResult<bool> {
        self.put_if(message_item(m)?, Cond::absent()).await
    }

    /// A tenant's message by its id (strongly consistent).
    pub async fn get_message(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Message>> {
        self.get(&message_pk(tenant_id, id), MESSAGE_SK).await
    }

    /// A tenant's message by its WhatsApp id, eventually consistent (usually within a
    /// second of the send; as the GSI1 copy this replaces was): first by the key computed
    /// from the WhatsApp id (a send stored once: one `GetItem`), else its key from GSI3,
    /// then the message. A message stored before GSI3 existed is read from GSI1.
    pub async fn find_message_by_wamid(
        &self,
        tenant_id: &str,
        wamid: &str,
    ) -> StoreResult<Option<Message>> {
        let pk = message_pk(tenant_id, &id_from_wamid(tenant_id, wamid));
        let by_key: Option<Message> = self.get_with(&pk, MESSAGE_SK, false, None).await?;
        if let Some(m) = by_key.filter(|m| m.wa_message_id.as_deref() == Some(wamid)) {
            return Ok(Some(m));
        }
        let key = wamid_index_pk(tenant_id, wamid);
        let (keys, _) = self
            .query_items(&Query::index(GSI3, key.clone()), Some(1), None)
            .await?;
        if let Some(AttributeValue::S(pk)) = keys.first().and_then(|k| k.get(PK)) {
            return self.get_with(pk, MESSAGE_SK, false, None).await;
        }
        let (found, _) = self.query_page(&Query::index(GSI1, key), 1, None).await?;
        Ok(found.into_iter().next())
    }

    /// Applies a status change in one conditional write. Use [`crate::services::statuses::record`]
    /// rather than calling this directly: that is where status events are published.
    pub async fn update_message_status(&self, u: &StatusUpdate) -> StoreResult<StatusOutcome> {
        let mut sets = vec![
            "#st = :st".to_string(),
            "statusRank = :rank".into(),
            "updatedAt = :at".into(),
        ];
        let mut values: Vec<(&str, AttributeValue)> = vec![
            (":st", s(u.status.as_str())),
            (":rank", n(u.status.rank())),
            (":at", s(&u.at)),
        ];
        match u.status {
            MessageStatus::Pending | MessageStatus::Received | MessageStatus::Unconfirmed => {}
            MessageStatus::Sent => sets.push("sentAt = if_not_exists(sentAt, :at)".into()),
            MessageStatus::Delivered => {
                sets.push("deliveredAt = if_not_exists(deliveredAt, :at)".into())
            }
            MessageStatus::Read => {
                sets.push("readAt = if_not_exists(readAt, :at)".into());
                sets.push("deliveredAt = if_not_exists(deliveredAt, :at)".into());
            }
            MessageStatus::Failed => sets.push("failedAt = if_not_exists(failedAt, :at)".into()),
        }
        if let Some(f) = &u.failure {
            sets.push("#err = :err".into());
            values.push((":err", s(&f.error)));
            if let Some(code) = f.code {
                sets.push("errorCode = :code".into());
                values.push((":code", n(code)));
            }
            if let Some(st) = f.response_status {
                sets.push("responseStatus = :rs".into());
                values.push((":rs", n(st)));
            }
            if let Some(ra) = f.retry_after {
                sets.push("retryAfter = :ra".into());
                values.push((":ra", n(ra)));
            }
        }
        let condition = match &u.completion {
            Some(c) => {
                sets.push("deviceId = :dev".into());
                sets.push("provider = :prov".into());
                values.push((":dev", s(&c.device_id)));
                values.push((":prov", s(c.provider.as_str())));
                // The history entry is written here, once: a pending record has none, since
                // the completion changes attributes GSI2 projects (deviceId, waMessageId)
                // and an entry written at both steps costs a write unit more.
                sets.push("GSI2PK = :g2pk".into());
                sets.push("GSI2SK = :g2sk".into());
                values.push((":g2pk", s(history_gsi2pk(&u.tenant_id, &c.peer))));
                values.push((":g2sk", s(&u.message_id)));
                if let Some(w) = &c.wa_message_id {
                    sets.push("waMessageId = :wamid".into());
                    sets.push("GSI3PK = :g3pk".into());
                    values.push((":wamid", s(w)));
                    values.push((":g3pk", s(wamid_index_pk(&u.tenant_id, w))));
                }
                if let Some(m) = &c.media_mimetype {
                    sets.push("mediaMimetype = :mime".into());
                    values.push((":mime", s(m)));
                }
                values.push((":pending", s(MessageStatus::Pending.as_str())));
                "#st = :pending"
            }
            None => {
                // What the status was, for counting (`read` first counts `delivered` too).
                sets.push("rankBefore = statusRank".into());
                values.push((":sent", n(MessageStatus::Sent.rank())));
                "statusRank >= :sent AND statusRank < :rank"
            }
        };
        let mut cond = Cond::new(format!("attribute_exists(PK) AND {condition}"))
            .name("#st", "status")
            .returning_old();
        if u.failure.is_some() {
            cond = cond.name("#err", "error");
        }
        for (k, v) in values {
            cond = cond.value(k, v);
        }
        let expr = format!("SET {}", sets.join(", "));
        let pk = message_pk(&u.tenant_id, &u.message_id);
        match self
            .update_if(&pk, MESSAGE_SK, &expr, cond, Returns::NEW)
            .await?
        {
            Written::Applied(new) => {
                let before = match (&u.completion, new.get("rankBefore")) {
                    (None, Some(AttributeValue::N(r))) => r.parse().unwrap_or_default(),
                    _ => MessageStatus::Pending.rank(),
                };
                Ok(StatusOutcome::Changed(from_item(new)?, before))
            }
            Written::Refused(Some(old)) => Ok(StatusOutcome::Unchanged(from_item(old)?)),
            Written::Refused(None) => Ok(StatusOutcome::NotFound),
        }
    }
}
