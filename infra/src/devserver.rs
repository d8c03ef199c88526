//! The dev server: one process that does locally what API Gateway, Lambda's SQS event
//! source mapping and EventBridge do in AWS, driven by the template.

use crate::bootstrap::LocalStack;
use crate::functions::Functions;
use crate::routing::RouteTable;
use crate::template::Template;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Timelike, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use wati_shared::runtime::aws::AwsClients;

/// How often an idle queue is polled. moto serves one request at a time, so the dev server
/// short-polls instead of holding long polls open.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// At most this many batches of one queue are handled at once locally (moto serves one
/// request at a time; more pollers would only queue up there).
pub const MAX_LOCAL_POLLERS: i32 = 4;

#[derive(Clone)]
pub struct DevServer {
    pub template: Arc<Template>,
    pub stack: Arc<LocalStack>,
    pub functions: Functions,
    pub aws: AwsClients,
    routes: Arc<RouteTable>,
    /// The dashboard's built files, served at `/` (see [`crate::assets`]).
    assets: Option<Arc<std::path::PathBuf>>,
}

impl DevServer {
    pub fn new(
        template: Template,
        stack: LocalStack,
        functions: Functions,
        aws: AwsClients,
    ) -> Self {
        let routes = Arc::new(RouteTable::new(template.routes()));
        DevServer {
            template: Arc::new(template),
            stack: Arc::new(stack),
            functions,
            aws,
            routes,
            assets: None,
        }
    }

    /// Serves the dashboard's built files from `dir` for GETs no API route takes.
    pub fn with_assets(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.assets = Some(Arc::new(dir.into()));
        self
    }

    /// The environment of every function in the template, merged: the dev server runs them
    /// all in one process.
    pub fn template_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (id, _) in self.template.functions() {
            env.extend(self.stack.function_env(&self.template, id));
        }
        env
    }

    /// The HTTP side: every template route, dispatched to its function's Router.
    pub fn app(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }

    /// What `registry` holds for a template function, found by the function's `CodeUri`.
    fn implementation<T: Clone>(&self, registry: &HashMap<String, T>, function: &str) -> Option<T> {
        self.template
            .code_uri(function)
            .and_then(|uri| registry.get(uri))
            .cloned()
    }

    /// The router of the function that serves `method path`, as API Gateway would pick it.
    pub fn router_for(&self, method: &str, path: &str) -> Option<Result<Router, String>> {
        let route = self.routes.find(method, path)?;
        let found = self
            .implementation(&self.functions.http, &route.function)
            .ok_or_else(|| format!("no HTTP implementation registered for {}", route.function));
        Some(found)
    }

    /// Starts a poller per SQS subscription and a ticker per schedule in the template.
    pub fn spawn_workers(&self) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        for sub in self.template.queue_subscriptions() {
            let handler = self.implementation(&self.functions.sqs, &sub.function);
            let (Some(handler), Some(queue)) =
                (handler, self.stack.queues.get(&sub.queue).cloned())
            else {
                tracing::error!(function = %sub.function, queue = %sub.queue, "no worker or queue for subscription");
                continue;
            };
            // Lambda runs several batches of a queue at once; locally up to
            // MAX_LOCAL_POLLERS of them (the template's ScalingConfig.MaximumConcurrency,
            // one when it sets none), so one slow batch does not hold up the queue.
            let pollers = sub.max_concurrency.unwrap_or(1).clamp(1, MAX_LOCAL_POLLERS);
            for poller in 0..pollers {
                let (sqs, queue, sub, handler) = (
                    self.aws.sqs.clone(),
                    queue.clone(),
                    sub.clone(),
                    handler.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    tracing::info!(queue = %queue.name, function = %sub.function, poller, "polling queue");
                    loop {
                        match poll_once(
                            &sqs,
                            &queue.url,
                            &queue.arn,
                            sub.batch_size,
                            sub.report_batch_item_failures,
                            &handler,
                        )
                        .await
                        {
                            Ok(0) => tokio::time::sleep(POLL_INTERVAL).await,
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(queue = %queue.name, error = %e, "polling failed");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                }));
            }
        }
        for schedule in self.template.schedules() {
            let handler = self.implementation(&self.functions.scheduled, &schedule.function);
            let (Some(handler), Some(every)) = (handler, Cadence::parse(&schedule.expression))
            else {
                tracing::error!(function = %schedule.function, expression = %schedule.expression, "schedule not runnable locally");
                continue;
            };
            tasks.push(tokio::spawn(async move {
                tracing::info!(schedule = %schedule.name, expression = %schedule.expression, "ticking schedule");
                loop {
                    let now = Utc::now();
                    let next = every.next_after(now);
                    let wait = (next - now).to_std().unwrap_or_default();
                    tokio::time::sleep(wait).await;
                    let event = scheduled_event(&schedule.name, &schedule.input, next);
                    if let Err(e) = handler(event).await {
                        tracing::error!(schedule = %schedule.name, error = %e, "scheduled run failed");
                    }
                }
            }));
        }
        tasks
    }
}

async fn dispatch(State(server): State<DevServer>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().as_str();
    match server.router_for(method, &path) {
        None => {
            let file = match (&server.assets, method) {
                (Some(root), "GET" | "HEAD") => crate::assets::serve(root, &path).await,
                _ => None,
            };
            file.unwrap_or_else(not_found)
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "misconfigured route");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({"message": "Internal Server Error"})),
            )
                .into_response()
        }
        Some(Ok(router)) => match router.oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        },
    }
}

/// API Gateway's own answer for a request no route matches.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"message": "Not Found"})),
    )
        .into_response()
}

/// Receives one batch, hands it to the worker, and deletes what succeeded. Failed messages
/// stay on the queue and come back after the visibility timeout; the queue's redrive policy
/// moves them to the DLQ after `maxReceiveCount` receipts, as with Lambda.
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    queue_arn: &str,
    batch_size: i32,
    report_batch_item_failures: bool,
    handler: &crate::functions::SqsHandler,
) -> Result<usize, String> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(batch_size.clamp(1, 10))
        .wait_time_seconds(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    let messages = out.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let records: Vec<SqsMessage> = messages
        .iter()
        .map(|m| to_lambda_record(m, queue_arn))
        .collect();
    let count = records.len();
    let receipts: Vec<(String, String)> = messages
        .iter()
        .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
        .collect();
    let response = handler(sqs_event(records)).await;
    let mut failed: HashSet<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    // Without ReportBatchItemFailures, Lambda treats any failure as the whole batch's.
    if !report_batch_item_failures && !failed.is_empty() {
        failed = receipts.iter().map(|(id, _)| id.clone()).collect();
    }
    let done: Vec<DeleteMessageBatchRequestEntry> = receipts
        .iter()
        .filter(|(id, _)| !failed.contains(id))
        .enumerate()
        .filter_map(|(i, (_, receipt))| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(receipt)
                .build()
                .ok()
        })
        .collect();
    if !done.is_empty() {
        sqs.delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(done))
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    }
    Ok(count)
}

fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// An SQS message as Lambda's event source mapping presents it.
fn to_lambda_record(m: &aws_sdk_sqs::types::Message, queue_arn: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = m.message_id.clone();
    record.receipt_handle = m.receipt_handle.clone();
    record.body = m.body.clone();
    record.md5_of_body = m.md5_of_body.clone();
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_arn.to_string());
    record.aws_region = Some("us-east-1".into());
    record.attributes = m
        .attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect();
    for (k, v) in m.message_attributes.clone().unwrap_or_default() {
        let mut attr = aws_lambda_events::event::sqs::SqsMessageAttribute::default();
        attr.string_value = v.string_value;
        attr.data_type = Some(v.data_type);
        record.message_attributes.insert(k, attr);
    }
    record
}

/// The two kinds of schedule expression the template uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// `rate(N minute|minutes|hour|hours|day|days)`: aligned to whole periods since the epoch.
    Every(i64),
    /// `cron(M H * * ? *)` with `*` or numbers for minute and hour.
    Daily {
        minute: Option<u32>,
        hour: Option<u32>,
    },
}

impl Cadence {
    pub fn parse(expr: &str) -> Option<Cadence> {
        if let Some(rate) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            let (n, unit) = rate.trim().split_once(' ')?;
            let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
            let secs = match unit.trim_end_matches('s') {
                "minute" => 60,
                "hour" => 3600,
                "day" => 86_400,
                _ => return None,
            };
            return Some(Cadence::Every(n * secs));
        }
        let cron = expr.strip_prefix("cron(")?.strip_suffix(')')?;
        let fields: Vec<&str> = cron.split_whitespace().collect();
        if fields.len() != 6 || fields[2..].iter().any(|f| !matches!(*f, "*" | "?")) {
            return None;
        }
        let field = |f: &str| -> Option<Option<u32>> {
            if f == "*" {
                Some(None)
            } else {
                f.parse().ok().map(Some)
            }
        };
        Some(Cadence::Daily {
            minute: field(fields[0])?,
            hour: field(fields[1])?,
        })
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            Cadence::Every(secs) => {
                let next = (t.timestamp().div_euclid(secs) + 1) * secs;
                DateTime::from_timestamp(next, 0).unwrap_or(t)
            }
            Cadence::Daily { minute, hour } => {
                let mut c = t
                    .with_second(0)
                    .and_then(|c| c.with_nanosecond(0))
                    .unwrap_or(t)
                    + chrono::Duration::minutes(1);
                // At most a day of minutes to look through.
                for _ in 0..=1440 {
                    if minute.is_none_or(|m| c.minute() == m) && hour.is_none_or(|h| c.hour() == h)
                    {
                        return c;
                    }
                    c += chrono::Duration::minutes(1);
                }
                c
            }
        }
    }
}

/// What a scheduled invocation receives: the template's `Input`, or EventBridge's event.
pub fn scheduled_event(name: &str, input: &Option<String>, at: DateTime<Utc>) -> serde_json::Value {
    if let Some(v) = input.as_deref().and_then(|i| serde_json::from_str(i).ok()) {
        return v;
    }
    serde_json::json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": wati_shared::domain::time::iso(at),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{name}")],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn cadences() {
        assert_eq!(Cadence::parse("rate(1 minute)"), Some(Cadence::Every(60)));
        assert_eq!(Cadence::parse("rate(5 minutes)"), Some(Cadence::Every(300)));
        assert_eq!(
            Cadence::parse("cron(0 0 * * ? *)"),
            Some(Cadence::Daily {
                minute: Some(0),
                hour: Some(0)
            })
        );
        assert_eq!(Cadence::parse("cron(0 0 1 * ? *)"), None);
        assert_eq!(Cadence::parse("rate(0 minutes)"), None);
        let t = at("2026-11-24T23:59:30Z");
        assert_eq!(Cadence::Every(60).next_after(t), at("2026-11-25T00:00:00Z"));
        assert_eq!(
            Cadence::Every(60).next_after(at("2026-11-25T00:00:00Z")),
            at("2026-11-25T00:01:00Z")
        );
        let midnight = Cadence::parse("cron(0 0 * * ? *)").unwrap_or(Cadence::Every(1));
        assert_eq!(midnight.next_after(t), at("2026-11-25T00:00:00Z"));
        assert_eq!(
            midnight.next_after(at("2026-11-25T00:00:00Z")),
            at("2026-11-26T00:00:00Z")
        );
    }

    #[test]
    fn scheduled_events_use_input_when_given() {
        let t = at("2026-11-25T00:00:00Z");
        assert_eq!(
            scheduled_event("x", &Some(r#"{"job":"daily"}"#.into()), t),
            serde_json::json!({"job": "daily"})
        );
        let ev = scheduled_event("Daily", &None, t);
        assert_eq!(ev["detail-type"], "Scheduled Event");
        assert_eq!(ev["time"], "2026-11-25T00:00:00Z");
    }
}
