//! AWS call accounting: every SDK operation made while serving one request (or one worker
//! message) is recorded, so the request log says how many calls it made and how many of them
//! had to wait for each other. Tests read the same figures to hold hot paths down.
//!
//! An SDK interceptor records the calls into a task-local log set up per request; calls
//! made outside any scope are not recorded.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

tokio::task_local! {
    static CURRENT: Arc<CallLog>;
}

#[derive(Debug, Clone)]
pub struct AwsCall {
    pub service: String,
    pub operation: String,
    pub started: Instant,
    pub finished: Option<Instant>,
}

/// The calls of one request.
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<Vec<AwsCall>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallSummary {
    pub total: usize,
    /// The longest chain of calls each of which started after the previous one finished:
    /// the number of round trips the request had to wait for one after another.
    pub sequential: usize,
    /// `Service.Operation` in the order they started.
    pub operations: Vec<String>,
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
        CallSummary {
            total: calls.len(),
            sequential: longest_chain(&mut spans),
            operations: calls
                .iter()
                .map(|c| format!("{}.{}", c.service, c.operation))
                .collect(),
        }
    }

    fn start(&self, service: &str, operation: &str) -> usize {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.push(AwsCall {
            service: service.to_string(),
            operation: operation.to_string(),
            started: Instant::now(),
            finished: None,
        });
        calls.len() - 1
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

/// Runs `fut` with a fresh call log and returns the log with its output.
pub async fn record<F: Future>(fut: F) -> (F::Output, Arc<CallLog>) {
    let log = Arc::new(CallLog::default());
    let out = CURRENT.scope(log.clone(), fut).await;
    (out, log)
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

/// The SDK interceptor installed on every client by [`crate::aws::AwsClients`].
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

#[cfg(test)]
mod tests {
    use super::*;

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
