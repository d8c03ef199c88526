//! Conversations (the spec's Team Inbox object) and inbound messages.
//!
//! - A conversation is one device and one customer: `TENANT#<id>#PEER#<peer>` /
//!   `CONV#<deviceId>`. It holds the inbox state (`status`, `unreadCount`, `assignedTo`,
//!   `lastMessageAt`) and `lastInboundAt`, the customer's last message, which is the 24-hour
//!   window. Keyed by the peer first, so the send flow reads every device's window with one
//!   query in its first round, before it knows the device.
//! - An inbound message is a message item (`direction: in`, `status: received`) whose id is
//!   derived from its WhatsApp id (`domain::inbound::inbound_message_id`), so storing it is a
//!   conditional put that refuses a duplicate. It is written in one transaction with its
//!   conversation, so the unread count moves exactly once per message.
//! - `handling` / `handlingAt` on the inbound message say who answers it: `claimed` by the
//!   worker that stored it, `done` once answered. A copy delivered again after a crash takes
//!   over a stale claim; one arriving while the first is at work leaves it alone.

use super::auto_replies::{AiSettings, AutoAnswerSettings};
use super::contacts::Contact;
use super::devices::Device;
use super::keys::*;
use super::messages::{message_item_with, Direction, Message};
use super::table::{self, keyed, Commit, Cond, Query, Returns, Written};
use super::tenants::{Tenant, TenantItem};
use super::{from_item, n, s, to_item, Item, Store, StoreError, StoreResult};
use crate::domain::consent::OptOutSettings;
use crate::domain::messages::MessageKind;
use crate::domain::time;
use crate::domain::time::iso_millis;
use crate::domain::working_hours::WorkingHours;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    Open,
    Pending,
    Resolved,
    /// Set aside until `snoozedUntil` (or the customer's next message): then open again.
    Snoozed,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 4] = [
        ConversationStatus::Open,
        ConversationStatus::Pending,
        ConversationStatus::Resolved,
        ConversationStatus::Snoozed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Resolved => "resolved",
            ConversationStatus::Snoozed => "snoozed",
        }
    }

    pub fn parse(v: &str) -> Option<ConversationStatus> {
        ConversationStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == v)
    }
}

/// The conversation's latest message, either direction (notes excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LastMessage {
    pub text: Option<String>,
    #[schema(value_type = String, example = "in")]
    pub direction: Direction,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "text")]
    pub kind: MessageKind,
    #[schema(value_type = String, example = "2026-06-11T09:12:33Z")]
    #[serde(with = "time::secs")]
    pub at: DateTime<Utc>,
}

/// The customer's contact, as the conversation last saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactRef {
    pub id: String,
    pub name: String,
}

/// A conversation as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    pub tenant_id: String,
    pub device_id: String,
    /// The customer, digits only.
    pub peer: String,
    pub status: ConversationStatus,
    pub unread_count: u32,
    /// The latest message's time, either direction.
    #[serde(with = "time::secs")]
    pub last_message_at: DateTime<Utc>,
    /// Where the listing sorts it (its entries' time): the latest customer message or
    /// reply from the inbox. Sends from elsewhere move only `lastMessageAt` (one small
    /// write instead of every entry's; docs/inbox.md). Absent: `lastMessageAt` (stored
    /// before the two could differ).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub listed_at: Option<DateTime<Utc>>,
    /// The customer's last message (WhatsApp's time): the 24-hour window runs from here.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Our id of the customer's last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// The customer's WhatsApp profile name, as last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write: writes are conditional on the version read.
    pub version: u64,
    /// Lower case, sorted (`domain::inbox::labels`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub snoozed_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<LastMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactRef>,
    /// The customer message that opened (or reopened) the conversation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub opened_at: Option<DateTime<Utc>>,
    /// The first agent or API reply after `openedAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub first_response_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_seconds: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub resolved_at: Option<DateTime<Utc>>,
    /// From `openedAt` to `resolvedAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_seconds: Option<i64>,
}

/// The spec's conversation object (snake_case).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: String,
    pub device_id: String,
    #[schema(example = "923001234567")]
    pub peer: String,
    /// A teammate's id, or null.
    pub assigned_to: Option<String>,
    pub status: ConversationStatus,
    pub unread_count: u32,
    #[schema(value_type = String, example = "2026-06-11T09:12:33Z")]
    #[serde(with = "time::secs")]
    pub last_message_at: DateTime<Utc>,
    /// What the listing sorts by: the customer's last message or the inbox's last reply
    /// (sends from elsewhere move `last_message_at` only).
    #[schema(value_type = String, example = "2026-06-11T09:12:33Z")]
    #[serde(with = "time::secs")]
    pub last_activity_at: DateTime<Utc>,
    /// The customer's contact (`{"id","name"}`), or null.
    pub contact: Option<ContactRef>,
    pub labels: Vec<String>,
    #[schema(value_type = Option<String>)]
    #[serde(with = "time::secs_opt")]
    pub snoozed_until: Option<DateTime<Utc>>,
    pub last_message: Option<LastMessage>,
    #[schema(value_type = String, example = "2026-06-11T09:00:00Z")]
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    /// Seconds from the customer's opening message to the first reply, once replied.
    pub first_response_seconds: Option<i64>,
    /// Seconds from the opening message to resolution, once resolved.
    pub resolution_seconds: Option<i64>,
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn later(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> DateTime<Utc> {
    a.map_or(b, |a| a.max(b))
}

impl Conversation {
    pub fn view(&self) -> ConversationView {
        ConversationView {
            id: self.id.clone(),
            device_id: self.device_id.clone(),
            peer: self.peer.clone(),
            assigned_to: self.assigned_to.clone(),
            status: self.status,
            unread_count: self.unread_count,
            last_message_at: self.last_message_at,
            last_activity_at: self.listed(),
            contact: self.contact.clone(),
            labels: self.labels.clone(),
            snoozed_until: self.snoozed_until,
            last_message: self.last_message.clone(),
            created_at: self.created_at,
            first_response_seconds: self.first_response_seconds,
            resolution_seconds: self.resolution_seconds,
        }
    }

    /// The name `q` finds it by: its contact's, else the customer's WhatsApp profile name.
    pub fn search_name(&self) -> Option<String> {
        self.contact
            .as_ref()
            .map(|c| c.name.clone())
            .filter(|n| !n.trim().is_empty())
            .or_else(|| self.profile_name.clone())
            .map(|n| crate::domain::inbox::fold_name(&n))
            .filter(|n| !n.is_empty())
    }

    /// The customer's last message time, if any.
    pub fn last_inbound(&self) -> Option<DateTime<Utc>> {
        self.last_inbound_at
    }

    /// The time its listing entries sort by.
    pub fn listed(&self) -> DateTime<Utc> {
        self.listed_at.unwrap_or(self.last_message_at)
    }

    /// The conversation after a new customer message (`prev`: as read; `None`: the first
    /// message). A resolved or snoozed conversation opens again (a new opening: its first
    /// response is measured again); the unread count goes up by one; the times only move
    /// forward (messages can arrive out of order). `contact`: the customer's contact, if
    /// there is one yet.
    pub fn after_inbound(
        prev: Option<&Conversation>,
        message: &Message,
        sent_at: DateTime<Utc>,
        profile_name: Option<&str>,
        contact: Option<ContactRef>,
        now: DateTime<Utc>,
    ) -> Conversation {
        let last = LastMessage {
            text: message.text.clone(),
            direction: Direction::In,
            kind: message.kind,
            at: sent_at,
        };
        match prev {
            None => Conversation {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: message.tenant_id.clone(),
                device_id: message.device_id.clone().unwrap_or_default(),
                peer: message.peer.clone(),
                status: ConversationStatus::Open,
                unread_count: 1,
                last_message_at: sent_at,
                listed_at: Some(sent_at),
                last_inbound_at: Some(sent_at),
                last_message_id: Some(message.id.clone()),
                assigned_to: None,
                profile_name: profile_name.map(str::to_string),
                created_at: now,
                updated_at: now,
                version: 1,
                labels: Vec::new(),
                snoozed_until: None,
                last_message: Some(last),
                contact,
                opened_at: Some(sent_at),
                first_response_at: None,
                first_response_seconds: None,
                resolved_at: None,
                resolution_seconds: None,
            },
            Some(p) => {
                let newest = p.last_inbound().is_none_or(|t| sent_at >= t);
                let newest_any = p.last_message.as_ref().is_none_or(|m| sent_at >= m.at);
                let reopens = matches!(
                    p.status,
                    ConversationStatus::Resolved | ConversationStatus::Snoozed
                );
                let mut next = Conversation {
                    status: if reopens {
                        ConversationStatus::Open
                    } else {
                        p.status
                    },
                    unread_count: p.unread_count.saturating_add(1),
                    last_message_at: later(Some(p.last_message_at), sent_at),
                    listed_at: Some(later(Some(p.listed()), sent_at)),
                    last_inbound_at: Some(later(p.last_inbound_at, sent_at)),
                    last_message_id: if newest {
                        Some(message.id.clone())
                    } else {
                        p.last_message_id.clone()
                    },
                    profile_name: profile_name
                        .map(str::to_string)
                        .or_else(|| p.profile_name.clone()),
                    updated_at: now,
                    version: p.version + 1,
                    snoozed_until: if reopens { None } else { p.snoozed_until },
                    last_message: if newest_any {
                        Some(last)
                    } else {
                        p.last_message.clone()
                    },
                    contact: contact.or_else(|| p.contact.clone()),
                    ..p.clone()
                };
                if reopens {
                    next.opened_at = Some(sent_at);
                    next.first_response_at = None;
                    next.first_response_seconds = None;
                    next.resolved_at = None;
                    next.resolution_seconds = None;
                }
                next
            }
        }
    }

    /// Whether this conversation was opened (new, or reopened) by the step from `prev`.
    pub fn opened_from(&self, prev: Option<&Conversation>) -> bool {
        match prev {
            None => true,
            Some(p) => p.opened_at != self.opened_at,
        }
    }
}

pub(crate) fn conversation_item(c: &Conversation) -> StoreResult<Item> {
    keyed(
        c,
        peer_pk(&c.tenant_id, &c.peer),
        conversation_sk(&c.device_id),
    )
}

/// Everything the inbound worker needs to know before storing a message, read at once.
#[derive(Debug, Clone, Default)]
pub struct InboundContext {
    pub tenant: Option<Tenant>,
    pub device: Option<Device>,
    pub conversation: Option<Conversation>,
    /// The tenant's rules version (cached matchers reload when it changes).
    pub rules_version: u64,
    pub ai: AiSettings,
    /// The working hours (the defaults, off, until set).
    pub working_hours: WorkingHours,
    pub opt_out: OptOutSettings,
    /// The customer's contact, as its phone claim holds it (its consent).
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordInbound {
    /// Stored, and the conversation updated with it.
    Recorded,
    /// This message (same tenant and WhatsApp id) was stored before.
    Duplicate,
    /// The conversation changed since it was read: read it again and retry.
    ConversationChanged,
}

/// Who answers an inbound message that arrived again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// The earlier attempt's claim was stale: this one answers now.
    TakenOver,
    /// Another attempt is answering it right now.
    Busy,
    /// Already answered (or decided not to).
    Done,
}

pub const HANDLING_CLAIMED: &str = "claimed";
pub const HANDLING_DONE: &str = "done";

/// Where an inbound message stored at `at` sorts in its conversation's history (GSI2SK):
/// a UUIDv7-shaped string of that millisecond, so it compares with outbound messages'
/// positions (the UUIDv7 drawn when their send began: their id, or for a send keyed by its
/// WhatsApp id, the id it would have had).
pub fn history_position(at: DateTime<Utc>, message_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(message_id.as_bytes());
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

/// One message of a conversation's history, as GSI2 projects it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Our id of the message.
    pub id: String,
    /// Its place in the history (GSI2SK): for outbound messages the UUIDv7 of their send
    /// (their id, unless keyed by their WhatsApp id), [`history_position`] for inbound ones.
    pub position: String,
    pub direction: Direction,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<MessageKind>,
    #[serde(default)]
    pub device_id: Option<String>,
    /// Present once WhatsApp has the message (a failed or pending send has none).
    #[serde(default)]
    pub wa_message_id: Option<String>,
}

impl Store {
    /// The tenant, the device, the conversation, the rules version, the AI settings and
    /// working hours (one item), the opt-out settings and the customer's phone claim (its
    /// consent), in one strongly consistent `BatchGetItem`.
    pub async fn inbound_context(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
    ) -> StoreResult<InboundContext> {
        let tenant_key = tenant_pk(tenant_id);
        let keys = vec![
            (tenant_key.clone(), TENANT_SK.to_string()),
            (tenant_key.clone(), device_sk(device_id)),
            (tenant_key.clone(), RULES_VERSION_SK.to_string()),
            (tenant_key.clone(), AI_SETTINGS_SK.to_string()),
            (tenant_key.clone(), OPT_OUT_SETTINGS_SK.to_string()),
            (peer_pk(tenant_id, peer), conversation_sk(device_id)),
            (phones_pk(tenant_id), phone_sk(peer)),
        ];
        let claims = phones_pk(tenant_id);
        let mut ctx = InboundContext::default();
        for item in self.batch_get(&keys, true).await? {
            let sk = item
                .get(SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let pk = item.get(PK).and_then(|v| v.as_s().ok());
            if pk == Some(&claims) {
                ctx.contact = Some(from_item(item)?);
            } else if sk == TENANT_SK {
                ctx.tenant = Some(from_item::<TenantItem>(item)?.tenant());
            } else if sk == RULES_VERSION_SK {
                ctx.rules_version = item
                    .get("version")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            } else if sk == AI_SETTINGS_SK {
                let settings: AutoAnswerSettings = from_item(item)?;
                (ctx.ai, ctx.working_hours) = (settings.ai, settings.working_hours);
            } else if sk == OPT_OUT_SETTINGS_SK {
                ctx.opt_out = from_item(item)?;
            } else if sk.starts_with(DEVICE_PREFIX) {
                ctx.device = Some(from_item(item)?);
            } else if sk.starts_with(CONVERSATION_PREFIX) {
                ctx.conversation = Some(from_item(item)?);
            }
        }
        Ok(ctx)
    }

    /// Stores an inbound message (refused if it is already there) and its conversation's
    /// new state (guarded by the version of `prev`, the conversation as read: `None` for a
    /// new one) with its inbox counters, atomically; then its inbox entries.
    /// `extra`: attributes stored on the message besides the [`Message`] fields (Meta's type,
    /// media id, location…). The message is `claimed` for answering by this call's caller.
    pub async fn record_inbound<E: Serialize>(
        &self,
        message: &Message,
        extra: &E,
        conversation: &Conversation,
        prev: Option<&Conversation>,
        now: DateTime<Utc>,
    ) -> StoreResult<RecordInbound> {
        let mut extra: Item = to_item(extra)?;
        extra.insert("handling".into(), s(HANDLING_CLAIMED));
        extra.insert("handlingAt".into(), s(iso_millis(now)));
        let mut item = message_item_with(message, extra)?;
        // In the history, the message sits where it was stored (after every reply sent
        // before it), not at the customer's whole-second timestamp its id carries.
        item.insert(GSI2SK.into(), s(history_position(now, &message.id)));
        let mut writes = vec![table::put(&self.table, item, Some(Cond::absent()))?];
        writes.extend(self.conversation_writes(prev, conversation)?);
        let commit = self.commit(writes).await?;
        if commit == Commit::Done {
            // An error here fails the job: its redelivery finds the message stored and
            // writes the conversation's entries again (`inbound::record`).
            self.write_entries(prev, conversation).await?;
            return Ok(RecordInbound::Recorded);
        }
        match commit.failed_condition() {
            Some(0) => Ok(RecordInbound::Duplicate),
            Some(_) => Ok(RecordInbound::ConversationChanged),
            None => {
                commit.done_or_lost("record inbound")?;
                Ok(RecordInbound::ConversationChanged)
            }
        }
    }

    /// For an inbound message that arrived again: takes over answering it if the earlier
    /// claim is older than `stale_before` and the message is not answered yet.
    pub async fn take_over_inbound(
        &self,
        tenant_id: &str,
        message_id: &str,
        stale_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Handling> {
        let stale =
            Cond::new("attribute_exists(PK) AND handling = :claimed AND handlingAt < :stale")
                .value(":claimed", s(HANDLING_CLAIMED))
                .value(":stale", s(iso_millis(stale_before)))
                .returning_old();
        let taken = self
            .set_handling(tenant_id, message_id, ":claimed", stale, now)
            .await?;
        Ok(match taken {
            Written::Applied(_) => Handling::TakenOver,
            Written::Refused(old) => {
                let handling = old
                    .as_ref()
                    .and_then(|i| i.get("handling"))
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str);
                match handling {
                    Some(HANDLING_CLAIMED) => Handling::Busy,
                    _ => Handling::Done,
                }
            }
        })
    }

    /// Marks an inbound message as answered (or decided: no answer).
    pub async fn finish_inbound(
        &self,
        tenant_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let exists = Cond::exists().value(":done", s(HANDLING_DONE));
        match self
            .set_handling(tenant_id, message_id, ":done", exists, now)
            .await?
        {
            Written::Applied(_) => Ok(()),
            Written::Refused(_) => Err(StoreError::Corrupt(format!(
                "inbound message {message_id} is gone"
            ))),
        }
    }

    /// Records where an inbound message's media was kept (`key`), or why it was not
    /// (`error`).
    pub async fn set_inbound_media(
        &self,
        tenant_id: &str,
        message_id: &str,
        kept: Result<&str, &str>,
    ) -> StoreResult<()> {
        let (expr, value) = match kept {
            Ok(key) => ("SET mediaKey = :v REMOVE mediaError", key),
            Err(e) => ("SET mediaError = :v", e),
        };
        let pk = message_pk(tenant_id, message_id);
        let cond = Cond::exists().value(":v", s(value));
        match self
            .update_if(&pk, MESSAGE_SK, expr, cond, Returns::NOTHING)
            .await?
        {
            Written::Applied(_) => Ok(()),
            Written::Refused(_) => Err(StoreError::Corrupt(format!(
                "inbound message {message_id} is gone"
            ))),
        }
    }

    /// Sets who answers an inbound message (`handling` to the value `cond` holds at `to`).
    async fn set_handling(
        &self,
        tenant_id: &str,
        message_id: &str,
        to: &str,
        cond: Cond,
        now: DateTime<Utc>,
    ) -> StoreResult<Written> {
        let expr = format!("SET handling = {to}, handlingAt = :now");
        let cond = cond.value(":now", s(iso_millis(now)));
        let pk = message_pk(tenant_id, message_id);
        self.update_if(&pk, MESSAGE_SK, &expr, cond, Returns::NOTHING)
            .await
    }

    pub async fn get_conversation(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
    ) -> StoreResult<Option<Conversation>> {
        self.get(&peer_pk(tenant_id, peer), &conversation_sk(device_id))
            .await
    }

    /// A message sent to the customer from outside the inbox (`/send`, a campaign, an
    /// automatic reply) becomes the conversation's last message: one `UpdateItem`, no
    /// transaction, and the listing entries stay where they are (`listedAt` keeps their
    /// time; docs/inbox.md). The version moves, so a write based on an older read retries.
    /// `false`: no such conversation, or a later message is its last already.
    pub async fn touch_conversation(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        last: &LastMessage,
    ) -> StoreResult<bool> {
        let at = s(time::iso(last.at));
        let cond = Cond::new("attribute_exists(PK) AND lastMessageAt <= :at")
            .value(":at", at)
            .value(":m", AttributeValue::M(to_item(last)?))
            .value(":one", n(1));
        // Every operand reads the item as it was: `listedAt` keeps the old time.
        let expr = "SET listedAt = if_not_exists(listedAt, lastMessageAt), \
                    lastMessageAt = :at, lastMessage = :m, updatedAt = :at ADD version :one";
        let pk = peer_pk(tenant_id, peer);
        let written = self
            .update_if(
                &pk,
                &conversation_sk(device_id),
                expr,
                cond,
                Returns::NOTHING,
            )
            .await?;
        Ok(matches!(written, Written::Applied(_)))
    }

    /// When the customer last wrote to each of the tenant's devices (the 24-hour window),
    /// with one strongly consistent query over the customer's conversations.
    pub async fn last_inbound_by_device(
        &self,
        tenant_id: &str,
        peer: &str,
    ) -> StoreResult<Vec<(String, Option<DateTime<Utc>>)>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Window {
            device_id: String,
            #[serde(default)]
            last_inbound_at: Option<String>,
        }
        let q = Query::prefix(peer_pk(tenant_id, peer), CONVERSATION_PREFIX)
            .project("deviceId, lastInboundAt", &[])
            .consistent();
        let (windows, _) = self.query_items(&q, None, None).await?;
        Ok(windows
            .into_iter()
            .filter_map(|i| from_item::<Window>(i).ok())
            .map(|w| {
                let at = w.last_inbound_at.as_deref().and_then(parse_time);
                (w.device_id, at)
            })
            .collect())
    }

    /// The newest messages exchanged with a customer (all devices), newest first: one query
    /// on GSI2 (eventually consistent: a message stored a moment ago may be missing).
    pub async fn conversation_history(
        &self,
        tenant_id: &str,
        peer: &str,
        limit: i32,
    ) -> StoreResult<Vec<HistoryEntry>> {
        let q = Query::index(GSI2, history_gsi2pk(tenant_id, peer)).newest_first();
        let (items, _) = self.query_items(&q, Some(limit), None).await?;
        items
            .into_iter()
            .map(|mut i| {
                // The id is the end of the table key; the position is the index's sort key.
                let id = i
                    .get(PK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.rsplit('#').next())
                    .map(str::to_string)
                    .unwrap_or_default();
                i.insert("id".into(), s(id));
                if let Some(p) = i.get(GSI2SK).cloned() {
                    i.insert("position".into(), p);
                }
                from_item::<HistoryEntry>(i)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::messages::MessageStatus;
    use crate::domain::time::at;
    use crate::store::messages::MessageSource;

    /// A customer's text message `id` on device `d`.
    fn incoming(id: &str, text: &str) -> Message {
        let mut m = Message::text(
            id.into(),
            "t".into(),
            Direction::In,
            "923001234567".into(),
            Some(text.into()),
            MessageStatus::Received,
            MessageSource::Inbound,
            at("2026-06-11T09:12:40Z"),
        );
        m.device_id = Some("d".into());
        m
    }

    #[test]
    fn a_new_message_reopens_and_counts() {
        let now = at("2026-06-11T09:12:40Z");
        let first = Conversation::after_inbound(
            None,
            &incoming("m1", "m1 text"),
            at("2026-06-11T09:12:33Z"),
            Some("Ali"),
            None,
            now,
        );
        assert_eq!(first.status, ConversationStatus::Open);
        assert_eq!(first.unread_count, 1);
        assert_eq!(first.last_message_at, at("2026-06-11T09:12:33Z"));
        assert_eq!(first.version, 1);
        let resolved = Conversation {
            status: ConversationStatus::Resolved,
            ..first.clone()
        };
        let second = Conversation::after_inbound(
            Some(&resolved),
            &incoming("m2", "m2 text"),
            at("2026-06-11T09:20:00Z"),
            None,
            None,
            now,
        );
        assert_eq!(second.status, ConversationStatus::Open);
        assert_eq!(second.unread_count, 2);
        assert_eq!(second.id, first.id);
        assert_eq!(second.profile_name.as_deref(), Some("Ali"));
        assert_eq!(second.last_message_id.as_deref(), Some("m2"));
        assert!(second.opened_from(Some(&resolved)), "a new opening");
        assert_eq!(second.opened_at, Some(at("2026-06-11T09:20:00Z")));
        let last = second.last_message.clone().map(|m| m.text);
        assert_eq!(last, Some(Some("m2 text".to_string())));
        // An older message arriving late counts but does not move the times back.
        let pending = Conversation {
            status: ConversationStatus::Pending,
            ..second.clone()
        };
        let late = Conversation::after_inbound(
            Some(&pending),
            &incoming("m0", "m0 text"),
            at("2026-06-11T09:00:00Z"),
            Some("Ali K"),
            None,
            now,
        );
        assert_eq!(late.status, ConversationStatus::Pending);
        assert_eq!(late.unread_count, 3);
        assert_eq!(late.last_inbound_at, Some(at("2026-06-11T09:20:00Z")));
        assert_eq!(late.last_message_id.as_deref(), Some("m2"));
        assert_eq!(late.profile_name.as_deref(), Some("Ali K"));
        assert_eq!(late.version, 3);
        assert!(!late.opened_from(Some(&pending)));
        assert_eq!(late.last_message, second.last_message, "not moved back");
    }
}
