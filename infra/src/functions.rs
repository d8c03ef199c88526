//! Which Rust code implements each function of the template, keyed by its `CodeUri`.
//! A new function crate is added here, in `template.yaml`, and in `fn-meta`'s OpenAPI merge.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;
use wati_shared::AppState;

/// An SQS-triggered worker: a batch in, the ids of the messages that failed out.
pub type SqsHandler =
    Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, Result<SqsBatchResponse, String>> + Send + Sync>;
/// A function fired by an EventBridge schedule, given the event (or the template's `Input`).
pub type ScheduledHandler =
    Arc<dyn Fn(serde_json::Value) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone, Default)]
pub struct Functions {
    pub http: HashMap<String, Router>,
    pub sqs: HashMap<String, SqsHandler>,
    pub scheduled: HashMap<String, ScheduledHandler>,
}

pub fn registry(state: &AppState) -> Functions {
    let mut f = Functions::default();
    f.http
        .insert("functions/admin".into(), fn_admin::router(state.clone()));
    f.http.insert(
        "functions/settings".into(),
        fn_settings::router(state.clone()),
    );
    f.http.insert(
        "functions/contacts".into(),
        fn_contacts::router(state.clone()),
    );
    let sweep_state = state.clone();
    f.scheduled.insert(
        "functions/contacts".into(),
        Arc::new(move |_event| {
            let state = sweep_state.clone();
            Box::pin(async move { fn_contacts::sweep::run(&state).await.map(|_| ()) })
        }),
    );
    f.http
        .insert("functions/meta".into(), fn_meta::router(state.clone()));
    f.http.insert(
        "functions/auto-replies".into(),
        fn_auto_replies::router(state.clone()),
    );
    f.http.insert(
        "functions/messages".into(),
        fn_messages::router(state.clone()),
    );
    let worker_state = state.clone();
    f.sqs.insert(
        "functions/sandbox-worker".into(),
        Arc::new(move |event: SqsEvent| {
            let state = worker_state.clone();
            Box::pin(async move { Ok(fn_sandbox_worker::handle(&state, event).await) })
                as BoxFuture<'static, Result<SqsBatchResponse, String>>
        }),
    );
    f.http.insert(
        "functions/campaigns".into(),
        fn_campaigns::router(state.clone()),
    );
    let campaign_worker = state.clone();
    f.sqs.insert(
        "functions/campaign-worker".into(),
        Arc::new(move |event| {
            let state = campaign_worker.clone();
            Box::pin(async move { Ok(fn_campaign_worker::handle(&state, event).await) })
        }),
    );
    let scheduler = state.clone();
    f.scheduled.insert(
        "functions/scheduler".into(),
        Arc::new(move |event| {
            let state = scheduler.clone();
            Box::pin(async move { fn_scheduler::run(&state, &event).await.map(|_| ()) })
        }),
    );
    f.http.insert(
        "functions/cloud-api-webhook".into(),
        fn_cloud_api_webhook::router(state.clone()),
    );
    let inbound = std::sync::Arc::new(fn_inbound_worker::Worker::new(state.clone()));
    f.sqs.insert(
        "functions/inbound-worker".into(),
        Arc::new(move |event| {
            let worker = inbound.clone();
            Box::pin(async move { Ok(worker.handle(event).await) })
        }),
    );
    let webhooks = state.clone();
    f.sqs.insert(
        "functions/webhook-dispatcher".into(),
        Arc::new(move |event| {
            let state = webhooks.clone();
            Box::pin(async move { Ok(fn_webhook_dispatcher::handle(&state, event).await) })
        }),
    );
    f
}
