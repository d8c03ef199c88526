//! The sandbox worker: records the `delivered` and `read` statuses the sandbox provider
//! scheduled on its queue (SQS-triggered, partial batch failures). A status that arrives
//! while its message is still `pending` (its send has not recorded `sent` yet) is left on
//! the queue to come back; duplicates and stale statuses change nothing.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use wati_shared::adapters::providers::sandbox::SandboxStatus;
use wati_shared::domain::messages::MessageStatus;
use wati_shared::runtime::clock::iso;
use wati_shared::services::statuses;
use wati_shared::store::messages::{StatusOutcome, StatusUpdate};
use wati_shared::AppState;

/// Handles one batch; the ids of the records to retry come back as `batchItemFailures`.
pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    let results = futures::future::join_all(event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        (id, handle_one(state, record).await)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let Err(e) = result {
            tracing::warn!(sqs_message_id = %id, error = %e, "sandbox status not recorded; it will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn handle_one(state: &AppState, record: SqsMessage) -> Result<(), String> {
    let body = record.body.as_deref().unwrap_or_default();
    let status: SandboxStatus =
        serde_json::from_str(body).map_err(|e| format!("not a sandbox status: {e}"))?;
    let update = StatusUpdate {
        tenant_id: status.tenant_id,
        message_id: status.message_id,
        status: status.status,
        at: iso(state.clock.now()),
        failure: None,
        completion: None,
    };
    match statuses::record(state, update)
        .await
        .map_err(|e| e.to_string())?
    {
        StatusOutcome::Unchanged(m) if m.status == MessageStatus::Pending => {
            Err(format!("message {} is still pending", m.id))
        }
        StatusOutcome::Changed(_) | StatusOutcome::Unchanged(_) | StatusOutcome::NotFound => Ok(()),
    }
}
