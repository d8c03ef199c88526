//! The scheduler: what EventBridge fires every minute and at 00:00 UTC. Both jobs advance
//! every campaign whose scheduler entry is due (one query on GSI1, never a scan): scheduled
//! campaigns whose time has come start, running ones get their next batch when the worker
//! has not queued it already, stalled batches are queued again, campaigns paused on the
//! daily outbound cap resume once their day is over, pending `campaign.completed` events
//! are published, and Team Inbox conversations whose snooze ended open again. The daily
//! job is the day's roll-over: daily counters are keyed by their day and need no reset, and
//! the minute job does the same work, so nothing depends on the midnight run being on time.
//! The minute job also syncs again the Cloud API devices that have `PENDING` templates
//! (`services::templates::resync_pending`).

use wati_shared::services::campaigns::{tick, Job, TickReport};
use wati_shared::services::inbox;
use wati_shared::AppState;

/// The job an invocation asks for: the rule's `Input` (`{"job":"minute"}` or
/// `{"job":"daily"}`); an event without one (a plain EventBridge scheduled event) is the
/// minute job.
pub fn job_of(event: &serde_json::Value) -> Result<Job, String> {
    match event.get("job") {
        None => Ok(Job::Minute),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| format!("unknown scheduler job {v}: expected \"minute\" or \"daily\"")),
    }
}

pub async fn run(state: &AppState, event: &serde_json::Value) -> Result<TickReport, String> {
    let job = job_of(event)?;
    let report = tick(state, job).await.map_err(|e| e.to_string())?;
    // Team Inbox snoozes that ended open again (one query of the due ones).
    let ended = inbox::end_snoozes(state).await.map_err(|e| e.to_string())?;
    if ended > 0 {
        tracing::info!(ended, "snoozed conversations opened again");
    }
    if job == Job::Minute {
        // A failure here is logged: the next minute tries again.
        match wati_shared::services::templates::resync_pending(state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(devices = n, "pending templates synced again"),
            Err(e) => tracing::warn!(error = %e, "re-syncing pending templates failed"),
        }
    }
    Ok(report)
}

/// The scheduler's Lambda handler: the job's report is the invocation's result.
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::scheduled(move |event| {
        let state = state.clone();
        async move {
            let report = run(&state, &event).await?;
            serde_json::to_value(report).map_err(|e| e.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jobs() {
        assert_eq!(job_of(&json!({"job": "minute"})), Ok(Job::Minute));
        assert_eq!(job_of(&json!({"job": "daily"})), Ok(Job::Daily));
        assert_eq!(
            job_of(&json!({"detail-type": "Scheduled Event"})),
            Ok(Job::Minute)
        );
        assert!(job_of(&json!({"job": "hourly"})).is_err());
    }
}
