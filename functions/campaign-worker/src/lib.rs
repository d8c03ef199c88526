//! The campaign worker (SQS, partial batch failures, DLQ): one message per recipient,
//! delivered when its `DelaySeconds` runs out, so consecutive messages of a campaign go
//! out `delaySeconds` apart without any Lambda sleeping. Each is claimed before the
//! provider is called, so a redelivered message never sends twice
//! ([`wati_shared::services::campaigns::handle_task`]).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;
use wati_shared::services::campaigns::{handle_task, SendTask, TaskResult};
use wati_shared::AppState;

/// Handles one batch; the ids of the messages to see again come back as
/// `batchItemFailures` (nothing was sent for them).
pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    let results = futures::future::join_all(event.records.into_iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!(
            "campaign_task",
            sqs_message_id = %id,
            campaign_id = tracing::field::Empty,
            recipient = tracing::field::Empty
        );
        async move { (id, handle_one(state, record).await) }.instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let Err(e) = result {
            tracing::warn!(sqs_message_id = %id, error = %e, "campaign message left on the queue");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn handle_one(state: &AppState, record: SqsMessage) -> Result<TaskResult, String> {
    let body = record.body.as_deref().unwrap_or_default();
    // An unreadable message never becomes readable: it fails into the DLQ to be looked at.
    let task: SendTask =
        serde_json::from_str(body).map_err(|e| format!("not a campaign task: {e}"))?;
    let span = tracing::Span::current();
    span.record("campaign_id", task.campaign_id.as_str());
    span.record("recipient", task.recipient.as_str());
    let result = handle_task(state, task).await?;
    tracing::info!(result = ?result, "campaign task done");
    Ok(result)
}
