//! Message status changes — `pending → sent | failed` when a send completes, then
//! `delivered`, `read` or `failed` as the provider reports them (the sandbox worker today,
//! Meta's status webhooks with the inbound issue). Every change goes through [`record`]: it
//! is the one place a `message.status` event is to be published (webhooks issue).

use crate::state::AppState;
use crate::store::messages::{StatusOutcome, StatusUpdate};
use crate::store::StoreResult;

/// Applies a status change (one conditional write: statuses never move backwards) and
/// reports what happened.
pub async fn record(state: &AppState, update: StatusUpdate) -> StoreResult<StatusOutcome> {
    let outcome = state.store.update_message_status(&update).await?;
    match &outcome {
        StatusOutcome::Changed(message) => {
            tracing::info!(
                message_id = %message.id,
                status = %message.status,
                wa_message_id = message.wa_message_id.as_deref().unwrap_or_default(),
                "message status changed"
            );
            // ── Webhooks issue (7) plugs in here ─────────────────────────────────────────
            // Publish `message.status` for `message` (tenant, device, peer, WhatsApp id,
            // status, error and timestamps are all on it). Only real changes reach this
            // point: duplicates and stale reports come back as `Unchanged`.
        }
        StatusOutcome::Unchanged(message) => {
            tracing::debug!(
                message_id = %message.id,
                current = %message.status,
                reported = %update.status,
                "status report ignored (duplicate, stale or early)"
            );
        }
        StatusOutcome::NotFound => {
            tracing::warn!(message_id = %update.message_id, "status for an unknown message");
        }
    }
    Ok(outcome)
}
