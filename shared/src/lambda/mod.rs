//! Running a function. Every function crate's `lib.rs` exposes `handler(state) -> Handler`;
//! its `main.rs` passes that to [`run`], and the dev server's registry calls the same
//! `handler`, so each function is wired once.

pub mod http;
pub mod sqs;

use crate::runtime::state::AppState;
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

pub use lambda_runtime::Error;

/// An SQS-triggered worker: a batch in, the records to see again out.
pub type SqsHandler = Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, SqsBatchResponse> + Send + Sync>;
/// A function fired by an EventBridge schedule: the event (or the rule's `Input`) in, a
/// report for the log out.
pub type ScheduledHandler = Arc<
    dyn Fn(serde_json::Value) -> BoxFuture<'static, Result<serde_json::Value, String>>
        + Send
        + Sync,
>;

/// What a function is: an HTTP API, an SQS worker or a scheduled job.
#[derive(Clone)]
pub enum Handler {
    Http(Router),
    Sqs(SqsHandler),
    Scheduled(ScheduledHandler),
}

impl Handler {
    pub fn sqs<F, Fut>(f: F) -> Handler
    where
        F: Fn(SqsEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SqsBatchResponse> + Send + 'static,
    {
        Handler::Sqs(Arc::new(move |event| Box::pin(f(event))))
    }

    /// [`Handler::sqs`] for a worker that needs the state: `f` gets its own clone per batch.
    pub fn sqs_with<F, Fut>(state: AppState, f: F) -> Handler
    where
        F: Fn(AppState, SqsEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SqsBatchResponse> + Send + 'static,
    {
        Handler::sqs(move |event| f(state.clone(), event))
    }

    pub fn scheduled<F, Fut>(f: F) -> Handler
    where
        F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, String>> + Send + 'static,
    {
        Handler::Scheduled(Arc::new(move |event| Box::pin(f(event))))
    }
}

/// The entry points of an SQS worker crate: `handler`, what `main.rs` and the dev server
/// run, around the crate's `handle(&AppState, SqsEvent)`. Given a log name, what a body
/// is and a `one(&AppState, job)`, `handle` is written too: each record's JSON body is
/// read as the job ([`sqs::run_jobs`]) and handed to `one`.
#[macro_export]
macro_rules! sqs_function {
    () => {
        /// The worker's Lambda handler.
        pub fn handler(state: $crate::AppState) -> $crate::lambda::Handler {
            $crate::lambda::Handler::sqs_with(state, |state, event| async move {
                handle(&state, event).await
            })
        }
    };
    ($worker:literal, $what:literal, $one:path) => {
        $crate::sqs_function!();

        /// Handles one batch; the ids of the records to see again come back as
        /// `batchItemFailures`.
        pub async fn handle(
            state: &$crate::AppState,
            event: $crate::lambda::SqsEvent,
        ) -> $crate::lambda::SqsBatchResponse {
            $crate::lambda::sqs::run_jobs($worker, event, $what, |job| $one(state, job)).await
        }
    };
}

/// How long init waits for the DynamoDB connection it opens ahead of the first request.
const INIT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A Lambda's whole `main`: read the configuration, build the clients, serve `build`'s
/// handler until the runtime stops.
pub async fn run(build: fn(AppState) -> Handler) -> Result<(), Error> {
    let state = AppState::from_lambda_env()?;
    // Every invocation talks to DynamoDB: connect during init, which Lambda does not bill
    // at full price and which precedes the first request. Bounded, and never fatal (the
    // first request connects anyway if this failed).
    let warm = tokio::time::timeout(INIT_CONNECT_TIMEOUT, state.store.warm_up()).await;
    match warm {
        Ok(Ok(())) => tracing::debug!("DynamoDB connection opened during init"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "opening the DynamoDB connection during init failed")
        }
        Err(_) => tracing::warn!("opening the DynamoDB connection during init timed out"),
    }
    match build(state) {
        Handler::Http(router) => http::run(router).await,
        Handler::Sqs(handle) => {
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
                    let handle = handle.clone();
                    async move { Ok::<_, Error>(handle(event.payload).await) }
                },
            ))
            .await
        }
        Handler::Scheduled(handle) => {
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
                    let handle = handle.clone();
                    async move { handle(event.payload).await.map_err(Error::from) }
                },
            ))
            .await
        }
    }
}
