//! Which Rust code implements each function of the template, keyed by its `CodeUri`: each
//! function crate's `handler(state)`, the same one its `main.rs` runs in Lambda. A new
//! function crate is added here, in `template.yaml`, and in the OpenAPI merge (`openapi.rs`).

use axum::Router;
use std::collections::HashMap;
use wati_shared::lambda::Handler;
use wati_shared::AppState;

pub use wati_shared::lambda::{ScheduledHandler, SqsHandler};

#[derive(Clone, Default)]
pub struct Functions {
    pub http: HashMap<String, Router>,
    pub sqs: HashMap<String, SqsHandler>,
    pub scheduled: HashMap<String, ScheduledHandler>,
}

impl Functions {
    /// Registers `handler` for `code_uri`. One `CodeUri` may hold an HTTP function and a
    /// scheduled one (two binaries of one crate, as `functions/contacts` does).
    pub fn add(&mut self, code_uri: &str, handler: Handler) {
        let uri = code_uri.to_string();
        match handler {
            Handler::Http(router) => self.http.insert(uri, router).map(|_| ()),
            Handler::Sqs(h) => self.sqs.insert(uri, h).map(|_| ()),
            Handler::Scheduled(h) => self.scheduled.insert(uri, h).map(|_| ()),
        };
    }
}

/// What a function crate exposes: its handler, built from the state.
type BuildHandler = fn(AppState) -> Handler;

pub fn registry(state: &AppState) -> Functions {
    let handlers: [(&str, BuildHandler); 19] = [
        ("functions/admin", fn_admin::handler),
        ("functions/auth", fn_auth::handler),
        ("functions/settings", fn_settings::handler),
        ("functions/contacts", fn_contacts::handler),
        ("functions/contacts", fn_contacts::sweep::handler),
        ("functions/contacts", fn_contacts::worker::handler),
        ("functions/meta", fn_meta::handler),
        ("functions/auto-replies", fn_auto_replies::handler),
        ("functions/inbox", fn_inbox::handler),
        ("functions/analytics", fn_analytics::handler),
        ("functions/messages", fn_messages::handler),
        ("functions/sandbox-worker", fn_sandbox_worker::handler),
        ("functions/campaigns", fn_campaigns::handler),
        ("functions/campaign-worker", fn_campaign_worker::handler),
        ("functions/scheduler", fn_scheduler::handler),
        ("functions/cloud-api-webhook", fn_cloud_api_webhook::handler),
        ("functions/gateway-webhook", fn_gateway_webhook::handler),
        ("functions/inbound-worker", fn_inbound_worker::handler),
        (
            "functions/webhook-dispatcher",
            fn_webhook_dispatcher::handler,
        ),
    ];
    let mut f = Functions::default();
    for (code_uri, handler) in handlers {
        f.add(code_uri, handler(state.clone()));
    }
    f
}
