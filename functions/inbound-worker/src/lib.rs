//! The inbound worker (SQS, partial batch failures): everything that happens after a
//! customer writes in, and Meta's delivery statuses. See `docs/inbound.md`.
//!
//! A customer message:
//! 1. One `BatchGetItem`: tenant, device, conversation, rules version, AI settings (and the
//!    tenant's compiled rules from this instance's cache, reloaded when the version moved).
//! 2. One transaction: the message (refused if its WhatsApp id was stored before) and the
//!    conversation (reopened if resolved, unread count + 1, the 24-hour window).
//! 3. The contact (new conversation or new profile name) and `message.received`.
//! 4. The spec's decision flow: a keyword rule's responses (the first now, the next ones
//!    through the queue `step_delay_seconds` apart), else AI Smart Reply within the daily
//!    AI quota, else nothing. Every reply goes through the send flow (daily outbound cap,
//!    24-hour window, statuses) with an idempotency key derived from the customer's message,
//!    so a redelivered job never sends a reply twice. The decision is logged.
//!
//! A failure before step 4 fails the job (SQS delivers it again; storing is idempotent). From
//! step 4 on, a failure is logged, not retried: an AI error or timeout means no reply and an
//! `ai_error` entry, never a retry storm.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;
use tracing::Instrument;
use wati_shared::adapters::ai::{build_messages, SmartReply, Turn, CONTEXT_MESSAGES};
use wati_shared::adapters::providers::Content;
use wati_shared::domain::auto_reply::{Matcher, RuleKey};
use wati_shared::domain::inbound::{
    inbound_message_id, media_url, parse_message, parse_status, reported_time, InboundContent,
    InboundKind, Location, ReportedStatus,
};
use wati_shared::domain::messages::{idempotency_key_hash, MessageStatus};
use wati_shared::domain::quota::{cap_for, Limit};
use wati_shared::domain::webhooks::{MessageKind as EventKind, MessageReceived, WebhookEvent};
use wati_shared::lambda::sqs::{parse_body, run_batch};
use wati_shared::lambda::Handler;
use wati_shared::runtime::clock::iso;
use wati_shared::services::inbound::{enqueue, InboundJob, MessageJob, ReplyStepJob, StatusJob};
use wati_shared::services::sending::{self, Idempotency, SendError, SendRequest, Sender};
use wati_shared::services::statuses;
use wati_shared::store::auto_replies::{ReplyLogEntry, ReplyOutcome, Rule};
use wati_shared::store::conversations::{
    history_position, Conversation, Handling, InboundContext, RecordInbound,
};
use wati_shared::store::messages::{
    Direction, Failure, Message, MessageKind, MessageSource, StatusOutcome, StatusUpdate,
};
use wati_shared::store::tenants::Tenant;
use wati_shared::store::StoreError;
use wati_shared::AppState;

/// A claim older than this is an earlier attempt that died: a redelivery takes over. Well
/// above the worker's 60 s timeout, below the queue's 360 s visibility timeout.
/// Tries at writing a message against a conversation other messages are changing too
/// (about 3 s of jittered backoff in all).
const MAX_CONVERSATION_ATTEMPTS: u32 = 12;

const STALE_CLAIM: chrono::Duration = chrono::Duration::seconds(120);
/// How many times a status is re-queued while its message cannot be found.
pub const MAX_STATUS_ATTEMPTS: u32 = 6;
/// How many messages of the conversation the AI history query reads before keeping this
/// device's (all devices with the customer share the index partition).
const HISTORY_READ: i32 = 25;
/// Tenants whose compiled rules an instance keeps.
const MAX_CACHED_TENANTS: usize = 1_000;
/// A WhatsApp text's longest body.
const MAX_REPLY_CHARS: usize = 4096;

/// A tenant's active rules, compiled, and the rules themselves by id.
struct TenantRules {
    matcher: Matcher,
    by_id: HashMap<String, Rule>,
}

pub struct Worker {
    state: AppState,
    rules: RwLock<HashMap<String, (u64, Arc<TenantRules>)>>,
    ai: SmartReply,
}

/// What came of sending one automatic reply.
#[derive(Debug)]
enum ReplySent {
    Sent,
    /// The daily outbound cap is reached (nothing sent).
    CapReached(String),
    /// Stopped before the provider for another reason (device gone, window…).
    Refused(String),
    /// The provider refused or failed it (recorded as a failed message).
    Failed(String),
}

fn detail(s: &str) -> String {
    s.chars().take(300).collect()
}

/// What the reply log says of a failure of ours; the detail goes to our logs, not the tenant.
const INTERNAL_ERROR: &str = "Internal server error";

/// The worker's Lambda handler: one [`Worker`] (and its rules cache) per instance.
pub fn handler(state: AppState) -> Handler {
    let worker = std::sync::Arc::new(Worker::new(state));
    Handler::sqs(move |event| {
        let worker = worker.clone();
        async move { worker.handle(event).await }
    })
}

impl Worker {
    pub fn new(state: AppState) -> Self {
        let ai = SmartReply::from_config(&state.config, state.aws.secrets.clone());
        Worker {
            state,
            rules: RwLock::new(HashMap::new()),
            ai,
        }
    }

    /// Handles one batch; the ids of the records to retry come back as `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        run_batch("inbound-worker", event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), String> {
        let job: InboundJob = parse_body(&record, "an inbound job")?;
        match job {
            InboundJob::Message(m) => self.message(m).await,
            InboundJob::Status(s) => self.status(s).await,
            InboundJob::ReplyStep(r) => self.reply_step(r).await,
        }
    }

    // ---------------------------------------------------------------- customer messages

    async fn message(&self, job: MessageJob) -> Result<(), String> {
        let content =
            parse_message(&job.message).map_err(|e| format!("unreadable message: {e}"))?;
        let received = Utc
            .timestamp_opt(job.received_at, 0)
            .single()
            .unwrap_or_else(|| self.state.clock.now());
        let sent_at = reported_time(content.timestamp, received);
        let id = inbound_message_id(&job.tenant_id, &content.wamid, sent_at);
        let span = tracing::info_span!("inbound", tenant_id = %job.tenant_id, message_id = %id, wamid = %content.wamid);
        self.message_inner(job, content, id, sent_at)
            .instrument(span)
            .await
    }

    async fn message_inner(
        &self,
        job: MessageJob,
        content: InboundContent,
        id: String,
        sent_at: DateTime<Utc>,
    ) -> Result<(), String> {
        let state = &self.state;
        let now = state.clock.now();
        let peer = content.from.clone();

        // 1–2: the context, then the message with its conversation (retried while another
        // message of the same conversation is being stored).
        let mut attempt = 0u32;
        let (ctx, conversation, message, first_time) = loop {
            let ctx = state
                .store
                .inbound_context(&job.tenant_id, &job.device_id, &peer)
                .await
                .map_err(|e| e.to_string())?;
            if ctx.tenant.is_none() {
                tracing::warn!("message for an unknown tenant dropped");
                return Ok(());
            }
            let next = Conversation::after_inbound(
                ctx.conversation.as_ref(),
                &job.tenant_id,
                &job.device_id,
                &peer,
                &id,
                sent_at,
                job.profile_name.as_deref(),
                now,
            );
            let message = self.inbound_message(&job, &content, &id, sent_at, now);
            let extra = InboundExtra::of(&content, &job, &next.id);
            let read_version = ctx.conversation.as_ref().map(|c| c.version);
            match state
                .store
                .record_inbound(&message, &extra, &next, read_version, now)
                .await
                .map_err(|e| e.to_string())?
            {
                RecordInbound::Recorded => break (ctx, next, message, true),
                RecordInbound::Duplicate => {
                    match state
                        .store
                        .take_over_inbound(&job.tenant_id, &id, now - STALE_CLAIM, now)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        Handling::TakenOver => {
                            tracing::info!("finishing a message an earlier attempt stored");
                            let conv = ctx.conversation.clone().unwrap_or(next);
                            break (ctx, conv, message, false);
                        }
                        Handling::Busy | Handling::Done => {
                            tracing::info!("duplicate message ignored");
                            return Ok(());
                        }
                    }
                }
                RecordInbound::ConversationChanged => {
                    // Messages of one customer arrive together (a batch holds up to ten, and
                    // Meta sends bursts): they take turns on the conversation. Jittered
                    // backoff keeps them from colliding again; failing the job would park it
                    // for the queue's whole visibility timeout.
                    attempt += 1;
                    if attempt >= MAX_CONVERSATION_ATTEMPTS {
                        return Err("the conversation kept changing; retry later".into());
                    }
                    wati_shared::store::batch::backoff(attempt).await;
                }
            }
        };
        tracing::info!(
            kind = content.kind.as_str(),
            first_time,
            "inbound message stored"
        );

        // 3: the contact and the event (both idempotent: a failure retries the job).
        let name_changed = match (&ctx.conversation, &job.profile_name) {
            (None, _) => true,
            (Some(c), Some(n)) => c.profile_name.as_deref() != Some(n.as_str()),
            (Some(_), None) => false,
        };
        if name_changed || !first_time {
            state
                .store
                .contact_from_profile(
                    &job.tenant_id,
                    &peer,
                    job.profile_name.as_deref(),
                    &iso(now),
                )
                .await
                .map_err(|e| format!("contact: {e}"))?;
        }
        self.publish_received(&job, &content, &message, sent_at)
            .await?;

        // The tenant's compiled rules (cached), before anything is answered: a failure to
        // read them retries the job like the steps above.
        let rules = match (&ctx.tenant, content.match_text().is_empty()) {
            (Some(tenant), false) if ctx.rules_version > 0 => Some(
                self.rules_for(&tenant.id, ctx.rules_version)
                    .await
                    .map_err(|e| format!("rules: {e}"))?,
            ),
            _ => None,
        };

        // 4: the answer (at most once).
        if let Err(e) = self
            .answer(
                &ctx,
                rules.as_deref(),
                &conversation,
                &content,
                &message,
                now,
            )
            .await
        {
            tracing::error!(error = %e, "answering the message failed; no reply");
        }
        for attempt in 0..3u64 {
            match state.store.finish_inbound(&job.tenant_id, &id, now).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "marking the message answered failed");
                    tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
                }
            }
        }
        Ok(())
    }

    fn inbound_message(
        &self,
        job: &MessageJob,
        content: &InboundContent,
        id: &str,
        sent_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Message {
        let config = &self.state.config;
        let media = content.media.as_ref();
        Message {
            id: id.to_string(),
            tenant_id: job.tenant_id.clone(),
            direction: Direction::In,
            peer: content.from.clone(),
            kind: message_kind(content.kind),
            text: content.text.clone(),
            media_url: media
                .map(|m| media_url(&config.graph_api_base_url, &config.graph_api_version, &m.id)),
            media_mimetype: media.and_then(|m| m.mime_type.clone()),
            media_file_name: media.and_then(|m| m.file_name.clone()),
            template_name: None,
            template_language: None,
            device_id: Some(job.device_id.clone()),
            provider: Some(job.provider),
            status: MessageStatus::Received,
            wa_message_id: Some(content.wamid.clone()),
            error: None,
            error_code: None,
            response_status: None,
            retry_after: None,
            source: MessageSource::Inbound,
            api_key_id: None,
            created_at: iso(now),
            updated_at: iso(now),
            sent_at: Some(iso(sent_at)),
            delivered_at: None,
            read_at: None,
            failed_at: None,
        }
    }

    /// `message.received`, keyed by the WhatsApp id: publishing it again (a retried job)
    /// makes no second delivery.
    async fn publish_received(
        &self,
        job: &MessageJob,
        content: &InboundContent,
        message: &Message,
        sent_at: DateTime<Utc>,
    ) -> Result<(), String> {
        let mut kind = content.kind.event_kind();
        let media_url = message.media_url.clone();
        if kind != EventKind::Text && media_url.is_none() {
            kind = EventKind::Text;
        }
        let text = if kind == EventKind::Text {
            content.describe()
        } else {
            content.text.clone().unwrap_or_default()
        };
        let event = WebhookEvent::MessageReceived(MessageReceived {
            device_id: job.device_id.clone(),
            from: content.from.clone(),
            to: job.business_number.clone(),
            text,
            message_id: content.wamid.clone(),
            kind,
            media_url: if kind == EventKind::Text {
                None
            } else {
                media_url
            },
            timestamp: sent_at.timestamp(),
        });
        let key = format!("received:{}", content.wamid);
        let mut last = String::new();
        for attempt in 0..3u64 {
            match wati_shared::services::events::publish_with_key(
                &self.state,
                &job.tenant_id,
                event.clone(),
                &key,
            )
            .await
            {
                Ok(_) => return Ok(()),
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
                }
            }
        }
        Err(format!("publishing message.received failed: {last}"))
    }

    // ---------------------------------------------------------------- answering

    /// The spec's decision flow.
    async fn answer(
        &self,
        ctx: &InboundContext,
        rules: Option<&TenantRules>,
        conversation: &Conversation,
        content: &InboundContent,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let (Some(tenant), Some(device)) = (&ctx.tenant, &ctx.device) else {
            tracing::info!("no reply: the device is gone");
            return Ok(());
        };
        if tenant.suspended || !device.is_connected() || !content.kind.answerable() {
            tracing::info!(
                suspended = tenant.suspended,
                connected = device.is_connected(),
                kind = content.kind.as_str(),
                "no automatic reply for this message"
            );
            return Ok(());
        }
        // A keyword rule matches: its responses, and stop.
        if let Some(rules) = rules {
            if let Some(rule) = rules
                .matcher
                .find(content.match_text())
                .and_then(|k| rules.by_id.get(&k.id))
            {
                return self
                    .keyword_reply(tenant, conversation, message, rule, now)
                    .await;
            }
        }
        // AI Smart Reply.
        if ctx.ai.enabled {
            return self.ai_reply(ctx, tenant, conversation, message, now).await;
        }
        tracing::info!("no rule matched and AI Smart Reply is off: left for the inbox");
        Ok(())
    }

    async fn keyword_reply(
        &self,
        tenant: &Tenant,
        conversation: &Conversation,
        message: &Message,
        rule: &Rule,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let Some(first) = rule.responses.first() else {
            return Ok(());
        };
        let sent = self
            .send_reply(
                tenant,
                &conversation.device_id,
                &message.peer,
                first,
                MessageSource::KeywordReply,
                &step_key(&message.id, 0),
            )
            .await;
        let (outcome, detail_text, go_on) = match &sent {
            Ok(ReplySent::Sent) => (ReplyOutcome::Keyword, None, true),
            Ok(ReplySent::Failed(e)) => (ReplyOutcome::SendFailed, Some(detail(e)), true),
            Ok(ReplySent::CapReached(e)) => (ReplyOutcome::QuotaExceeded, Some(detail(e)), false),
            Ok(ReplySent::Refused(e)) => (ReplyOutcome::SendFailed, Some(detail(e)), false),
            Err(e) => {
                tracing::error!(error = %e, "sending a keyword reply failed");
                (
                    ReplyOutcome::SendFailed,
                    Some(detail(INTERNAL_ERROR)),
                    false,
                )
            }
        };
        tracing::info!(rule_id = %rule.id, outcome = ?outcome, "keyword rule answered");
        self.log(
            tenant,
            conversation,
            &message.peer,
            &rule.id,
            outcome,
            detail_text,
            now,
        )
        .await;
        if go_on && rule.responses.len() > 1 {
            let next = InboundJob::ReplyStep(ReplyStepJob {
                tenant_id: tenant.id.clone(),
                device_id: conversation.device_id.clone(),
                peer: message.peer.clone(),
                inbound_message_id: message.id.clone(),
                rule_id: rule.id.clone(),
                responses: rule.responses.clone(),
                step: 1,
                step_delay_seconds: rule.step_delay_seconds,
            });
            self.queue_with_retries(next, rule.step_delay_seconds)
                .await?;
        }
        Ok(())
    }

    async fn ai_reply(
        &self,
        ctx: &InboundContext,
        tenant: &Tenant,
        conversation: &Conversation,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let state = &self.state;
        let log = |outcome, d: Option<String>| {
            self.log(tenant, conversation, &message.peer, "ai", outcome, d, now)
        };
        let cap = cap_for(tenant.plan, &tenant.limits, Limit::AiRepliesPerDay);
        let unit = match state
            .store
            .reserve(&tenant.id, Limit::AiRepliesPerDay, cap, now)
            .await
        {
            Ok(wati_shared::store::usage::Reserve::Granted(r)) => r,
            Ok(wati_shared::store::usage::Reserve::Exceeded { cap }) => {
                tracing::info!(cap, "AI Smart Reply skipped: daily AI quota used up");
                log(
                    ReplyOutcome::QuotaExceeded,
                    Some(format!("Daily AI Smart Reply limit reached ({cap}/day)")),
                )
                .await;
                return Ok(());
            }
            Err(e) => {
                log(
                    ReplyOutcome::AiError,
                    Some("the AI quota could not be checked".into()),
                )
                .await;
                return Err(format!("AI quota: {e}"));
            }
        };
        let give_back = || async {
            if let Err(e) = state.store.release(&unit).await {
                tracing::error!(error = %e, "giving an AI unit back failed");
            }
        };
        let turns = self.history(conversation, message, now).await;
        let request = build_messages(&ctx.ai.system_prompt, &ctx.ai.fallback_language, &turns);
        let reply = match self.ai.reply(&request).await {
            Ok(r) => r.chars().take(MAX_REPLY_CHARS).collect::<String>(),
            Err(e) => {
                tracing::warn!(error = %e, "AI Smart Reply failed: no reply");
                give_back().await;
                log(ReplyOutcome::AiError, Some(detail(&e.to_string()))).await;
                return Ok(());
            }
        };
        let sent = self
            .send_reply(
                tenant,
                &conversation.device_id,
                &message.peer,
                &reply,
                MessageSource::AiReply,
                &format!("ai:{}", message.id),
            )
            .await;
        let (outcome, d) = match sent {
            Ok(ReplySent::Sent) => (ReplyOutcome::Ai, None),
            Ok(ReplySent::CapReached(e)) => {
                give_back().await;
                (ReplyOutcome::QuotaExceeded, Some(detail(&e)))
            }
            Ok(ReplySent::Failed(e)) | Ok(ReplySent::Refused(e)) => {
                give_back().await;
                (ReplyOutcome::SendFailed, Some(detail(&e)))
            }
            Err(e) => {
                tracing::error!(error = %e, "sending an AI reply failed");
                give_back().await;
                (ReplyOutcome::SendFailed, Some(detail(INTERNAL_ERROR)))
            }
        };
        tracing::info!(outcome = ?outcome, "AI Smart Reply answered");
        log(outcome, d).await;
        Ok(())
    }

    /// The conversation's last messages, oldest first, ending with `current`: what the AI
    /// sees (the last five are kept by `build_messages`). Messages that never reached
    /// WhatsApp (failed or pending sends) are left out.
    async fn history(
        &self,
        conversation: &Conversation,
        current: &Message,
        stored_at: DateTime<Utc>,
    ) -> Vec<Turn> {
        let position = history_position(stored_at, &current.id);
        let mut turns: Vec<Turn> = match self
            .state
            .store
            .conversation_history(&conversation.tenant_id, &conversation.peer, HISTORY_READ)
            .await
        {
            Ok(entries) => entries
                .into_iter()
                .filter(|e| e.id != current.id && e.position < position)
                .filter(|e| e.device_id.as_deref() == Some(conversation.device_id.as_str()))
                .filter(|e| e.direction == Direction::In || e.wa_message_id.is_some())
                .take(CONTEXT_MESSAGES - 1)
                .map(|e| Turn {
                    from_customer: e.direction == Direction::In,
                    text: e.text.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| {
                        format!(
                            "[{}]",
                            e.kind
                                .and_then(|k| serde_json::to_value(k).ok())
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_else(|| "message".into())
                        )
                    }),
                })
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "conversation history unavailable: the AI sees only this message");
                Vec::new()
            }
        };
        turns.reverse();
        turns.push(Turn {
            from_customer: true,
            text: current
                .text
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| format!("[{}]", kind_name(current.kind))),
        });
        turns
    }

    /// Sends one automatic reply through the send flow (cap, window, statuses), as the
    /// tenant, with an idempotency key: a second call with the same key replays the first.
    async fn send_reply(
        &self,
        tenant: &Tenant,
        device_id: &str,
        peer: &str,
        text: &str,
        source: MessageSource,
        key: &str,
    ) -> Result<ReplySent, StoreError> {
        let sender = Sender {
            tenant_id: tenant.id.clone(),
            plan: tenant.plan,
            limits: tenant.limits,
            api_key_id: None,
        };
        let request = SendRequest {
            to: peer.to_string(),
            content: Content::Text {
                body: text.to_string(),
            },
            text: Some(text.to_string()),
            device_id: Some(device_id.to_string()),
            media_check: None,
            idempotency: Some(Idempotency {
                key_hash: idempotency_key_hash(key),
                fingerprint: hex::encode(Sha256::digest(key.as_bytes())),
            }),
            source,
        };
        match sending::send(&self.state, &sender, request).await {
            Ok(reply) => Ok(match reply.outcome {
                Ok(_) => ReplySent::Sent,
                Err(failed) => ReplySent::Failed(failed.error),
            }),
            Err(e @ SendError::DailyLimit(_)) => Ok(ReplySent::CapReached(e.to_string())),
            Err(SendError::Store(e)) => Err(e),
            Err(e) => Ok(ReplySent::Refused(e.to_string())),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn log(
        &self,
        tenant: &Tenant,
        conversation: &Conversation,
        peer: &str,
        rule_id: &str,
        outcome: ReplyOutcome,
        detail: Option<String>,
        now: DateTime<Utc>,
    ) {
        let entry = ReplyLogEntry {
            id: uuid::Uuid::now_v7().to_string(),
            at: iso(now),
            conversation_id: conversation.id.clone(),
            peer: peer.to_string(),
            rule_id: rule_id.to_string(),
            outcome,
            detail,
        };
        if let Err(e) = self.state.store.log_reply(&tenant.id, &entry, now).await {
            tracing::error!(error = %e, "writing the reply log failed");
        }
    }

    /// The tenant's active rules, compiled, from this instance's cache while the tenant's
    /// rules version has not moved.
    async fn rules_for(
        &self,
        tenant_id: &str,
        version: u64,
    ) -> Result<Arc<TenantRules>, wati_shared::store::StoreError> {
        if let Some((v, r)) = self.rules.read().await.get(tenant_id) {
            if *v == version {
                return Ok(r.clone());
            }
        }
        let active: Vec<Rule> = self
            .state
            .store
            .list_rules(tenant_id)
            .await?
            .into_iter()
            .filter(|r| r.active)
            .collect();
        let matcher = Matcher::new(
            active
                .iter()
                .map(|r| RuleKey {
                    id: r.id.clone(),
                    keyword: r.keyword.clone(),
                    match_type: r.match_type,
                    created_at: r.created_at.clone(),
                })
                .collect(),
        );
        let compiled = Arc::new(TenantRules {
            matcher,
            by_id: active.into_iter().map(|r| (r.id.clone(), r)).collect(),
        });
        let mut cache = self.rules.write().await;
        if cache.len() >= MAX_CACHED_TENANTS {
            cache.clear();
        }
        cache.insert(tenant_id.to_string(), (version, compiled.clone()));
        tracing::debug!(
            tenant_id,
            version,
            rules = compiled.by_id.len(),
            "rules compiled"
        );
        Ok(compiled)
    }

    async fn queue_with_retries(&self, job: InboundJob, delay: u32) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..3u64 {
            match enqueue(&self.state, &[(job.clone(), delay)]).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
                }
            }
        }
        Err(format!("queueing the next reply step failed: {last}"))
    }

    // ---------------------------------------------------------------- multi-step replies

    /// One later response of a keyword rule; then the next one is queued with the rule's
    /// delay. A redelivered step replays its send (idempotency key) instead of sending
    /// again, and queues the next step again (whose send replays likewise).
    async fn reply_step(&self, job: ReplyStepJob) -> Result<(), String> {
        let Some(text) = job.responses.get(job.step) else {
            return Ok(());
        };
        let Some(tenant) = self
            .state
            .store
            .get_tenant(&job.tenant_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        if tenant.suspended {
            tracing::info!(tenant_id = %job.tenant_id, "reply steps stopped: tenant suspended");
            return Ok(());
        }
        let sent = self
            .send_reply(
                &tenant,
                &job.device_id,
                &job.peer,
                text,
                MessageSource::KeywordReply,
                &step_key(&job.inbound_message_id, job.step),
            )
            .await
            .map_err(|e| e.to_string())?;
        match &sent {
            ReplySent::Sent => {}
            ReplySent::Failed(e) => {
                tracing::warn!(rule_id = %job.rule_id, step = job.step, error = %e, "reply step not delivered");
            }
            ReplySent::CapReached(e) | ReplySent::Refused(e) => {
                tracing::warn!(rule_id = %job.rule_id, step = job.step, error = %e, "reply steps stopped");
                return Ok(());
            }
        }
        if job.step + 1 < job.responses.len() {
            let delay = job.step_delay_seconds;
            let next = InboundJob::ReplyStep(ReplyStepJob {
                step: job.step + 1,
                ..job
            });
            enqueue(&self.state, &[(next, delay)])
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- statuses

    /// One of Meta's statuses for an outbound message: recorded through `statuses::record`
    /// (forward only: a late `delivered` never moves a `read` message back). A status whose
    /// message cannot be found yet (the send is still recording `sent`, or the index lags)
    /// is queued again a few seconds later, a few times.
    async fn status(&self, job: StatusJob) -> Result<(), String> {
        let state = &self.state;
        let report = parse_status(&job.status).map_err(|e| format!("unreadable status: {e}"))?;
        let status = match &report.status {
            ReportedStatus::Sent => MessageStatus::Sent,
            ReportedStatus::Delivered => MessageStatus::Delivered,
            ReportedStatus::Read => MessageStatus::Read,
            ReportedStatus::Failed => MessageStatus::Failed,
            ReportedStatus::Other(s) => {
                tracing::info!(status = %s, wamid = %report.wamid, "status not recorded");
                return Ok(());
            }
        };
        let now = state.clock.now();
        let Some(message) = state
            .store
            .find_message_by_wamid(&job.tenant_id, &report.wamid)
            .await
            .map_err(|e| e.to_string())?
        else {
            return self
                .status_later(job, "its message is not known (yet)")
                .await;
        };
        if message.direction == Direction::In {
            return Ok(());
        }
        let failure = (status == MessageStatus::Failed).then(|| {
            let e = report
                .error
                .clone()
                .unwrap_or(wati_shared::domain::inbound::ReportedError {
                    code: None,
                    title: None,
                    message: None,
                    details: None,
                });
            Failure {
                error: e.describe(),
                code: e.code,
                response_status: None,
                retry_after: None,
            }
        });
        let update = StatusUpdate {
            tenant_id: job.tenant_id.clone(),
            message_id: message.id.clone(),
            status,
            at: iso(reported_time(report.timestamp, now)),
            failure,
            completion: None,
        };
        match statuses::record(state, update)
            .await
            .map_err(|e| e.to_string())?
        {
            StatusOutcome::Unchanged(m) if m.status == MessageStatus::Pending => {
                self.status_later(job, "its send has not recorded `sent` yet")
                    .await
            }
            StatusOutcome::NotFound => self.status_later(job, "its message is gone").await,
            StatusOutcome::Changed(_) | StatusOutcome::Unchanged(_) => Ok(()),
        }
    }

    async fn status_later(&self, job: StatusJob, why: &str) -> Result<(), String> {
        let attempt = job.attempt + 1;
        if attempt >= MAX_STATUS_ATTEMPTS {
            tracing::warn!(tenant_id = %job.tenant_id, status = %job.status, why, "status dropped after retries");
            return Ok(());
        }
        let delay = 2u32.saturating_pow(attempt).min(60);
        tracing::info!(tenant_id = %job.tenant_id, why, attempt, delay, "status queued again");
        enqueue(
            &self.state,
            &[(InboundJob::Status(StatusJob { attempt, ..job }), delay)],
        )
        .await
        .map_err(|e| e.to_string())
    }
}

/// The idempotency key of a keyword rule's response number `step` to a customer message.
fn step_key(inbound_message_id: &str, step: usize) -> String {
    format!("keyword:{inbound_message_id}:{step}")
}

fn message_kind(k: InboundKind) -> MessageKind {
    match k {
        InboundKind::Text => MessageKind::Text,
        InboundKind::Image => MessageKind::Image,
        InboundKind::Video => MessageKind::Video,
        InboundKind::Audio => MessageKind::Audio,
        InboundKind::Document => MessageKind::Document,
        InboundKind::Sticker => MessageKind::Sticker,
        InboundKind::Location => MessageKind::Location,
        InboundKind::Contacts => MessageKind::Contacts,
        InboundKind::Button => MessageKind::Button,
        InboundKind::Interactive => MessageKind::Interactive,
        InboundKind::Reaction => MessageKind::Reaction,
        InboundKind::Unknown => MessageKind::Unknown,
    }
}

fn kind_name(k: MessageKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "message".into())
}

/// What an inbound message item holds besides the [`Message`] fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundExtra {
    /// Meta's `type`, as sent.
    wa_type: String,
    conversation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_name: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    business_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_id: Option<String>,
    /// The JSON of a message of a type this platform does not understand.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

impl InboundExtra {
    fn of(c: &InboundContent, job: &MessageJob, conversation_id: &str) -> Self {
        InboundExtra {
            wa_type: c.wa_type.clone(),
            conversation_id: conversation_id.to_string(),
            profile_name: job.profile_name.clone(),
            business_number: job.business_number.clone(),
            media_id: c.media.as_ref().map(|m| m.id.clone()),
            media_sha256: c.media.as_ref().and_then(|m| m.sha256.clone()),
            location: c.location.clone(),
            reply_id: c.reply_id.clone(),
            context_id: c.context_id.clone(),
            raw: c.raw.clone(),
        }
    }
}
