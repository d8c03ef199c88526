//! The campaign engine: what `POST …/run`, the scheduler and the campaign worker call.
//! Design and failure handling: `docs/campaigns.md`.
//!
//! - [`advance`] moves a campaign one step: starts it when its `scheduledAt` has come,
//!   resumes a daily-cap pause on the next UTC day, queues the next batch when none is in
//!   flight, queues a stalled batch's leftovers again, or completes it. Every step is one
//!   conditional write, so any number of concurrent callers (run, the minute job, workers)
//!   cannot queue a batch twice.
//! - A batch reads one page of the audience (a chunk of the stored array, or a page of the
//!   tag or list from the stored cursor), writes its recipients as `queued` together with
//!   the campaign's counters, cursor and pacing (one transaction), then puts one SQS message
//!   per recipient with an increasing `DelaySeconds`: no Lambda sleeps.
//! - [`handle_task`] (the worker) claims the recipient (`queued → sending`, only while the
//!   campaign runs), sends it through [`crate::services::sending`] (daily cap, device, provider,
//!   message record), records `sent` or `failed` with the counters, and queues the next
//!   batch when this one is done.

use crate::adapters::providers::Content;
use crate::adapters::queues::{self, Outgoing};
use crate::domain::campaigns::{
    plan_batch, rendered_text, CampaignStatus, ChunkCursor, Entry, PauseReason, RecipientStatus,
};
use crate::domain::messages::MessageStatus;
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::quota::{cap_for, day_of, limit_reached_message, next_midnight, Limit};
use crate::domain::webhooks::{CampaignCompleted, WebhookEvent};
use crate::runtime::clock::iso;
use crate::runtime::state::AppState;
use crate::services::sending::{self, SendError, SendRequest};
use crate::store::batch::Cond;
use crate::store::campaigns::{Audience, Campaign, Claim, Due, NewBatch, Outcome, Recipient};
use crate::store::contacts::AudienceMember;
use crate::store::messages::MessageSource;
use crate::store::{n, s, StoreError};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A claim older than this belongs to a process that no longer exists: the worker's
/// Lambda timeout (30 s) is far shorter, so nothing can still be sending under it.
pub const STALE_CLAIM_MS: i64 = 120_000;
/// A batch whose last message was due this long ago and still has `queued` recipients has
/// lost messages (an SQS send that failed, a crash before queueing): they are queued again.
/// Longer than the queue's visibility timeout (180 s), so SQS's own retries come first.
pub const STALE_BATCH_SECS: i64 = 300;
/// The scheduler looks at a running campaign this long after its batch's last message is
/// due (the worker normally queues the next batch first, when the batch's last recipient
/// is done).
pub const CHECK_AFTER_BATCH_SECS: i64 = 60;
/// A suspended tenant's campaign is looked at again after this long.
const SUSPENDED_RECHECK_SECS: i64 = 600;
/// Steps one [`advance`] call takes at most (start, resume, batch…).
const MAX_STEPS: usize = 6;

/// Who asked for the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `POST …/run`.
    Run,
    /// The every-minute or daily job, through the campaign's scheduler entry.
    Scheduler,
    /// A worker that just finished the last recipient in flight.
    Chain,
}

/// A batch as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// Batches are numbered from 1.
    pub number: u32,
    /// Recipients in the batch.
    pub size: u32,
    /// Of them, still queued or being sent.
    pub queued: u64,
    /// When its first and last messages are due (ISO-8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_send_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_send_at: Option<String>,
}

/// What one [`advance`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Advance {
    /// A new batch was queued.
    Queued(BatchInfo),
    /// The batch in flight had leftovers (after a pause, or lost messages): queued again.
    Requeued {
        batch: BatchInfo,
        requeued: usize,
    },
    /// A batch is in flight: nothing was queued.
    InFlight(BatchInfo),
    /// The next message is due later than SQS can delay it (only after a far-ahead start).
    Waiting {
        next_send_at: String,
    },
    /// The audience is done and every recipient settled: now `completed`.
    Completed,
    /// Scheduled for later.
    NotDue {
        scheduled_at: String,
    },
    /// Paused (`now`: by this call).
    Paused {
        reason: PauseReason,
        message: String,
        resumes_at: Option<String>,
        now: bool,
    },
    /// Already completed or cancelled.
    Finished(CampaignStatus),
    /// The tenant is suspended: nothing is sent.
    Suspended,
    NotFound,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("queueing campaign messages failed: {0}")]
    Queue(String),
    #[error("CAMPAIGN_QUEUE_URL is not configured")]
    NoQueue,
}

/// One recipient's send, as an SQS message on the campaign queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendTask {
    pub tenant_id: String,
    pub campaign_id: String,
    /// The recipient's sort key (`R#<batch>#<index>`).
    pub recipient: String,
    pub to: String,
    /// The message with its variables filled in.
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The tenant's plan and limits when the batch was queued (the daily cap's size).
    pub plan: Plan,
    #[serde(default)]
    pub limits: LimitOverrides,
    pub key_id: String,
    /// When it is due (Unix ms), for the logs.
    pub due_ms: i64,
}

fn ms_iso(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(iso)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The batch a campaign has in flight (or last had).
pub fn batch_info(c: &Campaign) -> Option<BatchInfo> {
    (c.batch > 0).then(|| BatchInfo {
        number: c.batch,
        size: c.batch_size,
        queued: c.queued,
        first_send_at: c.batch_first_due_ms.and_then(ms_iso),
        last_send_at: c.batch_last_due_ms.and_then(ms_iso),
    })
}

/// When a daily-cap pause ends: the start of the UTC day after the pause.
pub fn resumes_at(c: &Campaign) -> Option<String> {
    if c.pause_reason != Some(PauseReason::DailyLimit) {
        return None;
    }
    let day = c.paused_day.as_deref()?;
    let start = parse_time(&format!("{day}T00:00:00Z"))?;
    Some(iso(next_midnight(start)))
}

enum Step {
    Done(Advance),
    Again,
}

/// Moves a campaign one step (see the module docs). Safe to call from anywhere at any time.
pub async fn advance(
    state: &AppState,
    tenant_id: &str,
    campaign_id: &str,
    trigger: Trigger,
) -> Result<Advance, EngineError> {
    let mut last = None;
    for _ in 0..MAX_STEPS {
        let Some(c) = state.store.get_campaign(tenant_id, campaign_id).await? else {
            if trigger == Trigger::Scheduler {
                state
                    .store
                    .set_campaign_due(tenant_id, campaign_id, Due::Remove)
                    .await?;
            }
            return Ok(Advance::NotFound);
        };
        let in_flight = batch_info(&c);
        match step(state, &c, trigger).await? {
            Step::Done(a) => return Ok(a),
            Step::Again => last = in_flight,
        }
    }
    // Still moving after several steps (others are working on it too): report the batch.
    Ok(Advance::InFlight(last.unwrap_or(BatchInfo {
        number: 0,
        size: 0,
        queued: 0,
        first_send_at: None,
        last_send_at: None,
    })))
}

async fn step(state: &AppState, c: &Campaign, trigger: Trigger) -> Result<Step, EngineError> {
    let now = state.clock.now();
    let store = &state.store;
    match c.status {
        CampaignStatus::Completed => {
            if trigger == Trigger::Scheduler {
                // Its entry stays until the completion event is out.
                publish_completed(state, c).await;
            }
            Ok(Step::Done(Advance::Finished(c.status)))
        }
        CampaignStatus::Cancelled => {
            if trigger == Trigger::Scheduler {
                store
                    .set_campaign_due(&c.tenant_id, &c.id, Due::Remove)
                    .await?;
            }
            Ok(Step::Done(Advance::Finished(c.status)))
        }
        CampaignStatus::Scheduled => {
            let at = c
                .scheduled_at
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(now);
            if now < at {
                if trigger == Trigger::Scheduler {
                    store
                        .set_campaign_due(&c.tenant_id, &c.id, Due::At(at.timestamp()))
                        .await?;
                }
                return Ok(Step::Done(Advance::NotDue {
                    scheduled_at: iso(at),
                }));
            }
            let started = store
                .transition_campaign(
                    &c.tenant_id,
                    &c.id,
                    "SET #st = :to, #upd = :now",
                    status_cond("#st = :scheduled", CampaignStatus::Running, &iso(now))
                        .value(":scheduled", s(CampaignStatus::Scheduled.as_str())),
                    Due::At(now.timestamp()),
                )
                .await?;
            if started {
                tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, "scheduled campaign started");
            }
            Ok(Step::Again)
        }
        CampaignStatus::Paused => {
            let reason = c.pause_reason.unwrap_or(PauseReason::DailyLimit);
            let resume = match reason {
                PauseReason::DailyLimit => c
                    .paused_day
                    .as_deref()
                    .is_none_or(|day| day_of(now).as_str() > day),
                PauseReason::DeviceUnavailable => trigger == Trigger::Run,
            };
            if !resume {
                let resumes = resumes_at(c);
                if trigger == Trigger::Scheduler {
                    let due = match resumes.as_deref().and_then(parse_time) {
                        Some(at) => Due::At(at.timestamp()),
                        None => Due::Remove,
                    };
                    store.set_campaign_due(&c.tenant_id, &c.id, due).await?;
                }
                return Ok(Step::Done(Advance::Paused {
                    reason,
                    message: c.pause_message.clone().unwrap_or_default(),
                    resumes_at: resumes,
                    now: false,
                }));
            }
            // Running again; the batch's leftovers (their messages were dropped while
            // paused) are queued again at once: `batchLastDueMs = 0` makes the batch stale.
            let resumed = store
                .transition_campaign(
                    &c.tenant_id,
                    &c.id,
                    "SET #st = :to, #upd = :now, #blast = :zero REMOVE #pr, #pm, #pd",
                    status_cond(
                        "#st = :paused AND #pr = :reason",
                        CampaignStatus::Running,
                        &iso(now),
                    )
                    .name("#blast", "batchLastDueMs")
                    .name("#pr", "pauseReason")
                    .name("#pm", "pauseMessage")
                    .name("#pd", "pausedDay")
                    .value(":paused", s(CampaignStatus::Paused.as_str()))
                    .value(":reason", s(reason.as_str()))
                    .value(":zero", n(0)),
                    Due::At(now.timestamp()),
                )
                .await?;
            if resumed {
                tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, reason = reason.as_str(), "campaign resumed");
            }
            Ok(Step::Again)
        }
        CampaignStatus::Running => running(state, c, trigger, now).await,
    }
}

/// A condition on the campaign's status with the usual placeholders: `#st`, `#upd`,
/// `:to` (the status to set, or to test) and `:now`.
fn status_cond(expr: &str, to: CampaignStatus, now: &str) -> Cond {
    Cond::new(expr)
        .name("#st", "status")
        .name("#upd", "updatedAt")
        .value(":to", s(to.as_str()))
        .value(":now", s(now))
}

async fn running(
    state: &AppState,
    c: &Campaign,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Step, EngineError> {
    let now_ms = now.timestamp_millis();
    if c.queued > 0 {
        let last_due = c.batch_last_due_ms.unwrap_or(0);
        let stale_at = last_due + STALE_BATCH_SECS * 1000;
        if now_ms < stale_at {
            if trigger == Trigger::Scheduler {
                state
                    .store
                    .set_campaign_due(&c.tenant_id, &c.id, Due::At(stale_at / 1000 + 1))
                    .await?;
            }
            return Ok(Step::Done(Advance::InFlight(batch_info(c).unwrap_or(
                BatchInfo {
                    number: c.batch,
                    size: c.batch_size,
                    queued: c.queued,
                    first_send_at: None,
                    last_send_at: None,
                },
            ))));
        }
        return recover(state, c, trigger, now).await;
    }
    if c.source_done && c.pending == 0 {
        return complete(state, c, now).await;
    }
    queue_batch(state, c, trigger, now).await
}

/// The tenant's plan, limits and suspension, and how many outbound units are left today.
struct Sender {
    plan: Plan,
    limits: LimitOverrides,
    suspended: bool,
    remaining: Option<u32>,
    cap: Option<u32>,
}

async fn sender(state: &AppState, c: &Campaign, now: DateTime<Utc>) -> Result<Sender, EngineError> {
    let (tenant, usage) = tokio::join!(
        state.store.get_tenant(&c.tenant_id),
        state.store.usage(&c.tenant_id, now)
    );
    let Some(tenant) = tenant? else {
        return Ok(Sender {
            plan: Plan::Free,
            limits: LimitOverrides::default(),
            suspended: true,
            remaining: Some(0),
            cap: Some(0),
        });
    };
    let used = usage?.get(&Limit::MessagesPerDay).copied().unwrap_or(0);
    let cap = cap_for(tenant.plan, &tenant.limits, Limit::MessagesPerDay);
    Ok(Sender {
        plan: tenant.plan,
        limits: tenant.limits,
        suspended: tenant.suspended,
        remaining: cap.map(|cap| cap.saturating_sub(used)),
        cap,
    })
}

/// Pauses a running campaign. A daily-cap pause is looked at again at the next UTC
/// midnight; a device pause waits for `POST …/run`.
pub async fn pause(
    state: &AppState,
    tenant_id: &str,
    campaign_id: &str,
    reason: PauseReason,
    message: &str,
) -> Result<bool, EngineError> {
    let now = state.clock.now();
    let due = match reason {
        PauseReason::DailyLimit => Due::At(next_midnight(now).timestamp()),
        PauseReason::DeviceUnavailable => Due::Remove,
    };
    let mut paused = false;
    for attempt in 0..4u32 {
        paused = state
            .store
            .transition_campaign(
                tenant_id,
                campaign_id,
                "SET #st = :paused, #pr = :reason, #pm = :message, #pd = :day, #upd = :now",
                status_cond("#st = :to", CampaignStatus::Running, &iso(now))
                    .name("#pr", "pauseReason")
                    .name("#pm", "pauseMessage")
                    .name("#pd", "pausedDay")
                    .value(":paused", s(CampaignStatus::Paused.as_str()))
                    .value(":reason", s(reason.as_str()))
                    .value(":message", s(message))
                    .value(":day", s(day_of(now))),
                due,
            )
            .await?;
        if paused {
            break;
        }
        // Not running any more (paused or cancelled by someone else), or another
        // transaction held the campaign (a worker settling a recipient): look again.
        let running = state
            .store
            .get_campaign(tenant_id, campaign_id)
            .await?
            .is_some_and(|c| c.status == CampaignStatus::Running);
        if !running {
            break;
        }
        crate::store::batch::backoff(attempt + 1).await;
    }
    if paused {
        tracing::info!(
            campaign_id,
            tenant_id,
            reason = reason.as_str(),
            message,
            "campaign paused"
        );
    }
    Ok(paused)
}

fn daily_limit_message(s: &Sender) -> String {
    let cap = s.cap.unwrap_or(0);
    format!(
        "{}: the campaign resumes by itself at 00:00 UTC",
        limit_reached_message(Limit::MessagesPerDay, cap, s.plan)
    )
}

/// One page of the audience: at most `size` members from the campaign's cursor, the
/// cursor after them, and whether the audience ends there.
async fn read_audience(
    state: &AppState,
    c: &Campaign,
    size: usize,
) -> Result<(Vec<AudienceMember>, Option<String>, bool), EngineError> {
    let store = &state.store;
    match &c.audience {
        Audience::Recipients => {
            let mut cur = c
                .cursor
                .as_deref()
                .and_then(ChunkCursor::parse)
                .unwrap_or_default();
            let mut members = Vec::with_capacity(size);
            while members.len() < size && cur.chunk < c.chunks {
                let entries = store.campaign_chunk(&c.tenant_id, &c.id, cur.chunk).await?;
                let from = cur.offset as usize;
                let take = (size - members.len()).min(entries.len().saturating_sub(from));
                members.extend(entries.iter().skip(from).take(take).map(|e: &Entry| {
                    AudienceMember {
                        contact_id: String::new(),
                        name: e.name.clone(),
                        phone: e.phone.clone(),
                    }
                }));
                cur.offset += take as u32;
                if cur.offset as usize >= entries.len() {
                    cur = ChunkCursor {
                        chunk: cur.chunk + 1,
                        offset: 0,
                    };
                }
            }
            let done = cur.chunk >= c.chunks;
            Ok((members, (!done).then(|| cur.to_string()), done))
        }
        Audience::Tag { tag } => {
            let mut cursor = c.cursor.clone();
            // A page can come back empty with a cursor (the previous one ended exactly at
            // the last contact): read on.
            for _ in 0..3 {
                let page = store
                    .contacts_page_by_tag(&c.tenant_id, tag, cursor.as_deref(), size as i32)
                    .await?;
                let done = page.next_cursor.is_none();
                if !page.members.is_empty() || done {
                    return Ok((page.members, page.next_cursor, done));
                }
                cursor = page.next_cursor;
            }
            Ok((Vec::new(), cursor, false))
        }
        Audience::ContactList { contact_list_id } => {
            // A deleted list ends the campaign's audience (its members may still be listed
            // until the list's clean-up is done).
            if store
                .get_contact_list(&c.tenant_id, contact_list_id)
                .await?
                .is_none()
            {
                return Ok((Vec::new(), None, true));
            }
            let mut cursor = c.cursor.clone();
            for _ in 0..3 {
                let page = store
                    .list_members_page(
                        &c.tenant_id,
                        contact_list_id,
                        cursor.as_deref(),
                        size as i32,
                    )
                    .await?;
                let done = page.next_cursor.is_none();
                if !page.members.is_empty() || done {
                    return Ok((page.members, page.next_cursor, done));
                }
                cursor = page.next_cursor;
            }
            Ok((Vec::new(), cursor, false))
        }
    }
}

async fn queue_batch(
    state: &AppState,
    c: &Campaign,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Step, EngineError> {
    let now_ms = now.timestamp_millis();
    let store = &state.store;
    if state.config.campaign_queue_url.is_none() {
        return Err(EngineError::NoQueue);
    }
    let sender = sender(state, c, now).await?;
    if sender.suspended {
        if trigger == Trigger::Scheduler {
            store
                .set_campaign_due(
                    &c.tenant_id,
                    &c.id,
                    Due::At(now.timestamp() + SUSPENDED_RECHECK_SECS),
                )
                .await?;
        }
        return Ok(Step::Done(Advance::Suspended));
    }
    if sender.remaining == Some(0) {
        let message = daily_limit_message(&sender);
        pause(
            state,
            &c.tenant_id,
            &c.id,
            PauseReason::DailyLimit,
            &message,
        )
        .await?;
        return Ok(Step::Done(Advance::Paused {
            reason: PauseReason::DailyLimit,
            message,
            resumes_at: Some(iso(next_midnight(now))),
            now: true,
        }));
    }
    let wanted = state
        .config
        .campaign_batch_size
        .min(sender.remaining.map_or(usize::MAX, |r| r as usize));
    let plan = plan_batch(now_ms, c.next_send_at_ms, c.delay_seconds, wanted);
    if plan.delays.is_empty() {
        let at = plan.next_send_at_ms / 1000 - crate::domain::campaigns::MAX_SQS_DELAY_SECS + 1;
        if trigger == Trigger::Scheduler {
            store
                .set_campaign_due(&c.tenant_id, &c.id, Due::At(at))
                .await?;
        }
        return Ok(Step::Done(Advance::Waiting {
            next_send_at: ms_iso(plan.next_send_at_ms).unwrap_or_default(),
        }));
    }
    let (members, cursor, done) = read_audience(state, c, plan.delays.len()).await?;
    if members.is_empty() {
        if !done {
            // Empty pages in a row: try again on the next call.
            return Ok(Step::Done(Advance::InFlight(batch_info(c).unwrap_or(
                BatchInfo {
                    number: c.batch,
                    size: 0,
                    queued: 0,
                    first_send_at: None,
                    last_send_at: None,
                },
            ))));
        }
        // The audience ended exactly at the previous batch.
        store
            .transition_campaign(
                &c.tenant_id,
                &c.id,
                "SET #done = :true, #upd = :now REMOVE #cursor",
                status_cond(
                    "#st = :to AND #batch = :b AND #queued = :zero",
                    CampaignStatus::Running,
                    &iso(now),
                )
                .name("#done", "sourceDone")
                .name("#cursor", "cursor")
                .name("#batch", "batch")
                .name("#queued", "queued")
                .value(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
                .value(":b", n(c.batch))
                .value(":zero", n(0)),
                Due::Keep,
            )
            .await?;
        return Ok(Step::Again);
    }

    // Recipients that can be sent get the plan's slots in order; one whose message would
    // be too long with its name is recorded as failed at once.
    let batch_no = c.batch + 1;
    let at = iso(now);
    let texts: Vec<Result<String, String>> = members
        .iter()
        .map(|m| rendered_text(&c.message, &m.name, &m.phone))
        .collect();
    let sendable = texts.iter().filter(|t| t.is_ok()).count();
    let plan = plan_batch(now_ms, c.next_send_at_ms, c.delay_seconds, sendable);
    let mut slots = plan.due_ms.iter().copied();
    let mut recipients = Vec::with_capacity(members.len());
    let mut tasks = Vec::with_capacity(sendable);
    let mut delays = plan.delays.iter().copied();
    for (i, (m, text)) in members.iter().zip(texts).enumerate() {
        let mut r = Recipient {
            batch: batch_no,
            index: i as u32,
            phone: m.phone.clone(),
            name: m.name.clone(),
            contact_id: (!m.contact_id.is_empty()).then(|| m.contact_id.clone()),
            status: RecipientStatus::Queued,
            message_id: None,
            claimed_at_ms: None,
            attempts: 0,
            wa_message_id: None,
            error: None,
            error_code: None,
            due_ms: None,
            queued_at: at.clone(),
            updated_at: at.clone(),
            sent_at: None,
            failed_at: None,
        };
        match text {
            Ok(text) => {
                let due = slots.next().unwrap_or(now_ms);
                r.due_ms = Some(due);
                tasks.push((delays.next().unwrap_or(0), task(c, &sender, &r, text, due)));
            }
            Err(e) => {
                r.status = RecipientStatus::Failed;
                r.error = Some(e);
                r.failed_at = Some(at.clone());
            }
        }
        recipients.push(r);
    }
    let k = recipients.len() as u64;
    let first_due = plan.due_ms.first().copied().unwrap_or(now_ms);
    let last_due = plan.due_ms.last().copied().unwrap_or(now_ms);
    let next_send_at_ms = if plan.due_ms.is_empty() {
        c.next_send_at_ms
    } else {
        plan.next_send_at_ms
    };
    let from_array = c.audience == Audience::Recipients;
    let committed = store
        .commit_batch(NewBatch {
            campaign: c,
            recipients,
            cursor: cursor.clone(),
            source_done: done,
            new_total: if from_array { 0 } else { k },
            from_pending: if from_array { k } else { 0 },
            first_due_ms: first_due,
            last_due_ms: last_due,
            next_send_at_ms,
            due_at: last_due / 1000 + CHECK_AFTER_BATCH_SECS,
            now: at.clone(),
        })
        .await?;
    if !committed {
        return Ok(Step::Again);
    }
    let info = BatchInfo {
        number: batch_no,
        size: k as u32,
        queued: tasks.len() as u64,
        first_send_at: ms_iso(first_due),
        last_send_at: ms_iso(last_due),
    };
    tracing::info!(
        campaign_id = %c.id,
        tenant_id = %c.tenant_id,
        batch = batch_no,
        size = k,
        queued = tasks.len(),
        last_due = %info.last_send_at.clone().unwrap_or_default(),
        ?trigger,
        "campaign batch queued"
    );
    if tasks.is_empty() {
        // Every recipient of the page failed before sending: on to the next page.
        return Ok(Step::Again);
    }
    if let Err(e) = enqueue(state, &tasks).await {
        // The recipients are recorded as queued: the scheduler queues them again once the
        // batch is overdue (STALE_BATCH_SECS). Nothing is lost, only delayed.
        tracing::error!(campaign_id = %c.id, error = %e, "queueing a batch's messages failed; the scheduler will queue them again");
    }
    Ok(Step::Done(Advance::Queued(info)))
}

fn task(c: &Campaign, sender: &Sender, r: &Recipient, text: String, due_ms: i64) -> SendTask {
    SendTask {
        tenant_id: c.tenant_id.clone(),
        campaign_id: c.id.clone(),
        recipient: r.sk(),
        to: r.phone.clone(),
        text,
        device_id: c.device_id.clone(),
        plan: sender.plan,
        limits: sender.limits,
        key_id: c.api_key_id.clone(),
        due_ms,
    }
}

/// Puts the tasks on the campaign queue, ten per call, each with its delay.
async fn enqueue(state: &AppState, tasks: &[(i32, SendTask)]) -> Result<(), EngineError> {
    let url = state
        .config
        .campaign_queue_url
        .as_deref()
        .ok_or(EngineError::NoQueue)?;
    let outgoing: Vec<_> = tasks
        .iter()
        .map(|(delay, task)| Outgoing {
            body: task,
            delay_secs: u32::try_from(*delay).unwrap_or(0),
        })
        .collect();
    queues::send_all(&state.aws.sqs, url, &outgoing)
        .await
        .map_err(|e| EngineError::Queue(e.to_string()))
}

/// The batch in flight is overdue (lost messages) or the campaign was resumed: queue its
/// `queued` recipients again, and settle claims whose process died from their message
/// records. Guarded by `batchRound`, so two callers cannot both queue them.
async fn recover(
    state: &AppState,
    c: &Campaign,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Step, EngineError> {
    let now_ms = now.timestamp_millis();
    let store = &state.store;
    let recipients = store.batch_recipients(&c.tenant_id, &c.id, c.batch).await?;
    let mut leftovers = Vec::new();
    let mut claimed_until: Option<i64> = None;
    let mut settled = 0;
    for r in recipients {
        match r.status {
            RecipientStatus::Queued => leftovers.push(r),
            RecipientStatus::Sending => {
                let claimed = r.claimed_at_ms.unwrap_or(0);
                if now_ms - claimed < STALE_CLAIM_MS {
                    let until = claimed + STALE_CLAIM_MS;
                    claimed_until = Some(claimed_until.map_or(until, |u: i64| u.max(until)));
                    continue;
                }
                match settle_dead_claim(state, c, &r).await? {
                    Settled::Requeue => leftovers.push(r),
                    Settled::Recorded => settled += 1,
                    Settled::Skipped => {}
                }
            }
            _ => {}
        }
    }
    if leftovers.is_empty() {
        if settled > 0 || claimed_until.is_none() {
            // Counters moved (or the batch is done after all): look again.
            return Ok(Step::Again);
        }
        let until = claimed_until.unwrap_or(now_ms);
        if trigger == Trigger::Scheduler {
            store
                .set_campaign_due(&c.tenant_id, &c.id, Due::At(until / 1000 + 1))
                .await?;
        }
        return Ok(Step::Done(Advance::InFlight(batch_info(c).unwrap_or(
            BatchInfo {
                number: c.batch,
                size: c.batch_size,
                queued: c.queued,
                first_send_at: None,
                last_send_at: None,
            },
        ))));
    }
    let sender = sender(state, c, now).await?;
    if sender.suspended {
        return Ok(Step::Done(Advance::Suspended));
    }
    let plan = plan_batch(now_ms, c.next_send_at_ms, c.delay_seconds, leftovers.len());
    if plan.delays.is_empty() {
        return Ok(Step::Done(Advance::Waiting {
            next_send_at: ms_iso(plan.next_send_at_ms).unwrap_or_default(),
        }));
    }
    let first_due = plan.due_ms.first().copied().unwrap_or(now_ms);
    let last_due = plan.due_ms.last().copied().unwrap_or(now_ms);
    let at = iso(now);
    let claimed = store
        .transition_campaign(
            &c.tenant_id,
            &c.id,
            "SET #bround = :nr, #bfirst = :first, #blast = :last, #next = :next, #upd = :now",
            status_cond(
                "#st = :to AND #batch = :b AND #bround = :r",
                CampaignStatus::Running,
                &at,
            )
            .name("#bround", "batchRound")
            .name("#bfirst", "batchFirstDueMs")
            .name("#blast", "batchLastDueMs")
            .name("#next", "nextSendAtMs")
            .name("#batch", "batch")
            .value(":b", n(c.batch))
            .value(":r", n(c.batch_round))
            .value(":nr", n(c.batch_round + 1))
            .value(":first", n(first_due))
            .value(":last", n(last_due))
            .value(":next", n(plan.next_send_at_ms)),
            Due::At(last_due / 1000 + CHECK_AFTER_BATCH_SECS),
        )
        .await?;
    if !claimed {
        return Ok(Step::Again);
    }
    let mut tasks = Vec::with_capacity(plan.delays.len());
    for ((r, delay), due) in leftovers.iter().zip(&plan.delays).zip(&plan.due_ms) {
        let text = crate::domain::campaigns::render(&c.message, &r.name, &r.phone);
        tasks.push((*delay, task(c, &sender, r, text, *due)));
    }
    enqueue(state, &tasks).await?;
    let requeued = tasks.len();
    tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, batch = c.batch, requeued, settled, ?trigger, "campaign batch queued again");
    Ok(Step::Done(Advance::Requeued {
        batch: BatchInfo {
            number: c.batch,
            size: c.batch_size,
            queued: c.queued,
            first_send_at: ms_iso(first_due),
            last_send_at: ms_iso(last_due),
        },
        requeued,
    }))
}

enum Settled {
    /// Nothing went out: the recipient is `queued` again.
    Requeue,
    /// Its outcome was recorded from the message.
    Recorded,
    /// Someone else settled it first.
    Skipped,
}

/// Message shown for a recipient whose worker died while the provider had its message.
pub const UNKNOWN_OUTCOME: &str = "The campaign worker stopped after handing this message to the provider: whether it went out is unknown, so it is not sent again";

/// A claim whose process died: its message record says what happened. No record: the
/// provider was never called (the send flow records the message before calling it), so
/// the recipient is queued again. `pending`: the provider may have it; it is marked failed
/// and not sent again (a duplicate is worse than a gap). Otherwise the message's outcome.
async fn settle_dead_claim(
    state: &AppState,
    c: &Campaign,
    r: &Recipient,
) -> Result<Settled, EngineError> {
    let store = &state.store;
    let Some(mid) = r.message_id.as_deref() else {
        return Ok(Settled::Skipped);
    };
    let at = iso(state.clock.now());
    let sk = r.sk();
    let outcome = match store.get_message(&c.tenant_id, mid).await? {
        None => {
            return Ok(
                if store
                    .release_recipient(&c.tenant_id, &c.id, &sk, mid, &at)
                    .await?
                {
                    tracing::warn!(campaign_id = %c.id, recipient = %sk, "dead claim released: nothing was sent");
                    Settled::Requeue
                } else {
                    Settled::Skipped
                },
            );
        }
        Some(m) => match m.status {
            MessageStatus::Pending => Outcome::Failed {
                error: UNKNOWN_OUTCOME.to_string(),
                code: None,
            },
            MessageStatus::Failed => Outcome::Failed {
                error: m
                    .error
                    .unwrap_or_else(|| "The message could not be sent".into()),
                code: m.error_code,
            },
            _ => Outcome::Sent {
                wa_message_id: m.wa_message_id,
            },
        },
    };
    let recorded = store
        .record_recipient_outcome(&c.tenant_id, &c.id, &sk, mid, &outcome, &at)
        .await?;
    if recorded {
        tracing::warn!(campaign_id = %c.id, recipient = %sk, ?outcome, "dead claim settled from its message");
    }
    Ok(if recorded {
        Settled::Recorded
    } else {
        Settled::Skipped
    })
}

async fn complete(state: &AppState, c: &Campaign, now: DateTime<Utc>) -> Result<Step, EngineError> {
    let at = iso(now);
    let done = state
        .store
        .transition_campaign(
            &c.tenant_id,
            &c.id,
            "SET #st = :to, #upd = :now, #cat = :now",
            status_cond(
                "#st = :was AND #queued = :zero AND #pending = :zero AND #done = :true",
                CampaignStatus::Completed,
                &at,
            )
            .name("#cat", "completedAt")
            .name("#queued", "queued")
            .name("#pending", "pending")
            .name("#done", "sourceDone")
            .value(":was", s(CampaignStatus::Running.as_str()))
            .value(":zero", n(0))
            .value(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
            // The entry stays (due now) until the completion event is published.
            Due::At(now.timestamp()),
        )
        .await?;
    if !done {
        return Ok(Step::Again);
    }
    tracing::info!(campaign_id = %c.id, tenant_id = %c.tenant_id, total = c.total, sent = c.sent, failed = c.failed, "campaign completed");
    let mut finished = c.clone();
    finished.status = CampaignStatus::Completed;
    finished.completed_at = Some(at);
    publish_completed(state, &finished).await;
    Ok(Step::Done(Advance::Completed))
}

/// Publishes `campaign.completed` (its id is derived from the campaign, so publishing it
/// again makes no second delivery), then drops the campaign's scheduler entry. A failure
/// leaves the entry: the minute job publishes it then.
async fn publish_completed(state: &AppState, c: &Campaign) {
    let timestamp = c
        .completed_at
        .as_deref()
        .and_then(parse_time)
        .map(|t| t.timestamp())
        .unwrap_or_default();
    let event = WebhookEvent::CampaignCompleted(CampaignCompleted {
        campaign_id: c.id.clone(),
        name: c.name.clone(),
        total: c.total,
        sent: c.sent,
        failed: c.failed,
        timestamp,
    });
    let key = format!("campaign:{}:completed", c.id);
    match crate::services::events::publish_with_key(state, &c.tenant_id, event, &key).await {
        Ok(event_id) => {
            tracing::info!(campaign_id = %c.id, %event_id, "campaign.completed published");
            if let Err(e) = state
                .store
                .set_campaign_due(&c.tenant_id, &c.id, Due::Remove)
                .await
            {
                tracing::warn!(campaign_id = %c.id, error = %e, "removing a completed campaign's scheduler entry failed");
            }
        }
        Err(e) => {
            tracing::error!(campaign_id = %c.id, error = %e, "publishing campaign.completed failed; the scheduler retries");
        }
    }
}

/// How a cancel request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancel {
    Cancelled(Box<Campaign>),
    AlreadyFinished(CampaignStatus),
    NotFound,
}

/// Cancels a scheduled, running or paused campaign: nothing more is queued or claimed;
/// recipients never queued and those queued and not yet claimed become `cancelled`; a
/// recipient already being sent finishes as `sent` or `failed`.
pub async fn cancel(state: &AppState, tenant_id: &str, id: &str) -> Result<Cancel, EngineError> {
    let store = &state.store;
    for _ in 0..MAX_STEPS {
        let Some(c) = store.get_campaign(tenant_id, id).await? else {
            return Ok(Cancel::NotFound);
        };
        if c.status.is_finished() {
            return Ok(Cancel::AlreadyFinished(c.status));
        }
        let now = iso(state.clock.now());
        let done = store
            .transition_campaign(
                tenant_id,
                id,
                "SET #st = :to, #upd = :now, #cat = :now, #cancelled = #cancelled + #pending, #pending = :zero",
                status_cond("#st IN (:s1, :s2, :s3)", CampaignStatus::Cancelled, &now)
                    .name("#cat", "cancelledAt")
                    .name("#cancelled", "cancelled")
                    .name("#pending", "pending")
                    .value(":s1", s(CampaignStatus::Scheduled.as_str()))
                    .value(":s2", s(CampaignStatus::Running.as_str()))
                    .value(":s3", s(CampaignStatus::Paused.as_str()))
                    .value(":zero", n(0)),
                Due::Remove,
            )
            .await?;
        if !done {
            continue;
        }
        tracing::info!(campaign_id = id, tenant_id, "campaign cancelled");
        if c.queued > 0 {
            settle_cancelled(state, tenant_id, id, c.batch).await?;
        }
        let c = store.get_campaign(tenant_id, id).await?;
        return Ok(c.map_or(Cancel::NotFound, |c| Cancel::Cancelled(Box::new(c))));
    }
    Err(EngineError::Store(StoreError::Contention(
        "cancel campaign",
    )))
}

/// Marks a cancelled campaign's `queued` recipients of `batch` `cancelled` (one
/// transaction; redone with what is left when a worker got one first).
async fn settle_cancelled(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    batch: u32,
) -> Result<(), EngineError> {
    let store = &state.store;
    for _ in 0..3 {
        let queued: Vec<String> = store
            .batch_recipients(tenant_id, id, batch)
            .await?
            .into_iter()
            .filter(|r| r.status == RecipientStatus::Queued)
            .map(|r| r.sk())
            .collect();
        let now = iso(state.clock.now());
        if store
            .cancel_recipients(tenant_id, id, &queued, &now)
            .await?
        {
            return Ok(());
        }
    }
    tracing::warn!(
        campaign_id = id,
        "some queued recipients could not be cancelled yet; their messages settle them"
    );
    Ok(())
}

/// What the worker did with one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskResult {
    Sent,
    Failed,
    /// Redelivered or duplicate: the recipient was already claimed or settled.
    Duplicate,
    /// The campaign is not running (paused, cancelled): nothing sent.
    Skipped,
    /// Stopped before the provider (daily cap, device): the campaign is paused and the
    /// recipient stays queued.
    Paused,
}

/// The worker's handling of one SQS message. `Err`: leave the message on the queue (SQS
/// brings it back after the visibility timeout; nothing was sent).
pub async fn handle_task(state: &AppState, task: SendTask) -> Result<TaskResult, String> {
    let store = &state.store;
    let message_id = uuid::Uuid::now_v7().to_string();
    let mut claim = Claim::Contended;
    for attempt in 0..4u32 {
        let now = state.clock.now();
        claim = store
            .claim_recipient(
                &task.tenant_id,
                &task.campaign_id,
                &task.recipient,
                &message_id,
                now.timestamp_millis(),
                &iso(now),
            )
            .await
            .map_err(|e| e.to_string())?;
        if claim != Claim::Contended {
            break;
        }
        crate::store::batch::backoff(attempt + 1).await;
    }
    match claim {
        Claim::Claimed => {}
        Claim::NotQueued => return Ok(TaskResult::Duplicate),
        Claim::Contended => return Err("the recipient's claim kept conflicting".into()),
        Claim::CampaignNotRunning => {
            let c = store
                .get_campaign(&task.tenant_id, &task.campaign_id)
                .await
                .map_err(|e| e.to_string())?;
            if c.is_some_and(|c| c.status == CampaignStatus::Cancelled) {
                let now = iso(state.clock.now());
                store
                    .cancel_recipients(
                        &task.tenant_id,
                        &task.campaign_id,
                        std::slice::from_ref(&task.recipient),
                        &now,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            return Ok(TaskResult::Skipped);
        }
    }

    let sender = sending::Sender {
        tenant_id: task.tenant_id.clone(),
        plan: task.plan,
        limits: task.limits,
        api_key_id: Some(task.key_id.clone()).filter(|k| !k.is_empty()),
    };
    let request = SendRequest {
        to: task.to.clone(),
        content: Content::Text {
            body: task.text.clone(),
        },
        text: Some(task.text.clone()),
        device_id: task.device_id.clone(),
        media_check: None,
        idempotency: None,
        source: MessageSource::Campaign,
    };
    let result = sending::send_with_id(state, &sender, request, message_id.clone()).await;
    let at = iso(state.clock.now());
    let outcome = match result {
        Err(e) => {
            // Stopped before the provider: nothing went out, the claim is given back.
            store
                .release_recipient(
                    &task.tenant_id,
                    &task.campaign_id,
                    &task.recipient,
                    &message_id,
                    &at,
                )
                .await
                .map_err(|e| e.to_string())?;
            let reason = match &e {
                SendError::DailyLimit(_) => PauseReason::DailyLimit,
                e if e.is_device_unavailable() => PauseReason::DeviceUnavailable,
                e => return Err(format!("send stopped before the provider: {e}")),
            };
            let message = match reason {
                PauseReason::DailyLimit => {
                    format!("{e}: the campaign resumes by itself at 00:00 UTC")
                }
                PauseReason::DeviceUnavailable => format!(
                    "{}. Connect a device, then POST /api/public/v1/campaigns/{}/run to resume",
                    e.to_string().trim_end_matches('.'),
                    task.campaign_id
                ),
            };
            pause(state, &task.tenant_id, &task.campaign_id, reason, &message)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(TaskResult::Paused);
        }
        Ok(reply) => match reply.outcome {
            Ok(sent) => Outcome::Sent {
                wa_message_id: Some(sent.wa_message_id),
            },
            Err(failed) => Outcome::Failed {
                error: failed.error,
                code: failed.code,
            },
        },
    };
    let mut recorded = false;
    for attempt in 0..5u32 {
        match store
            .record_recipient_outcome(
                &task.tenant_id,
                &task.campaign_id,
                &task.recipient,
                &message_id,
                &outcome,
                &at,
            )
            .await
        {
            Ok(true) => {
                recorded = true;
                break;
            }
            Ok(false) => {
                // Lost to another transaction on the campaign, or the claim is not ours.
                let still_ours = store
                    .get_recipient(&task.tenant_id, &task.campaign_id, &task.recipient)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|r| {
                        r.status == RecipientStatus::Sending
                            && r.message_id.as_deref() == Some(&message_id)
                    });
                if !still_ours {
                    break;
                }
            }
            Err(e) => tracing::warn!(error = %e, attempt, "recording a recipient's outcome failed"),
        }
        crate::store::batch::backoff(attempt + 1).await;
    }
    if !recorded {
        // The message record has the outcome; the scheduler settles the claim from it.
        tracing::error!(campaign_id = %task.campaign_id, recipient = %task.recipient, %message_id, "recipient outcome not recorded; the scheduler settles it from the message");
    }
    // The last recipient in flight queues the next batch (or completes the campaign).
    match store.get_campaign(&task.tenant_id, &task.campaign_id).await {
        Ok(Some(c)) if c.status == CampaignStatus::Running && c.queued == 0 => {
            if let Err(e) = advance(state, &task.tenant_id, &task.campaign_id, Trigger::Chain).await
            {
                tracing::warn!(campaign_id = %task.campaign_id, error = %e, "queueing the next batch failed; the scheduler will");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reading the campaign after a send failed"),
    }
    Ok(match outcome {
        Outcome::Sent { .. } => TaskResult::Sent,
        Outcome::Failed { .. } => TaskResult::Failed,
    })
}

/// Which scheduled job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    /// Every minute: start due campaigns, queue next batches, recover stalled batches,
    /// resume campaigns whose pause day has passed, publish completion events.
    Minute,
    /// 00:00 UTC: the daily roll-over. The same work (daily-cap pauses are due at
    /// midnight), so a late or missed run changes nothing: the minute job does it too.
    Daily,
}

/// What a scheduler run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    pub due: usize,
    pub queued: usize,
    pub requeued: usize,
    pub completed: usize,
    pub paused: usize,
    pub in_flight: usize,
    pub errors: usize,
}

/// Campaigns handled per run at most, and how many at once.
pub const TICK_BUDGET: usize = 1000;
const TICK_CONCURRENCY: usize = 8;

/// A scheduler run: every campaign whose scheduler entry is due gets an [`advance`].
pub async fn tick(state: &AppState, job: Job) -> Result<TickReport, EngineError> {
    use futures::stream::{self, StreamExt};
    let now = state.clock.now().timestamp();
    let mut report = TickReport::default();
    let mut cursor = None;
    loop {
        let (entries, next) = state
            .store
            .due_campaigns(now, cursor.as_deref(), 100)
            .await?;
        report.due += entries.len();
        let results: Vec<Result<Advance, EngineError>> = stream::iter(entries)
            .map(|e| async move {
                advance(state, &e.tenant_id, &e.campaign_id, Trigger::Scheduler).await
            })
            .buffer_unordered(TICK_CONCURRENCY)
            .collect()
            .await;
        for r in results {
            match r {
                Ok(Advance::Queued(_)) => report.queued += 1,
                Ok(Advance::Requeued { .. }) => report.requeued += 1,
                Ok(Advance::Completed) => report.completed += 1,
                Ok(Advance::Paused { now: true, .. }) => report.paused += 1,
                Ok(Advance::InFlight(_)) => report.in_flight += 1,
                Ok(_) => {}
                Err(e) => {
                    report.errors += 1;
                    tracing::error!(error = %e, "scheduler: advancing a campaign failed");
                }
            }
        }
        cursor = next;
        if cursor.is_none() || report.due >= TICK_BUDGET {
            break;
        }
    }
    if report != TickReport::default() {
        tracing::info!(?job, ?report, "campaign scheduler run");
    }
    Ok(report)
}

/// One row of `GET …/recipients`: a recipient that was queued, or an entry of the stored
/// array not queued yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed {
    Recipient(Box<Recipient>),
    Pending {
        entry: Entry,
        status: RecipientStatus,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct RecipientCursor {
    /// Queued recipients: the last key shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    /// The stored array's entries not queued yet: the position of the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
}

fn encode_cursor(c: &RecipientCursor) -> Option<String> {
    serde_json::to_vec(c)
        .ok()
        .map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

fn decode_cursor(raw: &str) -> Result<RecipientCursor, StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .map_err(|_| StoreError::BadCursor)?;
    let c: RecipientCursor = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let ok = match (&c.r, &c.s) {
        (Some(r), None) => r.starts_with(crate::store::keys::RECIPIENT_PREFIX) && r.len() <= 64,
        (None, Some(s)) => ChunkCursor::parse(s).is_some(),
        _ => false,
    };
    ok.then_some(c).ok_or(StoreError::BadCursor)
}

/// A page of a campaign's recipients: those queued so far in queueing order, then (for a
/// stored array) the entries not queued yet, as `pending` (`cancelled` once the campaign
/// is). A tag or list audience is read at run time: its members appear as their batches
/// are queued.
pub async fn recipients_page(
    state: &AppState,
    c: &Campaign,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Listed>, Option<String>), EngineError> {
    let store = &state.store;
    let position = cursor.map(decode_cursor).transpose()?;
    let mut rows = Vec::with_capacity(limit);
    let mut pending_from = match &position {
        Some(RecipientCursor { s: Some(s), .. }) => ChunkCursor::parse(s),
        _ => None,
    };
    if pending_from.is_none() {
        let after = position.as_ref().and_then(|p| p.r.clone());
        let (found, last) = store
            .list_recipients(&c.tenant_id, &c.id, after.as_deref(), limit as i32)
            .await?;
        let last_shown = found.last().map(Recipient::sk);
        rows.extend(found.into_iter().map(|r| Listed::Recipient(Box::new(r))));
        if last.is_some() && rows.len() >= limit {
            let next = encode_cursor(&RecipientCursor {
                r: last_shown,
                s: None,
            });
            return Ok((rows, next));
        }
        if c.audience != Audience::Recipients || c.source_done {
            return Ok((rows, None));
        }
        pending_from = Some(
            c.cursor
                .as_deref()
                .and_then(ChunkCursor::parse)
                .unwrap_or_default(),
        );
    }
    let status = if c.status == CampaignStatus::Cancelled {
        RecipientStatus::Cancelled
    } else {
        RecipientStatus::Pending
    };
    let mut cur = pending_from.unwrap_or_default();
    while rows.len() < limit && cur.chunk < c.chunks {
        let entries = store.campaign_chunk(&c.tenant_id, &c.id, cur.chunk).await?;
        let len = entries.len();
        let from = cur.offset as usize;
        let take = (limit - rows.len()).min(len.saturating_sub(from));
        rows.extend(
            entries
                .into_iter()
                .skip(from)
                .take(take)
                .map(|entry| Listed::Pending { entry, status }),
        );
        cur.offset += take as u32;
        if cur.offset as usize >= len {
            cur = ChunkCursor {
                chunk: cur.chunk + 1,
                offset: 0,
            };
        }
    }
    let next = (cur.chunk < c.chunks).then(|| {
        encode_cursor(&RecipientCursor {
            r: None,
            s: Some(cur.to_string()),
        })
    });
    Ok((rows, next.flatten()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_cursors_round_trip_and_refuse_anything_else() {
        let c = RecipientCursor {
            r: Some("R#000003#07".into()),
            s: None,
        };
        let encoded = encode_cursor(&c).unwrap_or_default();
        let back = decode_cursor(&encoded).ok().and_then(|c| c.r);
        assert_eq!(back.as_deref(), Some("R#000003#07"));
        let c = RecipientCursor {
            r: None,
            s: Some("2:17".into()),
        };
        let back = decode_cursor(&encode_cursor(&c).unwrap_or_default())
            .ok()
            .and_then(|c| c.s);
        assert_eq!(back.as_deref(), Some("2:17"));
        for bad in [
            RecipientCursor {
                r: Some("CAMPAIGN#x".into()),
                s: None,
            },
            RecipientCursor {
                r: None,
                s: Some("x".into()),
            },
            RecipientCursor { r: None, s: None },
            RecipientCursor {
                r: Some("R#1".into()),
                s: Some("1:1".into()),
            },
        ] {
            let encoded = encode_cursor(&bad).unwrap_or_default();
            assert!(matches!(
                decode_cursor(&encoded),
                Err(StoreError::BadCursor)
            ));
        }
        assert!(matches!(
            decode_cursor("not base64!"),
            Err(StoreError::BadCursor)
        ));
    }

    #[test]
    fn daily_pauses_end_at_the_next_utc_midnight() {
        let json = serde_json::json!({
            "id": "c", "tenantId": "t", "name": "n", "message": "m", "delaySeconds": 1,
            "audience": {"type": "recipients"}, "status": "paused",
            "pauseReason": "daily_limit", "pausedDay": "2026-11-24",
            "total": 0, "pending": 0, "queued": 0, "sent": 0, "failed": 0, "cancelled": 0,
            "sourceDone": false, "batch": 0, "apiKeyId": "k",
            "createdAt": "2026-11-24T10:00:00Z", "updatedAt": "2026-11-24T10:00:00Z"
        });
        let c: Campaign = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resumes_at(&c).as_deref(), Some("2026-11-25T00:00:00Z"));
        assert_eq!(batch_info(&c), None);
        let mut device = c.clone();
        device.pause_reason = Some(PauseReason::DeviceUnavailable);
        assert_eq!(resumes_at(&device), None);
    }
}
