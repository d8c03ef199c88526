//! Answering a customer message, the spec's decision flow: a keyword rule's responses (the
//! first now, the next ones through the queue `step_delay_seconds` apart), else AI Smart
//! Reply within the daily AI quota, else, outside the working hours when the tenant turned
//! the away message on, the away message (once per closed spell), else nothing. Every reply
//! goes through the send flow (daily outbound cap, 24-hour window, statuses) with an
//! idempotency key derived from the customer's message, so a redelivered job never sends a
//! reply twice. The decision is logged in the tenant's reply log.

use super::record::{Recorded, IDEMPOTENT_CALL};
use super::{enqueue, EnqueueError, Inbound, InboundJob, ReplyStepJob};
use crate::adapters::ai::{build_messages, Turn, CONTEXT_MESSAGES};
use crate::adapters::providers::Content;
use crate::domain::analytics::{AutoReply, CountsAs};
use crate::domain::auto_reply::{Matcher, RuleKey};
use crate::domain::messages::idempotency_key_hash;
use crate::domain::messages::MessageKind;
use crate::domain::phone::Phone;
use crate::domain::quota::{cap_for, Limit};
use crate::domain::time::iso;
use crate::runtime::retry::{retry, Retry};
use crate::services::analytics;
use crate::services::sending::{self, ConsentCheck, Idempotency, SendError, SendRequest, Sender};
use crate::store::analytics::CountAt;
use crate::store::auto_replies::{ReplyLogEntry, ReplyOutcome, Rule};
use crate::store::conversations::{history_position, Conversation};
use crate::store::messages::{Direction, Message, MessageSource};
use crate::store::tenants::Tenant;
use crate::store::usage::Reserve;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::RwLock;

/// How many messages of the conversation the AI history query reads before keeping this
/// device's (all devices with the customer share the index partition).
const HISTORY_READ: i32 = 25;
/// Tenants whose compiled rules an instance keeps.
const MAX_CACHED_TENANTS: usize = 1_000;
/// A WhatsApp text's longest body.
const MAX_REPLY_CHARS: usize = 4096;
/// What the reply log says of a failure of ours; the detail goes to our logs, not the tenant.
pub(super) const INTERNAL_ERROR: &str = "Internal server error";
/// The reply log's `ruleId` of the AI's answers and of an away message (a keyword rule's
/// answers carry the rule's id).
const AI_RULE_ID: &str = "ai";
const AWAY_RULE_ID: &str = "away";

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("rules: {0}")]
    Rules(StoreError),
    #[error("AI quota: {0}")]
    AiQuota(StoreError),
    #[error("queueing the next reply step failed: {0}")]
    NextStep(#[from] EnqueueError),
    /// Reading the tenant or recording a reply's send.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A tenant's active rules, compiled, and the rules themselves by id.
pub struct TenantRules {
    matcher: Matcher,
    by_id: HashMap<String, Rule>,
}

/// Tenant id → (rules version, compiled rules), for this instance.
#[derive(Default)]
pub struct RulesCache(RwLock<HashMap<String, (u64, Arc<TenantRules>)>>);

/// One automatic answer: what is sent, as what it is counted and logged.
struct AutoAnswer<'a> {
    text: &'a str,
    source: MessageSource,
    /// The send's idempotency key, derived from the customer's message.
    key: String,
    kind: AutoReply,
    rule_id: &'a str,
    /// The reply log's outcome when it goes out.
    answered: ReplyOutcome,
}

/// What came of sending one automatic reply.
#[derive(Debug)]
pub(super) enum ReplySent {
    Sent,
    /// The daily outbound cap is reached (nothing sent).
    CapReached(String),
    /// Stopped before the provider for another reason (device gone, window…).
    Refused(String),
    /// The provider refused or failed it (recorded as a failed message).
    Failed(String),
}

pub(super) fn detail(s: &str) -> String {
    s.chars().take(300).collect()
}

/// The idempotency key of a keyword rule's response number `step` to a customer message.
fn step_key(inbound_message_id: &str, step: usize) -> String {
    format!("keyword:{inbound_message_id}:{step}")
}

impl Inbound {
    /// The tenant's compiled rules when the message has text to match and the tenant has
    /// rules at all.
    pub(super) async fn rules_for_message(
        &self,
        recorded: &Recorded,
    ) -> Result<Option<Arc<TenantRules>>, AnswerError> {
        let ctx = &recorded.ctx;
        match (&ctx.tenant, recorded.content.match_text().is_empty()) {
            (Some(tenant), false) if ctx.rules_version > 0 => self
                .rules_for(&tenant.id, ctx.rules_version)
                .await
                .map(Some)
                .map_err(AnswerError::Rules),
            _ => Ok(None),
        }
    }

    /// Step 4, at most once per message.
    pub(super) async fn answer(
        &self,
        recorded: &Recorded,
        rules: Option<&TenantRules>,
    ) -> Result<(), AnswerError> {
        let Recorded { ctx, content, .. } = recorded;
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
                return self.keyword_reply(tenant, recorded, rule).await;
            }
        }
        let hours = &ctx.working_hours;
        let closed_since = || hours.closed_since(recorded.now);
        // AI Smart Reply (at any hour, or only while closed).
        if ctx.ai.enabled && (!ctx.ai.only_outside_working_hours || closed_since().is_some()) {
            return self.ai_reply(tenant, recorded).await;
        }
        // The away message, outside the working hours.
        if let Some(spell) = hours.enabled.then(closed_since).flatten() {
            return self
                .away_reply(tenant, recorded, &hours.away_message, spell)
                .await;
        }
        tracing::info!("no rule matched and no AI or away message answers now: left for the inbox");
        Ok(())
    }

    /// The away message, unless this customer was sent one through this device in the
    /// closed spell that began at `spell` (claimed before sending, so two messages at once
    /// get one between them).
    async fn away_reply(
        &self,
        tenant: &Tenant,
        recorded: &Recorded,
        text: &str,
        spell: DateTime<Utc>,
    ) -> Result<(), AnswerError> {
        let Recorded {
            conversation,
            message,
            now,
            ..
        } = recorded;
        let claimed = self
            .state
            .store
            .claim_away_reply(
                &tenant.id,
                &message.peer,
                &conversation.device_id,
                spell,
                &message.id,
                *now,
            )
            .await?;
        if !claimed {
            tracing::info!("closed: the away message already went out in this closed spell");
            return Ok(());
        }
        let answer = AutoAnswer {
            text,
            source: MessageSource::AwayReply,
            key: format!("away:{}", message.id),
            kind: AutoReply::Away,
            rule_id: AWAY_RULE_ID,
            answered: ReplyOutcome::Away,
        };
        // Counted and logged whatever came of it; nothing follows an away message.
        let _ = self.answer_with(tenant, recorded, answer).await;
        Ok(())
    }

    /// Sends one automatic answer to the customer through the send flow, counts it when
    /// the send did not, and logs the decision: how the send went.
    async fn answer_with(
        &self,
        tenant: &Tenant,
        recorded: &Recorded,
        answer: AutoAnswer<'_>,
    ) -> Result<ReplySent, StoreError> {
        let Recorded {
            conversation,
            message,
            now,
            ..
        } = recorded;
        let sent = self
            .send_reply(
                tenant,
                &conversation.device_id,
                &message.peer,
                answer.text,
                answer.source,
                &answer.key,
                ConsentCheck::Always,
                CountsAs::AutoReply(answer.kind),
            )
            .await;
        self.count_unsent(&tenant.id, &conversation.device_id, &sent, *now)
            .await;
        let (outcome, detail) = logged_outcome(&sent, answer.answered);
        tracing::info!(rule_id = answer.rule_id, outcome = ?outcome, "automatic answer decided");
        self.log(
            tenant,
            conversation,
            &message.peer,
            answer.rule_id,
            outcome,
            detail,
            *now,
        )
        .await;
        sent
    }

    async fn keyword_reply(
        &self,
        tenant: &Tenant,
        recorded: &Recorded,
        rule: &Rule,
    ) -> Result<(), AnswerError> {
        let Recorded {
            conversation,
            message,
            ..
        } = recorded;
        let Some(first) = rule.responses.first() else {
            return Ok(());
        };
        let answer = AutoAnswer {
            text: first,
            source: MessageSource::KeywordReply,
            key: step_key(&message.id, 0),
            kind: AutoReply::Keyword,
            rule_id: &rule.id,
            answered: ReplyOutcome::Keyword,
        };
        let sent = self.answer_with(tenant, recorded, answer).await;
        // The next steps follow a response WhatsApp refused, not one that never left.
        let go_on = matches!(sent, Ok(ReplySent::Sent | ReplySent::Failed(_)));
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
            let jobs = &[(next, rule.step_delay_seconds)];
            retry(IDEMPOTENT_CALL, |_| async move {
                enqueue(&self.state, jobs).await.map_err(Retry::Again)
            })
            .await?;
        }
        Ok(())
    }

    async fn ai_reply(&self, tenant: &Tenant, recorded: &Recorded) -> Result<(), AnswerError> {
        let Recorded {
            ctx,
            conversation,
            message,
            now,
            ..
        } = recorded;
        let (state, now) = (&self.state, *now);
        let log = |outcome, d: Option<String>| {
            self.log(
                tenant,
                conversation,
                &message.peer,
                AI_RULE_ID,
                outcome,
                d,
                now,
            )
        };
        let to = || CountAt {
            tenant_id: &tenant.id,
            device_id: &conversation.device_id,
            at: now,
        };
        let count = |kind| analytics::auto_reply(state, to(), kind);
        let cap = cap_for(tenant.plan, &tenant.limits, Limit::AiRepliesPerDay);
        let unit = match state
            .store
            .reserve(&tenant.id, Limit::AiRepliesPerDay, cap, now)
            .await
        {
            Ok(Reserve::Granted(r)) => r,
            Ok(Reserve::Exceeded { cap }) => {
                tracing::info!(cap, "AI Smart Reply skipped: daily AI quota used up");
                count(AutoReply::QuotaExceeded).await;
                log(
                    ReplyOutcome::QuotaExceeded,
                    Some(format!("Daily AI Smart Reply limit reached ({cap}/day)")),
                )
                .await;
                return Ok(());
            }
            Err(e) => {
                count(AutoReply::AiError).await;
                log(
                    ReplyOutcome::AiError,
                    Some("the AI quota could not be checked".into()),
                )
                .await;
                return Err(AnswerError::AiQuota(e));
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
                count(AutoReply::AiError).await;
                log(ReplyOutcome::AiError, Some(detail(&e.to_string()))).await;
                return Ok(());
            }
        };
        let answer = AutoAnswer {
            text: &reply,
            source: MessageSource::AiReply,
            key: format!("ai:{}", message.id),
            kind: AutoReply::Ai,
            rule_id: AI_RULE_ID,
            answered: ReplyOutcome::Ai,
        };
        if !matches!(
            self.answer_with(tenant, recorded, answer).await,
            Ok(ReplySent::Sent)
        ) {
            give_back().await;
        }
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
                        format!("[{}]", e.kind.map_or_else(|| "message".into(), kind_name))
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

    /// Sends one automatic reply through the send flow (cap, window, statuses, the
    /// customer's opt-out), as the tenant, with an idempotency key: a second call with the
    /// same key replays the first.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_reply(
        &self,
        tenant: &Tenant,
        device_id: &str,
        peer: &str,
        text: &str,
        source: MessageSource,
        key: &str,
        consent: ConsentCheck,
        counts_as: CountsAs,
    ) -> Result<ReplySent, StoreError> {
        let sender = Sender {
            tenant_id: tenant.id.clone(),
            plan: tenant.plan,
            limits: tenant.limits,
            api_key_id: None,
            user_id: None,
        };
        let to = match Phone::parse("to", peer) {
            Ok(to) => to,
            Err(e) => return Ok(ReplySent::Refused(e)),
        };
        let request = SendRequest {
            to,
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
            consent,
            counts_as,
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

    /// Counts an automatic reply whose send did not count it: the send completing counts
    /// `keyword`/`ai` (sent) and `sendFailed` (the provider refused); a reply stopped
    /// before the provider (cap, device, opt-out) or a store failure is counted here.
    async fn count_unsent(
        &self,
        tenant_id: &str,
        device_id: &str,
        sent: &Result<ReplySent, StoreError>,
        now: DateTime<Utc>,
    ) {
        let kind = match sent {
            Ok(ReplySent::Sent) | Ok(ReplySent::Failed(_)) => return,
            Ok(ReplySent::CapReached(_)) => AutoReply::QuotaExceeded,
            Ok(ReplySent::Refused(_)) | Err(_) => AutoReply::SendFailed,
        };
        let to = CountAt {
            tenant_id,
            device_id,
            at: now,
        };
        analytics::auto_reply(&self.state, to, kind).await;
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn log(
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
    ) -> Result<Arc<TenantRules>, StoreError> {
        if let Some((v, r)) = self.rules.0.read().await.get(tenant_id) {
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
                    created_at: r.created_at,
                })
                .collect(),
        );
        let compiled = Arc::new(TenantRules {
            matcher,
            by_id: active.into_iter().map(|r| (r.id.clone(), r)).collect(),
        });
        let mut cache = self.rules.0.write().await;
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

    /// One later response of a keyword rule; then the next one is queued with the rule's
    /// delay. A redelivered step replays its send (idempotency key) instead of sending
    /// again, and queues the next step again (whose send replays likewise).
    pub(super) async fn reply_step(&self, job: ReplyStepJob) -> Result<(), AnswerError> {
        let Some(text) = job.responses.get(job.step) else {
            return Ok(());
        };
        let Some(tenant) = self.state.store.get_tenant(&job.tenant_id).await? else {
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
                ConsentCheck::Always,
                // The rule's answer was counted with its first response.
                CountsAs::Message,
            )
            .await?;
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
            enqueue(&self.state, &[(next, delay)]).await?;
        }
        Ok(())
    }
}

/// What the reply log says of an automatic reply's send: `answered` when it went out.
fn logged_outcome(
    sent: &Result<ReplySent, StoreError>,
    answered: ReplyOutcome,
) -> (ReplyOutcome, Option<String>) {
    match sent {
        Ok(ReplySent::Sent) => (answered, None),
        Ok(ReplySent::CapReached(e)) => (ReplyOutcome::QuotaExceeded, Some(detail(e))),
        Ok(ReplySent::Failed(e) | ReplySent::Refused(e)) => {
            (ReplyOutcome::SendFailed, Some(detail(e)))
        }
        Err(e) => {
            tracing::error!(error = %e, outcome = ?answered, "sending an automatic reply failed");
            (ReplyOutcome::SendFailed, Some(detail(INTERNAL_ERROR)))
        }
    }
}

fn kind_name(k: MessageKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "message".into())
}
