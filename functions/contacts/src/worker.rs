//! The contact-jobs worker (`ContactJobsFunction`, SQS `ContactJobsQueue`, partial batch
//! failures, DLQ): an import's chunks and exports
//! ([`wati_shared::services::contact_jobs`]).

use tracing::Instrument;
use wati_shared::services::contact_jobs::{self, ContactJob};
use wati_shared::AppState;

wati_shared::sqs_function!("contact-jobs", "a contact job", handle_one);

async fn handle_one(state: &AppState, job: ContactJob) -> Result<(), String> {
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
