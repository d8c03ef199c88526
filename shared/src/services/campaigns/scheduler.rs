//! The scheduler's run: every campaign whose scheduler entry is due gets an [`advance`].

use super::advance::advance;
use super::{Advance, CampaignError, Trigger};
use crate::runtime::state::AppState;
use serde::{Deserialize, Serialize};

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
pub async fn tick(state: &AppState, job: Job) -> Result<TickReport, CampaignError> {
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
        let results: Vec<Result<Advance, CampaignError>> = stream::iter(entries)
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
