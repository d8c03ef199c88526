//! Outbound webhooks: a tenant's settings (`TENANT#<id>` / `WEBHOOK`) and one delivery
//! record per event (`TENANT#<id>` / `WHDELIVERY#<eventId>`, also on GSI1 by status and
//! event type). See `docs/data-model.md` and `docs/webhooks.md`.
//!
//! A delivery record is also the lock that keeps SQS's at-least-once delivery from
//! becoming double sends or duplicate retry chains: each attempt has a sequence number
//! (`seq`, 1-based over the event's life), a worker claims attempt `seq` with a conditional
//! write (`attemptCount = seq - 1`, no live claim), and records its outcome under the same
//! claim. A claim left by a worker that died is taken over once it is stale.

use super::keys::*;
use super::table::{self, keyed, Cond, Query, Returns, Written};
use super::{from_item, n, s, to_item, Store, StoreError, StoreResult};
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::time;
use crate::domain::time::iso;
use crate::domain::webhooks::{generate_secret, secret_display_prefix, EventType};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Delivery records are kept this long (TTL).
pub const DELIVERY_RETENTION_DAYS: i64 = 30;
/// Attempts one event may accumulate over all its rounds; redelivery is refused beyond.
pub const MAX_ATTEMPTS_PER_EVENT: u32 = 60;
/// A pending delivery whose next attempt is this overdue is stuck (its queue message was
/// lost) and may be redelivered by hand.
pub const STUCK_AFTER_SECS: i64 = 3600;
/// Longest overlap during which a rotated-out secret keeps signing.
pub const MAX_SECRET_OVERLAP_SECS: u64 = 7 * 86_400;
pub const DEFAULT_SECRET_OVERLAP_SECS: u64 = 86_400;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    url: String,
    events: Vec<EventType>,
    secret: String,
    #[serde(with = "time::secs")]
    secret_created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_secret: Option<String>,
    /// Unix seconds when the previous secret stops signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_secret_expires_at: Option<i64>,
    #[serde(with = "time::secs")]
    created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    updated_at: DateTime<Utc>,
}

/// A tenant's webhook as the dispatcher needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: String,
    pub events: Vec<EventType>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    info: WebhookInfo,
}

impl WebhookSettings {
    /// The secrets that sign now, newest first.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
        {
            if now.timestamp() < until {
                out.push(prev.as_str());
            }
        }
        out
    }

    pub fn subscribes_to(&self, t: EventType) -> bool {
        t == EventType::Test || self.events.contains(&t)
    }

    pub fn info(&self, now: DateTime<Utc>) -> WebhookInfo {
        let mut info = self.info.clone();
        if self
            .previous_secret_expires_at
            .is_none_or(|t| now.timestamp() >= t)
        {
            info.previous_secret_prefix = None;
            info.previous_secret_expires_at = None;
        }
        info
    }
}

impl From<WebhookItem> for WebhookSettings {
    fn from(w: WebhookItem) -> Self {
        let info = WebhookInfo {
            url: w.url.clone(),
            events: w.events.clone(),
            secret_prefix: secret_display_prefix(&w.secret),
            secret_created_at: w.secret_created_at,
            previous_secret_prefix: w.previous_secret.as_deref().map(secret_display_prefix),
            previous_secret_expires_at: w
                .previous_secret_expires_at
                .and_then(|t| DateTime::from_timestamp(t, 0)),
            created_at: w.created_at,
            updated_at: w.updated_at,
        };
        WebhookSettings {
            url: w.url,
            events: w.events,
            secret: w.secret,
            previous_secret: w.previous_secret,
            previous_secret_expires_at: w.previous_secret_expires_at,
            info,
        }
    }
}

/// A webhook as the API shows it: never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookInfo {
    #[schema(example = "https://your-app.com/wati-hook")]
    pub url: String,
    pub events: Vec<EventType>,
    /// The start of the signing secret, to tell secrets apart.
    #[schema(example = "whsec_3kQ9aXy7…")]
    pub secret_prefix: String,
    #[serde(with = "time::secs")]
    pub secret_created_at: DateTime<Utc>,
    /// During a rotation's overlap: the old secret, which still signs until
    /// `previousSecretExpiresAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
}

pub enum PutWebhookOutcome {
    Created { info: WebhookInfo, secret: String },
    Updated(WebhookInfo),
}

// ---------------------------------------------------------------------------------------
// Deliveries

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet: the first attempt or a retry is coming.
    Pending,
    /// A 2xx arrived in time.
    Delivered,
    /// Every attempt of the schedule failed: dropped (it can still be redelivered by hand).
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What started an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Publication and the retry schedule.
    Automatic,
    /// `POST /api/webhooks/deliveries/{id}/redeliver`.
    Manual,
}

/// One attempt to deliver an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1-based over the event's life.
    pub attempt: u32,
    pub at: String,
    pub url: String,
    /// The receiver's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// Why the attempt failed (timeout, connection error, refused address, non-2xx …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryItem {
    id: String,
    event_type: EventType,
    payload: String,
    #[serde(with = "time::millis")]
    created_at: DateTime<Utc>,
    status: DeliveryStatus,
    /// Attempts finished so far (the `seq` of the last one).
    attempt_count: u32,
    /// Attempts made before the current round (a redelivery starts a new round).
    round_start: u32,
    trigger: Trigger,
    #[serde(default)]
    attempts: Vec<Attempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inflight_seq: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inflight_at: Option<i64>,
    expires_at: i64,
}

/// A delivery as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The event id: `webhook-id` / `X-Wati-Event-Id` of every attempt.
    pub id: String,
    pub event: EventType,
    pub status: DeliveryStatus,
    #[serde(with = "time::millis")]
    pub created_at: DateTime<Utc>,
    pub attempt_count: u32,
    /// When the next attempt is due (pending deliveries).
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: Vec<Attempt>,
}

/// A delivery with the body every attempt sends.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    /// The exact JSON body sent.
    pub payload: String,
}

impl DeliveryItem {
    fn delivery(&self) -> Delivery {
        Delivery {
            id: self.id.clone(),
            event: self.event_type,
            status: self.status,
            created_at: self.created_at,
            attempt_count: self.attempt_count,
            next_attempt_at: self
                .next_attempt_at
                .filter(|_| self.status == DeliveryStatus::Pending)
                .and_then(|t| DateTime::from_timestamp(t, 0)),
            attempts: self.attempts.clone(),
        }
    }
}

/// What the dispatcher reads before an attempt: one `BatchGetItem`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryContext {
    /// The tenant's plan and limit overrides, when the tenant exists.
    pub plan: Option<(Plan, LimitOverrides)>,
    pub webhook: Option<WebhookSettings>,
    pub record: Option<DeliveryRecord>,
}

/// The parts of a delivery record the dispatcher works with.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_type: EventType,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    pub round_start: u32,
    pub trigger: Trigger,
}

impl From<DeliveryItem> for DeliveryRecord {
    fn from(d: DeliveryItem) -> Self {
        DeliveryRecord {
            id: d.id,
            event_type: d.event_type,
            payload: d.payload,
            status: d.status,
            attempt_count: d.attempt_count,
            round_start: d.round_start,
            trigger: d.trigger,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This worker owns attempt `seq`.
    Claimed(DeliveryRecord),
    /// Attempt `seq` was already made (a duplicate or late message): nothing to do.
    AlreadyDone,
    /// Another worker is making it right now: look again later.
    Busy,
    /// The record is not waiting for this attempt (no such record, not pending, or an
    /// older sequence): nothing to do.
    NotExpected,
}

/// How an attempt ended, and what comes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Failed; the next attempt is due at this Unix time (its message is already queued).
    RetryAt(i64),
    /// Failed, and it was the last attempt of the round.
    Dropped,
}

pub enum RedeliverOutcome {
    /// The record is pending again; queue attempt `seq`.
    Started {
        seq: u32,
        delivery: Delivery,
    },
    NotFound,
    /// It is pending already (attempts are still coming).
    AlreadyPending,
    TooManyAttempts,
}

/// A page of deliveries, newest first.
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    /// The last id of this page, when there may be more.
    pub next_cursor: Option<String>,
}

fn status_pk(tenant_id: &str, status: DeliveryStatus, t: EventType) -> String {
    delivery_gsi1pk(tenant_id, status.as_str(), t.as_str())
}

impl Store {
    // -- settings ---------------------------------------------------------------------

    pub async fn get_webhook(&self, tenant_id: &str) -> StoreResult<Option<WebhookSettings>> {
        let item = self
            .get::<WebhookItem>(&tenant_pk(tenant_id), WEBHOOK_SK)
            .await?;
        Ok(item.map(WebhookSettings::from))
    }

    /// Sets the URL and events. The first time, a signing secret is made and returned
    /// (the only time it is); later calls keep the secret. In one transaction with the
    /// tenant's copies of whether it wants `message.status` ([`Store::status_events_writes`]).
    pub async fn put_webhook(
        &self,
        tenant_id: &str,
        url: &str,
        events: &[EventType],
        now: DateTime<Utc>,
    ) -> StoreResult<PutWebhookOutcome> {
        let events_av: AttributeValue = serde_dynamo::to_attribute_value(events)?;
        let (pk, events_av) = (&tenant_pk(tenant_id), &events_av);
        let wants = events.contains(&EventType::MessageStatus);
        table::retry("put webhook", |_| async move {
            let (copies, current) = tokio::try_join!(
                self.status_events_writes(tenant_id, wants),
                self.get::<WebhookItem>(pk, WEBHOOK_SK),
            )?;
            let mut writes = copies.unwrap_or_default();
            let outcome = match current {
                Some(mut item) => {
                    // Guarded by the secret read, so the answer describes what is stored.
                    writes.push(table::update(
                        &self.table,
                        pk,
                        WEBHOOK_SK,
                        "SET #url = :url, events = :events, updatedAt = :now",
                        Cond::new("attribute_exists(PK) AND secret = :secret")
                            .name("#url", "url")
                            .value(":url", s(url))
                            .value(":events", events_av.clone())
                            .value(":now", s(iso(now)))
                            .value(":secret", s(&item.secret)),
                    )?);
                    item.url = url.into();
                    item.events = events.to_vec();
                    item.updated_at = now;
                    PutWebhookOutcome::Updated(WebhookSettings::from(item).info(now))
                }
                None => {
                    let secret = generate_secret()
                        .map_err(|e| StoreError::Corrupt(format!("CSPRNG: {e}")))?;
                    let item = WebhookItem {
                        pk: pk.clone(),
                        sk: WEBHOOK_SK.into(),
                        url: url.into(),
                        events: events.to_vec(),
                        secret: secret.clone(),
                        secret_created_at: now,
                        previous_secret: None,
                        previous_secret_expires_at: None,
                        created_at: now,
                        updated_at: now,
                    };
                    // Refused: created meanwhile by a concurrent request: update that one.
                    writes.push(table::put(
                        &self.table,
                        to_item(&item)?,
                        Some(Cond::absent()),
                    )?);
                    PutWebhookOutcome::Created {
                        info: WebhookSettings::from(item).info(now),
                        secret,
                    }
                }
            };
            let done = self.commit(writes).await?.done_or_lost("put webhook")?;
            Ok(done.then_some(outcome))
        })
        .await
    }

    /// Writes settings as given (every event), without any check: tests use it to stand for
    /// a URL whose DNS changed after it was accepted.
    pub async fn put_webhook_unchecked(
        &self,
        tenant_id: &str,
        url: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let item = WebhookItem {
            pk: tenant_pk(tenant_id),
            sk: WEBHOOK_SK.into(),
            url: url.into(),
            events: EventType::SUBSCRIBABLE.to_vec(),
            secret: secret.into(),
            secret_created_at: now,
            previous_secret: None,
            previous_secret_expires_at: None,
            created_at: now,
            updated_at: now,
        };
        let item = &to_item(&item)?;
        table::retry("put webhook", |_| async move {
            let mut writes = self
                .status_events_writes(tenant_id, true)
                .await?
                .unwrap_or_default();
            writes.push(table::put(&self.table, item.clone(), None)?);
            let done = self.commit(writes).await?.done_or_lost("put webhook")?;
            Ok(done.then_some(()))
        })
        .await
    }

    /// Turns the webhook off (with the tenant's copies, as [`Store::put_webhook`]). `false`
    /// when there was none.
    pub async fn delete_webhook(&self, tenant_id: &str) -> StoreResult<bool> {
        let pk = &tenant_pk(tenant_id);
        table::retry("delete webhook", |_| async move {
            let (copies, current) = tokio::try_join!(
                self.status_events_writes(tenant_id, false),
                self.get::<WebhookItem>(pk, WEBHOOK_SK),
            )?;
            if current.is_none() {
                return Ok(Some(false));
            }
            let mut writes = copies.unwrap_or_default();
            writes.push(table::delete(
                &self.table,
                pk,
                WEBHOOK_SK,
                Some(Cond::exists()),
            )?);
            let done = self.commit(writes).await?.done_or_lost("delete webhook")?;
            Ok(done.then_some(true))
        })
        .await
    }

    /// A new signing secret; the current one keeps signing beside it for `overlap_secs`
    /// (0: it stops at once, e.g. after a leak). A secret still in an earlier overlap is
    /// dropped. `None` when no webhook is configured.
    pub async fn rotate_webhook_secret(
        &self,
        tenant_id: &str,
        overlap_secs: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(WebhookInfo, String)>> {
        let secret = generate_secret().map_err(|e| StoreError::Corrupt(format!("CSPRNG: {e}")))?;
        let cond = Cond::exists()
            .value(":new", s(&secret))
            .value(":now", s(iso(now)));
        let (expr, cond) = if overlap_secs == 0 {
            (
                "SET secret = :new, secretCreatedAt = :now, updatedAt = :now \
                 REMOVE previousSecret, previousSecretExpiresAt",
                cond,
            )
        } else {
            let until = now.timestamp() + i64::try_from(overlap_secs).unwrap_or(i64::MAX / 2);
            (
                "SET previousSecret = secret, previousSecretExpiresAt = :until, \
                 secret = :new, secretCreatedAt = :now, updatedAt = :now",
                cond.value(":until", n(until)),
            )
        };
        let rotated = self
            .update_if(&tenant_pk(tenant_id), WEBHOOK_SK, expr, cond, Returns::NEW)
            .await?
            .new_as::<WebhookItem>()?;
        Ok(rotated.map(|item| (WebhookSettings::from(item).info(now), secret)))
    }

    /// For a tenant from before tenants kept whether their webhook wants `message.status`
    /// (`statusEvents`): works it out from the webhook ([`Store::webhook_subscribes`]) and
    /// writes it with every live key's copy, in the transaction a webhook change makes
    /// ([`Store::status_events_writes_of`]); a webhook change meanwhile bumps the tenant's
    /// version and this reads again. A tenant that has it is left alone.
    pub async fn backfill_status_events(
        &self,
        tenant_id: &str,
    ) -> StoreResult<StatusEventsBackfill> {
        table::retry("backfill status events", |_| async move {
            let (tenant, wants) = tokio::try_join!(
                self.get_tenant_item(tenant_id),
                self.webhook_subscribes(tenant_id, EventType::MessageStatus),
            )?;
            let tenant = match tenant {
                None => return Ok(Some(StatusEventsBackfill::default())),
                Some(t) if t.status_events.is_some() => {
                    return Ok(Some(StatusEventsBackfill {
                        written: 0,
                        already: 1,
                    }))
                }
                Some(t) => t,
            };
            let writes = self.status_events_writes_of(tenant, wants).await?;
            let done = self
                .commit(writes)
                .await?
                .done_or_lost("backfill status events")?;
            Ok(done.then_some(StatusEventsBackfill {
                written: 1,
                already: 0,
            }))
        })
        .await
    }

    /// Whether the tenant has a webhook subscribed to `t`: one strongly consistent read
    /// of its event list (a publisher's check before queueing; the dispatcher decides).
    pub async fn webhook_subscribes(&self, tenant_id: &str, t: EventType) -> StoreResult<bool> {
        #[derive(Deserialize)]
        struct EventsOnly {
            events: Vec<EventType>,
        }
        let w: Option<EventsOnly> = self
            .get_with(&tenant_pk(tenant_id), WEBHOOK_SK, true, Some("events"))
            .await?;
        Ok(w.is_some_and(|w| w.events.contains(&t)))
    }

    // -- dispatcher -------------------------------------------------------------------

    /// The tenant's plan, its webhook and the event's record, in one round trip.
    pub async fn delivery_context(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> StoreResult<DeliveryContext> {
        let pk = tenant_pk(tenant_id);
        let keys = [
            (pk.clone(), TENANT_SK.to_string()),
            (pk.clone(), WEBHOOK_SK.to_string()),
            (pk, delivery_sk(event_id)),
        ];
        let mut ctx = DeliveryContext::default();
        // Eventually consistent (half the read units): a settings change shows within a
        // second; the record's claim is a conditional write, and a record is never read
        // for a retry less than a minute after it was written.
        for item in self.batch_get(&keys, false).await? {
            match item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(TENANT_SK) => {
                    #[derive(Deserialize)]
                    #[serde(rename_all = "camelCase")]
                    struct PlanOnly {
                        plan: Plan,
                        #[serde(default)]
                        limits: LimitOverrides,
                    }
                    let p: PlanOnly = from_item(item)?;
                    ctx.plan = Some((p.plan, p.limits));
                }
                Some(WEBHOOK_SK) => {
                    ctx.webhook = Some(from_item::<WebhookItem>(item)?.into());
                }
                Some(_) => ctx.record = Some(from_item::<DeliveryItem>(item)?.into()),
                None => {}
            }
        }
        Ok(ctx)
    }

    /// Records a new event with its first attempt claimed. `false` when the event is
    /// already recorded (a duplicate publication): go through [`Store::claim_attempt`].
    pub async fn create_delivery(
        &self,
        tenant_id: &str,
        event_id: &str,
        event_type: EventType,
        payload: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let status = DeliveryStatus::Pending;
        let item = DeliveryItem {
            id: event_id.into(),
            event_type,
            payload: payload.into(),
            created_at: now,
            status,
            attempt_count: 0,
            round_start: 0,
            trigger: Trigger::Automatic,
            attempts: Vec::new(),
            next_attempt_at: Some(now.timestamp()),
            inflight_seq: Some(1),
            inflight_at: Some(now.timestamp()),
            expires_at: now.timestamp() + DELIVERY_RETENTION_DAYS * 86_400,
        };
        // Not on GSI1 yet: the attempt's record puts it there (an index entry written once
        // instead of written and moved, 2 write units less per event). A first attempt in
        // flight is listed without a status filter only.
        let item = keyed(&item, tenant_pk(tenant_id), delivery_sk(event_id))?;
        self.put_if(item, Cond::absent()).await
    }

    /// Claims attempt `seq`: the record must be pending, have made `seq - 1` attempts, and
    /// carry no claim younger than `stale_before` (Unix seconds).
    pub async fn claim_attempt(
        &self,
        tenant_id: &str,
        event_id: &str,
        seq: u32,
        now: DateTime<Utc>,
        stale_before: i64,
    ) -> StoreResult<Claim> {
        let claimed = self
            .update_if(
                &tenant_pk(tenant_id),
                &delivery_sk(event_id),
                "SET inflightSeq = :seq, inflightAt = :now",
                Cond::new(
                    "attribute_exists(PK) AND #status = :pending AND attemptCount = :prev \
                     AND (attribute_not_exists(inflightAt) OR inflightAt < :stale)",
                )
                .name("#status", "status")
                .value(":seq", n(seq))
                .value(":prev", n(seq.saturating_sub(1)))
                .value(":now", n(now.timestamp()))
                .value(":stale", n(stale_before))
                .value(":pending", s(DeliveryStatus::Pending.as_str()))
                .returning_old(),
                Returns::NEW,
            )
            .await?;
        match claimed {
            Written::Applied(new) => Ok(Claim::Claimed(from_item::<DeliveryItem>(new)?.into())),
            Written::Refused(None) => Ok(Claim::NotExpected),
            Written::Refused(Some(old)) => {
                let old: DeliveryItem = from_item(old)?;
                Ok(if old.attempt_count >= seq {
                    Claim::AlreadyDone
                } else if old.status == DeliveryStatus::Pending
                    && old.attempt_count + 1 == seq
                    && old.inflight_at.is_some()
                {
                    Claim::Busy
                } else {
                    Claim::NotExpected
                })
            }
        }
    }

    /// Records attempt `seq` under its claim and moves the record on. `false` when the
    /// claim was lost (taken over as stale): the other worker records instead.
    pub async fn record_attempt(
        &self,
        tenant_id: &str,
        event_id: &str,
        event_type: EventType,
        seq: u32,
        attempt: &Attempt,
        outcome: &Outcome,
    ) -> StoreResult<bool> {
        let status = match outcome {
            Outcome::Delivered => DeliveryStatus::Delivered,
            Outcome::RetryAt(_) => DeliveryStatus::Pending,
            Outcome::Dropped => DeliveryStatus::Failed,
        };
        let mut cond = Cond::new("inflightSeq = :seq AND attemptCount = :prev")
            .name("#status", "status")
            .value(":seq", n(seq))
            .value(":prev", n(seq.saturating_sub(1)))
            .value(":status", s(status.as_str()))
            .value(":gsi", s(status_pk(tenant_id, status, event_type)))
            .value(":gsisk", s(event_id))
            .value(
                ":attempt",
                AttributeValue::L(vec![serde_dynamo::to_attribute_value::<_, AttributeValue>(
                    attempt,
                )?]),
            )
            .value(":empty", AttributeValue::L(vec![]));
        let set = "SET #status = :status, GSI1PK = :gsi, GSI1SK = :gsisk, attemptCount = :seq, \
                   attempts = list_append(if_not_exists(attempts, :empty), :attempt)";
        let expr = match outcome {
            Outcome::RetryAt(at) => {
                cond = cond.value(":next", n(*at));
                format!("{set}, nextAttemptAt = :next REMOVE inflightSeq, inflightAt")
            }
            _ => format!("{set} REMOVE inflightSeq, inflightAt, nextAttemptAt"),
        };
        let recorded = self
            .update_if(
                &tenant_pk(tenant_id),
                &delivery_sk(event_id),
                &expr,
                cond,
                Returns::NOTHING,
            )
            .await?;
        Ok(recorded.applied())
    }

    // -- delivery log -----------------------------------------------------------------

    pub async fn get_delivery(
        &self,
        tenant_id: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DeliveryDetail>> {
        let Some(d) = self.delivery_item(tenant_id, event_id).await? else {
            return Ok(None);
        };
        if d.expires_at <= now.timestamp() {
            return Ok(None);
        }
        Ok(Some(DeliveryDetail {
            delivery: d.delivery(),
            payload: d.payload,
        }))
    }

    /// Deliveries newest first, optionally of one status and/or one event type, a page at
    /// a time. `before` is the previous page's cursor (the last id it showed).
    pub async fn list_deliveries(
        &self,
        tenant_id: &str,
        status: Option<DeliveryStatus>,
        event_type: Option<EventType>,
        limit: i32,
        before: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<DeliveryPage> {
        let limit_n = usize::try_from(limit).unwrap_or(50).max(1);
        let mut items: Vec<DeliveryItem> = Vec::new();
        let mut maybe_more = false;
        if status.is_none() && event_type.is_none() {
            // The tenant's partition: SK between the prefix and the cursor (inclusive,
            // so one more is read and the cursor's own item skipped).
            let hi = match before {
                Some(c) => delivery_sk(c),
                None => format!("{DELIVERY_PREFIX}\u{10FFFF}"),
            };
            let q = Query::partition(tenant_pk(tenant_id))
                .between(DELIVERY_PREFIX, hi)
                .newest_first();
            let (found, last) = self.query_items(&q, Some(limit + 1), None).await?;
            maybe_more = last.is_some();
            for item in found {
                items.push(from_item(item)?);
            }
        } else {
            // One GSI1 partition per (status, type) pair asked for, queried side by side
            // and merged by id (time order).
            let statuses: Vec<DeliveryStatus> =
                status.map_or(DeliveryStatus::ALL.to_vec(), |s| vec![s]);
            let types: Vec<EventType> = event_type.map_or(EventType::ALL.to_vec(), |t| vec![t]);
            let queries = statuses.iter().flat_map(|st| {
                types.iter().map(move |t| async move {
                    let q = Query::index(GSI1, status_pk(tenant_id, *st, *t)).newest_first();
                    let q = match before {
                        Some(c) => q.below(c),
                        None => q,
                    };
                    self.query_items(&q, Some(limit), None).await
                })
            });
            for out in futures::future::join_all(queries).await {
                let (found, last) = out?;
                maybe_more |= last.is_some();
                for item in found {
                    items.push(from_item(item)?);
                }
            }
            items.sort_by(|a, b| b.id.cmp(&a.id));
        }
        let mut deliveries: Vec<Delivery> = items
            .into_iter()
            .filter(|d| Some(d.id.as_str()) != before && d.expires_at > now.timestamp())
            .map(|d| d.delivery())
            .collect();
        if deliveries.len() > limit_n {
            deliveries.truncate(limit_n);
            maybe_more = true;
        }
        let next_cursor = if maybe_more {
            deliveries.last().map(|d| d.id.clone())
        } else {
            None
        };
        Ok(DeliveryPage {
            deliveries,
            next_cursor,
        })
    }

    /// Starts a new round of attempts for a delivered or dropped event (or a pending one
    /// whose queue message is lost). The caller queues attempt `seq`.
    pub async fn start_redelivery(
        &self,
        tenant_id: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<RedeliverOutcome> {
        table::retry("redeliver", |_| async move {
            let Some(d) = self.delivery_item(tenant_id, event_id).await? else {
                return Ok(Some(RedeliverOutcome::NotFound));
            };
            if d.expires_at <= now.timestamp() {
                return Ok(Some(RedeliverOutcome::NotFound));
            }
            let stuck = d.status == DeliveryStatus::Pending
                && d.next_attempt_at
                    .is_some_and(|t| t + STUCK_AFTER_SECS < now.timestamp());
            if d.status == DeliveryStatus::Pending && !stuck {
                return Ok(Some(RedeliverOutcome::AlreadyPending));
            }
            if d.attempt_count >= MAX_ATTEMPTS_PER_EVENT {
                return Ok(Some(RedeliverOutcome::TooManyAttempts));
            }
            let status = DeliveryStatus::Pending;
            let updated = self
                .update_if(
                    &tenant_pk(tenant_id),
                    &delivery_sk(event_id),
                    "SET #status = :pending, GSI1PK = :gsi, roundStart = attemptCount, \
                     #trigger = :manual, nextAttemptAt = :now REMOVE inflightSeq, inflightAt",
                    Cond::new("#status = :was AND attemptCount = :count")
                        .name("#status", "status")
                        .name("#trigger", "trigger")
                        .value(":pending", s(status.as_str()))
                        .value(":gsi", s(status_pk(tenant_id, status, d.event_type)))
                        .value(":manual", s("manual"))
                        .value(":now", n(now.timestamp()))
                        .value(":was", s(d.status.as_str()))
                        .value(":count", n(d.attempt_count)),
                    Returns::NEW,
                )
                .await?;
            Ok(updated
                .new_as::<DeliveryItem>()?
                .map(|d| RedeliverOutcome::Started {
                    seq: d.attempt_count + 1,
                    delivery: d.delivery(),
                }))
        })
        .await
    }

    async fn delivery_item(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> StoreResult<Option<DeliveryItem>> {
        self.get(&tenant_pk(tenant_id), &delivery_sk(event_id))
            .await
    }

    /// Undoes [`Store::start_redelivery`] when its queue message could not be sent.
    pub async fn abandon_redelivery(
        &self,
        tenant_id: &str,
        event_id: &str,
        event_type: EventType,
        seq: u32,
        back_to: DeliveryStatus,
    ) -> StoreResult<()> {
        // Refused: an attempt started meanwhile, so the redelivery goes on after all.
        self.update_if(
            &tenant_pk(tenant_id),
            &delivery_sk(event_id),
            "SET #status = :back, GSI1PK = :gsi REMOVE nextAttemptAt",
            Cond::new(
                "#status = :pending AND attemptCount = :count AND attribute_not_exists(inflightSeq)",
            )
            .name("#status", "status")
            .value(":back", s(back_to.as_str()))
            .value(":gsi", s(status_pk(tenant_id, back_to, event_type)))
            .value(":pending", s(DeliveryStatus::Pending.as_str()))
            .value(":count", n(seq.saturating_sub(1))),
            Returns::NOTHING,
        )
        .await?;
        Ok(())
    }
}

/// What `wati-admin webhooks backfill-status-events` did: tenants given their answer, and
/// tenants that had it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusEventsBackfill {
    pub written: u64,
    pub already: u64,
}
