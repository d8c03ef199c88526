//! The sandbox worker: records the `delivered` and `read` statuses the sandbox provider
//! scheduled on its queue (SQS-triggered, partial batch failures). A status that arrives
//! while its message is still `pending` (its send has not recorded `sent` yet) is left on
//! the queue to come back; duplicates and stale statuses change nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use wati_shared::adapters::providers::sandbox::SandboxStatus;
use wati_shared::lambda::sqs::run_jobs;
use wati_shared::services::inbound::statuses;
use wati_shared::AppState;

wati_shared::sqs_function!();

/// Handles one batch; the ids of the records to retry come back as `batchItemFailures`.
pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    run_jobs(
        "sandbox-worker",
        event,
        "a sandbox status",
        |status: SandboxStatus| statuses::sandbox(state, status),
    )
    .await
}
