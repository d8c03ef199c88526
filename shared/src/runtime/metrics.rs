//! AWS call accounting: every SDK operation made while serving one request (or one worker
//! message) is recorded, so the request log says how many calls it made and how many of them
//! had to wait for each other. Tests read the same figures to hold hot paths down.
//!
//! An SDK interceptor records the calls into a task-local log set up per request; calls
//! made outside any scope are not recorded.
//!
//! Two more figures for the hot paths: a request can mark a [`milestone`] (a send marks
//! [`PROVIDER_CALL`] right before it contacts WhatsApp), and the summary then says how many
//! calls, and how many sequential round trips, came before it; and when
//! [`record_consumed_capacity`] is on, every DynamoDB call asks for `ReturnConsumedCapacity`
//! and the summary adds up the capacity units the request consumed.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The milestone a send marks right before it contacts the provider.
pub const PROVIDER_CALL: &str = "provider";

static RECORD_CAPACITY: AtomicBool = AtomicBool::new(false);

/// Makes DynamoDB calls made while serving a request ask for `ReturnConsumedCapacity=TOTAL`
/// and record it (dev server and tests: `EXPOSE_AWS_CALL_COUNTS`).
pub fn record_consumed_capacity(on: bool) {
    RECORD_CAPACITY.store(on, Ordering::Relaxed);
}

/// Marks a point in the current request (if any) for [`CallSummary::before_provider`].
pub fn milestone(name: &'static str) {
    if let Some(log) = current() {
        log.milestones
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name, Instant::now()));
    }
}

tokio::task_local! {
    static CURRENT: Arc<CallLog>;
}

#[derive(Debug, Clone)]
pub struct AwsCall {
    pub service: String,
    pub operation: String,
    pub started: Instant,
    pub finished: Option<Instant>,
    /// DynamoDB capacity units the call consumed (when recorded).
    pub capacity: Option<f64>,
    /// The items a DynamoDB transaction wrote or read (when capacity is recorded).
    pub items: Option<usize>,
}

/// The calls of one request.
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<Vec<AwsCall>>,
    milestones: Mutex<Vec<(&'static str, Instant)>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallSummary {
    pub total: usize,
    /// The longest chain of calls each of which started after the previous one finished:
    /// the number of round trips the request had to wait for one after another.
    pub sequential: usize,
    /// `Service.Operation` in the order they started.
    pub operations: Vec<String>,
    /// DynamoDB capacity units consumed (read + write), when recorded.
    pub consumed_capacity: Option<f64>,
    /// Calls, and sequential round trips, finished before the [`PROVIDER_CALL`] milestone.
    pub before_provider: Option<(usize, usize)>,
}

impl CallLog {
    pub fn calls(&self) -> Vec<AwsCall> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn summary(&self) -> CallSummary {
        let calls = self.calls();
        let now = Instant::now();
        let mut spans: Vec<(Instant, Instant)> = calls
            .iter()
            .map(|c| (c.started, c.finished.unwrap_or(now)))
            .collect();
        let provider_at = self
            .milestones
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(name, _)| *name == PROVIDER_CALL)
            .map(|(_, at)| *at);
        let before_provider = provider_at.map(|at| {
            let mut before: Vec<(Instant, Instant)> = spans
                .iter()
                .copied()
                .filter(|(_, end)| *end <= at)
                .collect();
            (before.len(), longest_chain(&mut before))
        });
        let capacities: Vec<f64> = calls.iter().filter_map(|c| c.capacity).collect();
        CallSummary {
            total: calls.len(),
            sequential: longest_chain(&mut spans),
            operations: calls
                .iter()
                .map(|c| format!("{}.{}", c.service, c.operation))
                .collect(),
            consumed_capacity: (!capacities.is_empty()).then(|| capacities.iter().sum()),
            before_provider,
        }
    }

    fn start(&self, service: &str, operation: &str) -> usize {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.push(AwsCall {
            service: service.to_string(),
            operation: operation.to_string(),
            started: Instant::now(),
            finished: None,
            capacity: None,
            items: None,
        });
        calls.len() - 1
    }

    fn set_capacity(&self, index: usize, units: f64) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = calls.get_mut(index) {
            c.capacity = Some(units);
        }
    }

    fn set_items(&self, index: usize, items: usize) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = calls.get_mut(index) {
            c.items = Some(items);
        }
    }

    fn finish(&self, index: usize) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = calls.get_mut(index) {
            c.finished = Some(Instant::now());
        }
    }
}

/// Maximum number of non-overlapping intervals (greedy by end time).
fn longest_chain<T: Ord + Copy>(spans: &mut [(T, T)]) -> usize {
    spans.sort_by_key(|s| s.1);
    let mut count = 0;
    let mut last_end: Option<T> = None;
    for &(start, end) in spans.iter() {
        if last_end.is_none_or(|e| start >= e) {
            count += 1;
            last_end = Some(end);
        }
    }
    count
}

/// Runs `fut` (a request, or one queue message: `what` names it) with a fresh call log and
/// returns the log with its output.
pub async fn record<F: Future>(what: &str, fut: F) -> (F::Output, Arc<CallLog>) {
    let log = Arc::new(CallLog::default());
    let started = Instant::now();
    let out = CURRENT.scope(log.clone(), fut).await;
    enter_in_ledger(what, started.elapsed(), &log);
    (out, log)
}

/// One request or queue message as the cost benchmark adds it up.
#[derive(Debug, Clone)]
pub struct Work {
    /// The path of a request, the worker's name for a queue message.
    pub what: String,
    pub duration: Duration,
    pub calls: Vec<AwsCall>,
}

/// Every [`record`]ed unit of work since the ledger was opened; `None`: not kept (the
/// default, so production keeps nothing).
static LEDGER: Mutex<Option<Vec<Work>>> = Mutex::new(None);
/// Whether the ledger is open: read first, so a request never takes the lock in production.
static LEDGER_OPEN: AtomicBool = AtomicBool::new(false);

/// Starts keeping the ledger (`make bench-cost`), or empties it.
pub fn open_ledger() {
    *LEDGER.lock().unwrap_or_else(PoisonError::into_inner) = Some(Vec::new());
    LEDGER_OPEN.store(true, Ordering::Relaxed);
}

/// What the ledger holds, leaving it open and empty.
pub fn take_ledger() -> Vec<Work> {
    let mut ledger = LEDGER.lock().unwrap_or_else(PoisonError::into_inner);
    ledger.as_mut().map(std::mem::take).unwrap_or_default()
}

/// How many units of work the ledger holds.
pub fn ledger_len() -> usize {
    LEDGER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or(0, Vec::len)
}

fn enter_in_ledger(what: &str, duration: Duration, log: &CallLog) {
    if !LEDGER_OPEN.load(Ordering::Relaxed) {
        return;
    }
    let mut ledger = LEDGER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(works) = ledger.as_mut() {
        works.push(Work {
            what: what.to_string(),
            duration,
            calls: log.calls(),
        });
    }
}

/// Records `fut` as one AWS call made without the SDK (S3, signed in `adapters::s3`), as the
/// interceptor records the SDK's.
pub async fn account<F: Future>(service: &str, operation: &str, fut: F) -> F::Output {
    let Some(log) = current() else {
        return fut.await;
    };
    let index = log.start(service, operation);
    let out = fut.await;
    log.finish(index);
    out
}

/// The log of the request being served, if any.
pub fn current() -> Option<Arc<CallLog>> {
    CURRENT.try_with(Arc::clone).ok()
}

#[derive(Debug, Clone)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

/// The SDK interceptor installed on every client by [`crate::runtime::aws::AwsClients`].
#[derive(Debug, Default)]
pub struct CallAccounting;

impl Intercept for CallAccounting {
    fn name(&self) -> &'static str {
        "CallAccounting"
    }

    // Not `read_before_execution`: client interceptors run that before the operation's
    // configuration (and so its name) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(log) = current() {
            let (service, operation) = cfg
                .load::<Metadata>()
                .map(|m| (m.service().to_string(), m.name().to_string()))
                .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
            let index = log.start(&service, &operation);
            cfg.interceptor_state().store_put(CallIndex(index));
        }
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !RECORD_CAPACITY.load(Ordering::Relaxed) || cfg.load::<CallIndex>().is_none() {
            return Ok(());
        }
        let reports_capacity = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.service() == "DynamoDB" && CAPACITY_OPERATIONS.contains(&m.name()));
        if !reports_capacity {
            return Ok(());
        }
        let request = context.request_mut();
        let Some(body) = request.body().bytes() else {
            return Ok(());
        };
        let Ok(serde_json::Value::Object(mut input)) = serde_json::from_slice(body) else {
            return Ok(());
        };
        if let (Some(log), Some(CallIndex(i)), Some(items)) = (
            current(),
            cfg.load::<CallIndex>(),
            input
                .get("TransactItems")
                .and_then(serde_json::Value::as_array),
        ) {
            log.set_items(*i, items.len());
        }
        if input.contains_key("ReturnConsumedCapacity") {
            return Ok(());
        }
        input.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
        let bytes = serde_json::to_vec(&input)?;
        request
            .headers_mut()
            .insert("content-length", bytes.len().to_string());
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(bytes);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !RECORD_CAPACITY.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (Some(log), Some(CallIndex(i))) = (current(), cfg.load::<CallIndex>()) else {
            return Ok(());
        };
        if let Some(units) = context
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|v| consumed_units(&v["ConsumedCapacity"]))
        {
            log.set_capacity(*i, units);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(log), Some(CallIndex(i))) = (current(), cfg.load::<CallIndex>()) {
            log.finish(*i);
        }
        Ok(())
    }
}

/// DynamoDB operations that take `ReturnConsumedCapacity`.
const CAPACITY_OPERATIONS: [&str; 10] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

/// `ConsumedCapacity` is one object, or a list of them (batches, transactions).
fn consumed_units(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Object(o) => o.get("CapacityUnits").and_then(serde_json::Value::as_f64),
        serde_json::Value::Array(items) => {
            let units: Vec<f64> = items.iter().filter_map(consumed_units).collect();
            (!units.is_empty()).then(|| units.iter().sum())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumed_capacity_is_summed() {
        let one = serde_json::json!({"TableName": "t", "CapacityUnits": 1.5});
        let many =
            serde_json::json!([{"TableName": "t", "CapacityUnits": 2.0}, {"CapacityUnits": 0.5}]);
        assert_eq!(consumed_units(&one), Some(1.5));
        assert_eq!(consumed_units(&many), Some(2.5));
        assert_eq!(consumed_units(&serde_json::Value::Null), None);
    }

    #[tokio::test]
    async fn milestones_split_the_calls() {
        let ((), log) = record("test", async {
            let log = current().unwrap_or_default();
            let a = log.start("DynamoDB", "UpdateItem");
            log.finish(a);
            let b = log.start("DynamoDB", "GetItem");
            let c = log.start("DynamoDB", "PutItem");
            log.finish(b);
            log.finish(c);
            milestone(PROVIDER_CALL);
            let d = log.start("DynamoDB", "UpdateItem");
            log.finish(d);
        })
        .await;
        let s = log.summary();
        assert_eq!(s.total, 4);
        assert_eq!(s.before_provider, Some((3, 2)));
        assert_eq!(s.sequential, 3);
        assert_eq!(s.consumed_capacity, None);
    }

    #[test]
    fn chain_counts_waits_not_calls() {
        // Two parallel calls, then one after both: two round trips.
        let mut spans = vec![(0, 10), (1, 9), (10, 20)];
        assert_eq!(longest_chain(&mut spans), 2);
        // Three in a row.
        let mut spans = vec![(0, 1), (1, 2), (2, 3)];
        assert_eq!(longest_chain(&mut spans), 3);
        // All at once.
        let mut spans = vec![(0, 5), (0, 5), (1, 4)];
        assert_eq!(longest_chain(&mut spans), 1);
        assert_eq!(longest_chain::<u32>(&mut []), 0);
    }
}
