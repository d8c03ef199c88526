//! Delivering webhook events: one attempt per dispatch message, made by the
//! `webhook-dispatcher` worker.
//!
//! A message is one attempt of one event ([`DispatchMessage`]). For each, concurrently
//! with the rest of the batch:
//! 1. not due yet (a long retry wait): re-queued with SQS's delay (at most 15 minutes)
//!    until it is, then acknowledged; no Lambda ever sleeps;
//! 2. one `BatchGetItem` reads the tenant's plan, its webhook and the event's record;
//! 3. the attempt is claimed on the record (a conditional write), so a duplicate message
//!    neither sends twice nor starts a second retry chain;
//! 4. the body is POSTed, signed, through the SSRF-guarded client (the URL's addresses are
//!    checked at connection time), with `WEBHOOK_TIMEOUT_SECONDS` to answer 2xx;
//! 5. on failure the next attempt is queued per `WEBHOOK_RETRY_SCHEDULE` (and
//!    `Retry-After`), then the attempt is recorded with its outcome.
//!
//! A message fails back to SQS only when the attempt could not be made or recorded for
//! reasons of ours (an AWS error, another worker holding the claim); SQS then brings it
//! back after the visibility timeout, and the queue's DLQ catches what never succeeds.

use crate::adapters::http_client::{refusal_of, OutboundHttp};
use crate::domain::plans::effective_limits;
use crate::domain::time::iso;
use crate::domain::webhooks::{attempts_per_round, next_delay, parse_retry_after, signed_headers};
use crate::runtime::state::AppState;
use crate::services::events::{enqueue, DispatchMessage};
use crate::store::webhooks::{Attempt, Claim, DeliveryRecord, Outcome, WebhookSettings};
use std::time::{Duration, Instant};

pub const USER_AGENT: &str = concat!("WATI-Pro-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The dispatcher of one Lambda instance: the state and the guarded HTTP clients.
#[derive(Clone)]
pub struct Dispatcher {
    state: AppState,
    http: OutboundHttp,
}

/// How one message ended, for the batch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Acknowledge (delete) the message.
    Ack,
    /// Leave it on the queue: SQS brings it back after the visibility timeout.
    Retry(String),
}

/// What one HTTP attempt gave.
#[derive(Debug, Clone, Default)]
struct Sent {
    status_code: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    retry_after: Option<u64>,
}

impl Dispatcher {
    /// A dispatcher on an HTTP client built once per process (see the dispatcher function).
    pub fn new(state: AppState, http: OutboundHttp) -> Self {
        Dispatcher { state, http }
    }

    /// Makes (or re-queues, or skips) one attempt of one event. `Done::Retry` leaves the
    /// message on the queue for SQS to bring back.
    pub async fn deliver(&self, msg: &DispatchMessage) -> Done {
        let span = tracing::Span::current();
        span.record("tenant_id", msg.tenant_id.as_str());
        span.record("event_id", msg.event_id.as_str());
        span.record("seq", msg.seq);
        match self.attempt(msg).await {
            Ok(done) => done,
            Err(e) => Done::Retry(e),
        }
    }

    async fn attempt(&self, msg: &DispatchMessage) -> Result<Done, String> {
        let state = &self.state;
        let store = &state.store;
        let now = state.clock.now();
        // 1. Not due yet: another hop through the queue.
        let wait = msg.due_at - now.timestamp();
        if wait > 0 {
            enqueue(state, msg, wait).await.map_err(|e| e.to_string())?;
            return Ok(Done::Ack);
        }
        // 2. Everything the attempt depends on, in one round trip.
        let ctx = store
            .delivery_context(&msg.tenant_id, &msg.event_id)
            .await
            .map_err(|e| e.to_string())?;
        let plan_allows = ctx
            .plan
            .is_some_and(|(plan, limits)| effective_limits(plan, &limits).signed_webhooks);
        // 3. Claim the attempt.
        let record = match (&ctx.record, &msg.payload) {
            (None, Some(payload)) if msg.seq == 1 => {
                let wanted = plan_allows
                    && ctx
                        .webhook
                        .as_ref()
                        .is_some_and(|w| w.subscribes_to(msg.event_type));
                if !wanted {
                    tracing::debug!(event = %msg.event_type, "no webhook wants this event");
                    return Ok(Done::Ack);
                }
                if store
                    .create_delivery(&msg.tenant_id, &msg.event_id, msg.event_type, payload, now)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    DeliveryRecord {
                        id: msg.event_id.clone(),
                        event_type: msg.event_type,
                        payload: payload.clone(),
                        status: crate::store::webhooks::DeliveryStatus::Pending,
                        attempt_count: 0,
                        round_start: 0,
                        trigger: crate::store::webhooks::Trigger::Automatic,
                    }
                } else {
                    match self.claim(msg, now).await? {
                        Some(r) => r,
                        None => return Ok(Done::Ack),
                    }
                }
            }
            (None, _) => {
                tracing::warn!("no delivery record for a retry: dropped");
                return Ok(Done::Ack);
            }
            (Some(_), _) => match self.claim(msg, now).await? {
                Some(r) => r,
                None => return Ok(Done::Ack),
            },
        };
        // 4. Send, unless there is nowhere to send to any more.
        let attempt_in_round = msg.seq.saturating_sub(record.round_start);
        let (sent, url) = match (&ctx.webhook, plan_allows) {
            (Some(webhook), true) => (self.send(webhook, &record, now).await, webhook.url.clone()),
            (None, _) => (
                Sent {
                    error: Some("no webhook is configured any more".into()),
                    ..Sent::default()
                },
                String::new(),
            ),
            (Some(w), false) => (
                Sent {
                    error: Some("the tenant's plan no longer includes webhooks".into()),
                    ..Sent::default()
                },
                w.url.clone(),
            ),
        };
        let delivered = sent.status_code.is_some_and(|c| (200..300).contains(&c));
        let gave_up = ctx.webhook.is_none() || !plan_allows;
        // 5. What next: a retry is queued before the attempt is recorded, so a crash in
        //    between repeats the attempt rather than losing the event.
        let outcome = if delivered {
            Outcome::Delivered
        } else {
            let schedule = &state.config.webhooks.retry_schedule;
            match next_delay(schedule, attempt_in_round, sent.retry_after).filter(|_| !gave_up) {
                None => Outcome::Dropped,
                Some(delay) => {
                    let delay = i64::try_from(delay).unwrap_or(i64::MAX / 4);
                    let after = state.clock.now().timestamp();
                    let next = DispatchMessage {
                        seq: msg.seq + 1,
                        due_at: after + delay,
                        payload: None,
                        ..msg.clone()
                    };
                    enqueue(state, &next, delay)
                        .await
                        .map_err(|e| e.to_string())?;
                    Outcome::RetryAt(after + delay)
                }
            }
        };
        let attempt = Attempt {
            attempt: msg.seq,
            at: iso(now),
            url,
            status_code: sent.status_code,
            latency_ms: sent.latency_ms,
            error: sent.error.clone(),
            trigger: record.trigger,
        };
        let kept = store
            .record_attempt(
                &msg.tenant_id,
                &msg.event_id,
                record.event_type,
                msg.seq,
                &attempt,
                &outcome,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !kept {
            tracing::warn!("the claim was taken over before the attempt was recorded");
        }
        tracing::info!(
            status_code = sent.status_code,
            error = sent.error.as_deref().unwrap_or(""),
            latency_ms = sent.latency_ms,
            attempt = attempt_in_round,
            of = attempts_per_round(&state.config.webhooks.retry_schedule),
            outcome = ?outcome,
            "webhook attempt"
        );
        Ok(Done::Ack)
    }

    /// Claims `msg.seq` on an existing record; `None` when there is nothing to do.
    async fn claim(
        &self,
        msg: &DispatchMessage,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<DeliveryRecord>, String> {
        let timeout = i64::try_from(self.state.config.webhooks.timeout_seconds).unwrap_or(60);
        let stale_before = now.timestamp() - (3 * timeout + 30).max(60);
        match self
            .state
            .store
            .claim_attempt(&msg.tenant_id, &msg.event_id, msg.seq, now, stale_before)
            .await
            .map_err(|e| e.to_string())?
        {
            Claim::Claimed(r) => Ok(Some(r)),
            Claim::AlreadyDone | Claim::NotExpected => Ok(None),
            Claim::Busy => Err("another worker is making this attempt".into()),
        }
    }

    async fn send(
        &self,
        webhook: &WebhookSettings,
        record: &DeliveryRecord,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Sent {
        let started = Instant::now();
        let elapsed = |s: Instant| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (client, url) = match self.http.client_for(&webhook.url) {
            Ok(c) => c,
            Err(refusal) => {
                return Sent {
                    error: Some(format!("refused: the URL {refusal}")),
                    ..Sent::default()
                }
            }
        };
        let timeout = self.state.config.webhooks.timeout_seconds;
        let secrets = webhook.signing_secrets(now);
        let mut req = client
            .post(url)
            .timeout(Duration::from_secs(timeout))
            .body(record.payload.clone());
        for (name, value) in signed_headers(
            &record.id,
            record.event_type,
            now.timestamp(),
            record.payload.as_bytes(),
            &secrets,
        ) {
            req = req.header(name, value);
        }
        match req.send().await {
            Ok(res) => {
                let code = res.status().as_u16();
                let retry_after = if code == 429 || code == 503 {
                    res.headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, self.state.clock.now()))
                } else {
                    None
                };
                Sent {
                    status_code: Some(code),
                    latency_ms: elapsed(started),
                    error: (!(200..300).contains(&code)).then(|| format!("HTTP {code}")),
                    retry_after,
                }
            }
            Err(e) => Sent {
                status_code: None,
                latency_ms: elapsed(started),
                error: Some(describe(&e, timeout)),
                retry_after: None,
            },
        }
    }
}

/// A short, useful reason for a failed request.
fn describe(e: &reqwest::Error, timeout: u64) -> String {
    if let Some(refusal) = refusal_of(e) {
        return format!("refused: the URL {refusal}");
    }
    if e.is_timeout() {
        return format!("timed out: no answer within {timeout} s");
    }
    let mut parts = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    let text = parts.join(": ");
    let prefix = if e.is_connect() {
        "connection failed: "
    } else {
        ""
    };
    let mut out = format!("{prefix}{text}");
    if out.len() > 300 {
        let mut cut = 300;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}
