//! The campaign engine: what the campaigns API, the scheduler and the campaign worker call.
//! Design and failure handling: `docs/campaigns.md`.
//!
//! - [`create()`] checks a new campaign (every rule of `POST /campaigns`) and stores it.
//! - [`advance()`] moves a campaign one step: starts it when its `scheduledAt` has come,
//!   resumes a daily-cap pause on the next UTC day, queues the next batch when none is in
//!   flight, queues a stalled batch's leftovers again, or completes it. Every step is one
//!   conditional write, so any number of concurrent callers (run, the minute job, workers)
//!   cannot queue a batch twice.
//! - A batch (`batch.rs`) reads one page of the audience (a chunk of the stored array, or a
//!   page of the tag or list from the stored cursor), writes its recipients as `queued`
//!   together with the campaign's counters, cursor and pacing (one transaction), then puts
//!   one SQS message per recipient with an increasing `DelaySeconds`: no Lambda sleeps.
//! - A stalled batch (`recover.rs`) has its leftovers queued again and its dead claims
//!   settled from their message records.
//! - [`handle_task`] (the worker) claims the recipient (`queued → sending`, only while the
//!   campaign runs), sends it through [`crate::services::sending`] (daily cap, device,
//!   provider, message record), records `sent` or `failed` with the counters, and queues the
//!   next batch when this one is done.
//! - [`tick`] (the scheduler) advances every campaign whose scheduler entry is due.
//! - [`cancel()`] and [`recipients_page`] serve the API's cancel and recipients list.

mod advance;
mod batch;
mod cancel;
mod create;
mod recipients;
mod recover;
mod scheduler;
mod worker;

pub use advance::{advance, pause};
pub use cancel::{cancel, Cancel};
pub use create::{create, CreateError, NewCampaign, NewRecipient};
pub use recipients::{recipients_page, Listed};
pub use recover::UNKNOWN_OUTCOME;
pub use scheduler::{tick, Job, TickReport, TICK_BUDGET};
pub use worker::{handle_task, TaskResult};

use crate::domain::campaigns::{CampaignStatus, PauseReason};
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::quota::next_midnight;
use crate::domain::time;
use crate::domain::time::iso;
use crate::store::campaigns::Campaign;
use crate::store::StoreError;
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
/// Steps one [`advance()`] call takes at most (start, resume, batch…).
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
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub first_send_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub last_send_at: Option<DateTime<Utc>>,
}

/// What one [`advance()`] did.
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

/// How the engine failed (`create()` has its own [`CreateError`]).
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
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
    /// The campaign's name (what the analytics list it by).
    #[serde(default)]
    pub campaign_name: String,
    /// The recipient's sort key (`R#<batch>#<index>`).
    pub recipient: String,
    pub to: String,
    /// The message with its variables filled in.
    pub text: String,
    /// A template campaign's template, its variables filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<crate::domain::messages::TemplateSpec>,
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

/// Why a retried attempt failed: a race lost to another writer (worth another try), or the
/// store (final).
enum Lost {
    Race,
    Failed(StoreError),
}

fn ms_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}

/// The batch a campaign has in flight (or last had).
pub fn batch_info(c: &Campaign) -> Option<BatchInfo> {
    (c.batch > 0).then(|| BatchInfo {
        number: c.batch,
        size: c.batch_size,
        queued: c.queued,
        first_send_at: c.batch_first_due_ms.and_then(ms_time),
        last_send_at: c.batch_last_due_ms.and_then(ms_time),
    })
}

/// The batch in flight as [`Advance::InFlight`] reports it, also before the first batch.
fn in_flight(c: &Campaign) -> BatchInfo {
    batch_info(c).unwrap_or(BatchInfo {
        number: c.batch,
        size: c.batch_size,
        queued: c.queued,
        first_send_at: None,
        last_send_at: None,
    })
}

/// When a daily-cap pause ends: the start of the UTC day after the pause.
pub fn resumes_at(c: &Campaign) -> Option<String> {
    if c.pause_reason != Some(PauseReason::DailyLimit) {
        return None;
    }
    let day = c.paused_day.as_deref()?;
    let start = crate::domain::time::parse(&format!("{day}T00:00:00Z"))?;
    Some(iso(next_midnight(start)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
