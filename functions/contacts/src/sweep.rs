//! The scheduled clean-up of deleted contact lists (`ContactsSweepFunction`, every minute).
//! Deleting a list removes up to 1,000 of its members in the request itself; a larger list
//! is finished here, a bounded number of members per run. Idempotent and safe to overlap.

use wati_shared::store::contact_lists::SweepReport;
use wati_shared::AppState;

/// Members removed per run at most (a few seconds of work at 16 writes in flight).
pub const MEMBERS_PER_RUN: usize = 5000;

pub async fn run(state: &AppState) -> Result<SweepReport, String> {
    let report = state
        .store
        .sweep_deleted_lists(MEMBERS_PER_RUN)
        .await
        .map_err(|e| e.to_string())?;
    if report != SweepReport::default() {
        tracing::info!(
            lists_finished = report.lists_finished,
            members_removed = report.members_removed,
            lists_pending = report.lists_pending,
            "deleted contact lists swept"
        );
    }
    Ok(report)
}

/// The sweep's Lambda handler (a scheduled event; the event's content is not used).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::scheduled(move |_event| {
        let state = state.clone();
        async move {
            let r = run(&state).await?;
            Ok(serde_json::json!({
                "listsFinished": r.lists_finished,
                "membersRemoved": r.members_removed,
                "listsPending": r.lists_pending,
            }))
        }
    })
}
