//! The one SQS batch runner: every record of a batch handled concurrently, each in its own
//! span with the AWS calls it made counted, and the ones that failed reported as
//! `batchItemFailures` so SQS brings back only those (and, past `maxReceiveCount`, moves
//! them to the queue's DLQ).

use crate::runtime::metrics;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::future::Future;
use std::time::Instant;
use tracing::Instrument;

/// Runs `handle` on every record of `event`. A record whose handler returns `Err` is left on
/// the queue; the error is logged with the record's id. `worker` names the log lines.
pub async fn run_batch<F, Fut, E>(
    worker: &'static str,
    event: SqsEvent,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let results = futures::future::join_all(event.records.into_iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("sqs_record", worker, sqs_message_id = %id);
        // Boxed: a worker's future is large in debug builds, and moving it through the
        // layers below on the stack can overflow a test thread's stack.
        let handled = Box::pin(handle(record));
        async move {
            let started = Instant::now();
            let (result, calls) = metrics::record(worker, handled).await;
            let summary = calls.summary();
            match &result {
                Ok(()) => tracing::info!(
                    latency_ms = started.elapsed().as_millis() as u64,
                    aws_calls = summary.total,
                    aws_sequential = summary.sequential,
                    aws_operations = %summary.operations.join(","),
                    "record done"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    aws_calls = summary.total,
                    "record left on the queue: SQS brings it back after the visibility timeout"
                ),
            }
            (id, result.is_ok())
        }
        .instrument(span)
    }))
    .await;
    failures(results.into_iter().filter(|(_, ok)| !ok).map(|(id, _)| id))
}

/// [`run_batch`] for a queue of JSON jobs: each record's body read as `T` (`what` names it
/// when it is not one) and handed to `each`.
pub async fn run_jobs<T, F, Fut, E>(
    worker: &'static str,
    event: SqsEvent,
    what: &'static str,
    each: F,
) -> SqsBatchResponse
where
    T: serde::de::DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    run_batch(worker, event, |record| {
        let job = parse_body::<T>(&record, what);
        let each = &each;
        async move { each(job?).await.map_err(|e| e.to_string()) }
    })
    .await
}

/// A batch response naming `ids` as the records to see again.
pub fn failures(ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in ids {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// A record's body as `T`; an unreadable body never becomes readable, so its error is
/// what sends it (after its retries) to the DLQ for a person to look at.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    record: &SqsMessage,
    what: &str,
) -> Result<T, String> {
    serde_json::from_str(record.body.as_deref().unwrap_or_default())
        .map_err(|e| format!("not {what}: {e}"))
}
