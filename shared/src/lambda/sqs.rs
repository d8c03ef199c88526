//! The one SQS batch runner: every record of a batch handled concurrently (jobs that must not
//! race: in order with the others of their key), each in its own span with the AWS calls it
//! made counted, and the ones that failed reported as `batchItemFailures` so SQS brings back
//! only those (and, past `maxReceiveCount`, moves them to the queue's DLQ).

use crate::runtime::metrics;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::future::Future;
use std::time::{Duration, Instant};
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
    let chains = event
        .records
        .into_iter()
        .map(|record| vec![(record.message_id.clone().unwrap_or_default(), record)])
        .collect();
    run_chains(worker, chains, IN_ORDER_BUDGET, handle).await
}

/// How long a chain of jobs runs one after another: past this, the rest of it runs
/// concurrently (in no order, as a batch's jobs of different keys do), so that a customer's
/// burst of slow jobs (an AI answer may take 15 s) cannot outlast the worker's 60 s timeout.
const IN_ORDER_BUDGET: Duration = Duration::from_secs(20);

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
    run_jobs_in_order(worker, event, what, |_: &T| None, each).await
}

/// [`run_jobs`], except that the jobs `order_key` gives the same key are handled one after
/// another in the batch's order (the others still concurrently): two messages of one
/// customer then neither race for their conversation nor are answered out of order.
pub async fn run_jobs_in_order<T, K, F, Fut, E>(
    worker: &'static str,
    event: SqsEvent,
    what: &'static str,
    order_key: K,
    each: F,
) -> SqsBatchResponse
where
    T: serde::de::DeserializeOwned,
    K: Fn(&T) -> Option<String>,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let jobs = event.records.iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let job = parse_body::<T>(record, what);
        let key = job.as_ref().ok().and_then(&order_key);
        (key, (id, job))
    });
    let handle = |job: Result<T, String>| {
        let each = &each;
        async move { each(job?).await.map_err(|e| e.to_string()) }
    };
    run_chains(worker, chains_of(jobs), IN_ORDER_BUDGET, handle).await
}

/// Items with the same key in one chain, in their order; an item without a key alone.
fn chains_of<T>(items: impl IntoIterator<Item = (Option<String>, T)>) -> Vec<Vec<T>> {
    let mut chains: Vec<Vec<T>> = Vec::new();
    let mut chain_of_key: std::collections::HashMap<String, usize> = Default::default();
    for (key, item) in items {
        match key.as_ref().and_then(|k| chain_of_key.get(k).copied()) {
            Some(i) => chains[i].push(item),
            None => {
                if let Some(k) = key {
                    chain_of_key.insert(k, chains.len());
                }
                chains.push(vec![item]);
            }
        }
    }
    chains
}

/// Every chain concurrently, the records of one chain one after another (for `in_order`,
/// then the rest of the chain at once); the records whose handler failed are named in the
/// response.
async fn run_chains<T, F, Fut, E>(
    worker: &'static str,
    chains: Vec<Vec<(String, T)>>,
    in_order: Duration,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let handle = &handle;
    // Boxed: a worker's future is large in debug builds, and moving it through the layers
    // below on the stack can overflow a test thread's stack.
    let one = |(id, item): (String, T)| async move {
        let ok = handled(worker, &id, Box::pin(handle(item))).await;
        (id, ok)
    };
    let results = futures::future::join_all(chains.into_iter().map(|chain| async move {
        let started = Instant::now();
        let mut chain = chain.into_iter();
        let mut done = Vec::with_capacity(chain.len());
        for item in chain.by_ref() {
            done.push(one(item).await);
            if started.elapsed() >= in_order {
                break;
            }
        }
        done.extend(futures::future::join_all(chain.map(one)).await);
        done
    }))
    .await;
    failures(
        results
            .into_iter()
            .flatten()
            .filter(|(_, ok)| !ok)
            .map(|(id, _)| id),
    )
}

/// One record's handling, in its own span with the AWS calls it made counted and logged.
async fn handled<E: std::fmt::Display>(
    worker: &'static str,
    id: &str,
    handling: impl Future<Output = Result<(), E>>,
) -> bool {
    let span = tracing::info_span!("sqs_record", worker, sqs_message_id = %id);
    async move {
        let started = Instant::now();
        let (result, calls) = metrics::record(worker, handling).await;
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
        result.is_ok()
    }
    .instrument(span)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn items_of_one_key_share_a_chain_in_their_order_and_keyless_ones_stand_alone() {
        let items = [
            (Some("a"), 1),
            (None, 2),
            (Some("b"), 3),
            (Some("a"), 4),
            (None, 5),
            (Some("b"), 6),
            (Some("a"), 7),
        ]
        .map(|(k, v)| (k.map(str::to_string), v));
        assert_eq!(
            chains_of(items),
            vec![vec![1, 4, 7], vec![2], vec![3, 6], vec![5]]
        );
    }

    fn event(bodies: &[&str]) -> SqsEvent {
        let mut event = SqsEvent::default();
        for (i, body) in bodies.iter().enumerate() {
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("m{i}"));
            record.body = Some(body.to_string());
            event.records.push(record);
        }
        event
    }

    #[derive(serde::Deserialize)]
    struct Job {
        key: Option<String>,
        n: u32,
    }

    #[tokio::test]
    async fn jobs_of_one_key_run_one_after_another_and_failures_are_reported() {
        let log = Mutex::new(Vec::new());
        let bodies = [
            r#"{"key":"a","n":1}"#,
            r#"{"key":"a","n":2}"#,
            r#"{"key":null,"n":3}"#,
            "not json",
            r#"{"key":"a","n":4}"#,
        ];
        let response = run_jobs_in_order(
            "test",
            event(&bodies),
            "a test job",
            |job: &Job| job.key.clone(),
            |job: Job| {
                let log = &log;
                async move {
                    log.lock().unwrap().push(format!("start {}", job.n));
                    // Long enough for a job running beside it to start meanwhile.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    log.lock().unwrap().push(format!("end {}", job.n));
                    if job.n == 2 {
                        Err("refused")
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m1", "m3"]);
        let log = log.into_inner().unwrap();
        let at = |line: &str| log.iter().position(|l| l == line).unwrap();
        // Key "a" in order, each after the one before it ended (a failure does not stop it).
        assert!(at("end 1") < at("start 2"), "{log:?}");
        assert!(at("end 2") < at("start 4"), "{log:?}");
        // The keyless job ran beside the chain.
        assert!(at("start 3") < at("end 1"), "{log:?}");
    }

    #[tokio::test]
    async fn past_its_budget_the_rest_of_a_chain_runs_at_once() {
        let log = Mutex::new(Vec::new());
        let chain = (1..=3).map(|n| (format!("m{n}"), n)).collect();
        let response = run_chains("test", vec![chain], Duration::ZERO, |n: u32| {
            let log = &log;
            async move {
                log.lock().unwrap().push(format!("start {n}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
                log.lock().unwrap().push(format!("end {n}"));
                Ok::<(), String>(())
            }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        let log = log.into_inner().unwrap();
        let at = |line: &str| log.iter().position(|l| l == line).unwrap();
        // The first in its turn; the budget spent, the other two together.
        assert!(at("end 1") < at("start 2"), "{log:?}");
        assert!(at("start 3") < at("end 2"), "{log:?}");
    }
}
