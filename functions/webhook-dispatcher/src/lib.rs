//! The webhook dispatcher: an SQS worker that makes one delivery attempt per message
//! ([`wati_shared::services::webhooks`] says how).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::sync::OnceLock;
use tracing::Instrument;
use wati_shared::adapters::http_client::OutboundHttp;
use wati_shared::lambda::sqs::{failures, parse_body, run_batch};
use wati_shared::services::events::DispatchMessage;
use wati_shared::services::webhooks::{Dispatcher, Done, USER_AGENT};
use wati_shared::AppState;

wati_shared::sqs_function!();

/// The Lambda handler's shape: a batch in, the failures out. Uses one [`Dispatcher`] per
/// process (the HTTP clients are built once); the loopback setting cannot change within
/// a process that serves real traffic, so tests with both settings get one of each.
pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    static WITH_LOOPBACK: OnceLock<OutboundHttp> = OnceLock::new();
    static PUBLIC_ONLY: OnceLock<OutboundHttp> = OnceLock::new();
    let allow = state.config.outbound.allow_loopback_targets;
    let cell = if allow { &WITH_LOOPBACK } else { &PUBLIC_ONLY };
    let http = match cell.get() {
        Some(h) => h.clone(),
        None => match OutboundHttp::new(allow, USER_AGENT) {
            Ok(h) => cell.get_or_init(|| h).clone(),
            Err(e) => {
                tracing::error!(error = %e, "building the HTTP client failed");
                return failures(event.records.into_iter().filter_map(|r| r.message_id));
            }
        },
    };
    let dispatcher = Dispatcher::new(state.clone(), http);
    run_batch("webhook-dispatcher", event, |record| {
        let dispatcher = &dispatcher;
        async move {
            // An unreadable message never becomes readable: it fails into the DLQ.
            let msg: DispatchMessage = parse_body(&record, "a webhook dispatch message")?;
            let span = tracing::info_span!(
                "webhook",
                tenant_id = tracing::field::Empty,
                event_id = tracing::field::Empty,
                seq = tracing::field::Empty
            );
            match dispatcher.deliver(&msg).instrument(span).await {
                Done::Ack => Ok(()),
                Done::Retry(why) => Err(why),
            }
        }
    })
    .await
}
