//! The contact-jobs worker (`ContactJobsFunction`, SQS `ContactJobsQueue`, partial batch
//! failures, DLQ): an import's chunks and exports
//! ([`wati_shared::services::contact_jobs`]).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;
use wati_shared::lambda::sqs::{parse_body, run_batch};
use wati_shared::lambda::Handler;
use wati_shared::services::contact_jobs::{self, ContactJob};
use wati_shared::AppState;

pub fn handler(state: AppState) -> Handler {
    Handler::sqs(move |event| {
        let state = state.clone();
        async move { handle(&state, event).await }
    })
}

pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    run_batch("contact-jobs", event, |record| handle_one(state, record)).await
}

async fn handle_one(state: &AppState, record: SqsMessage) -> Result<(), String> {
    let job: ContactJob = parse_body(&record, "a contact job")?;
    match job {
        ContactJob::ImportChunk {
            tenant_id,
            import_id,
            chunk,
        } => {
            let span = tracing::info_span!("import_chunk", %tenant_id, %import_id, chunk);
            Box::pin(contact_jobs::import_chunk(
                state, &tenant_id, &import_id, chunk,
            ))
            .instrument(span)
            .await
            .map_err(|e| e.to_string())
        }
        ContactJob::Export {
            tenant_id,
            export_id,
        } => {
            let span = tracing::info_span!("export", %tenant_id, %export_id);
            Box::pin(contact_jobs::export(state, &tenant_id, &export_id))
                .instrument(span)
                .await
                .map_err(|e| e.to_string())
        }
    }
}
