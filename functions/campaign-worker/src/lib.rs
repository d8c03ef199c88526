//! The campaign worker (SQS, partial batch failures, DLQ): one message per recipient,
//! delivered when its `DelaySeconds` runs out, so consecutive messages of a campaign go
//! out `delaySeconds` apart without any Lambda sleeping. Each is claimed before the
//! provider is called, so a redelivered message never sends twice
//! ([`wati_shared::services::campaigns::handle_task`]).

use tracing::Instrument;
use wati_shared::services::campaigns::{handle_task, SendTask};
use wati_shared::AppState;

wati_shared::sqs_function!("campaign-worker", "a campaign task", handle_one);

async fn handle_one(state: &AppState, task: SendTask) -> Result<(), String> {
    let span = tracing::info_span!(
        "campaign_task",
        campaign_id = %task.campaign_id,
        recipient = %task.recipient
    );
    let result = handle_task(state, task).instrument(span.clone()).await?;
    span.in_scope(|| tracing::info!(result = ?result, "campaign task done"));
    Ok(())
}
