//! The inbound worker (SQS, partial batch failures): everything that happens after a
//! customer writes in, and Meta's delivery statuses. The work is
//! `wati_shared::services::inbound`'s; see `docs/inbound.md`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::sync::Arc;
use wati_shared::lambda::sqs::run_jobs_in_order;
use wati_shared::lambda::Handler;
use wati_shared::services::inbound::{Inbound, InboundJob};
use wati_shared::AppState;

/// The worker's Lambda handler: one [`Worker`] (and its rules cache) per instance.
pub fn handler(state: AppState) -> Handler {
    let worker = Arc::new(Worker::new(state));
    Handler::sqs(move |event| {
        let worker = worker.clone();
        async move { worker.handle(event).await }
    })
}

/// The inbound service of one Lambda instance, fed SQS batches.
pub struct Worker {
    inbound: Inbound,
}

impl Worker {
    pub fn new(state: AppState) -> Self {
        Worker {
            inbound: Inbound::new(state),
        }
    }

    /// Handles one batch; the ids of the records to retry come back as `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        run_jobs_in_order(
            "inbound-worker",
            event,
            "an inbound job",
            InboundJob::order_key,
            |job: InboundJob| self.inbound.handle(job),
        )
        .await
    }
}
