//! Keyword auto-reply rules, AI Smart Reply settings and the reply log.

use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Query, Returns};
use super::usage::{release_in_transaction, reserve_in_transaction};
use super::{n, s, to_item, Store, StoreError, StoreResult};
use crate::domain::auto_reply::MatchType;
use crate::domain::quota::Limit;
use crate::domain::time;
use crate::domain::working_hours::WorkingHours;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A rule as stored and as the API shows it (snake_case, as the spec writes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    pub id: String,
    pub keyword: String,
    pub match_type: MatchType,
    /// The first response (the spec's single-response form).
    pub response: String,
    /// Sent in order, `step_delay_seconds` apart.
    pub responses: Vec<String>,
    pub step_delay_seconds: u32,
    pub active: bool,
    #[serde(with = "time::millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::millis")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RuleItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    rule: Rule,
}

/// Read with defaults for what is missing: the item may hold only the working hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AiSettings {
    pub enabled: bool,
    /// The business voice: prepended to every AI conversation.
    pub system_prompt: String,
    /// The language to answer in when the customer's cannot be told.
    pub fallback_language: String,
    /// Answer only outside the working hours (nights and weekends), leaving the rest to
    /// the team.
    pub only_outside_working_hours: bool,
}

impl Default for AiSettings {
    fn default() -> Self {
        AiSettings {
            enabled: false,
            system_prompt: String::new(),
            fallback_language: "English".into(),
            only_outside_working_hours: false,
        }
    }
}

/// How long an away message's claim is kept: longer than any closed spell of a weekly
/// schedule that opens at all.
const AWAY_CLAIM_DAYS: i64 = 8;

/// The item the AI settings and the working hours share, as read together.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoAnswerSettings {
    #[serde(flatten)]
    pub ai: AiSettings,
    /// The defaults (off) until set.
    #[serde(default)]
    pub working_hours: WorkingHours,
}

/// What the inbound worker decided for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// A keyword rule answered.
    Keyword,
    /// The AI answered.
    Ai,
    /// AI enabled but the daily AI quota was used up: no reply.
    QuotaExceeded,
    /// The AI failed or timed out: no reply.
    AiError,
    /// Outside the working hours (no rule matched, AI off): the away message went out.
    Away,
    /// A reply was chosen (a rule's, the AI's, the away message) but could not go out:
    /// WhatsApp refused it, or the device or the 24-hour window stopped it (`detail` says
    /// which).
    SendFailed,
    /// The message was an opt-out word: the customer is opted out, confirmed once, and no
    /// rule or AI answered (`detail` says if the confirmation did not go out, or if the
    /// customer had opted out before).
    OptedOut,
    /// The message was an opt-in word from an opted-out customer: opted back in.
    OptedIn,
    /// A message from an opted-out customer: no rule or AI answers it.
    OptedOutNoReply,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyLogEntry {
    pub id: String,
    pub at: String,
    pub conversation_id: String,
    pub peer: String,
    /// The rule's id, or `ai`.
    pub rule_id: String,
    pub outcome: ReplyOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub enum CreateRuleOutcome {
    Created(Rule),
    LimitReached { cap: u32 },
}

/// Reply log entries are kept this long.
const REPLY_LOG_DAYS: i64 = 90;

impl Store {
    fn bump_rules_version(&self, tenant_id: &str) -> StoreResult<TransactWriteItem> {
        table::update(
            &self.table,
            &tenant_pk(tenant_id),
            RULES_VERSION_SK,
            "ADD version :one",
            Cond::none().value(":one", n(1)),
        )
    }

    /// Creates a rule and takes one unit of the tenant's rule cap, atomically.
    pub async fn create_rule(
        &self,
        tenant_id: &str,
        rule: Rule,
        cap: Option<u32>,
        now: DateTime<Utc>,
    ) -> StoreResult<CreateRuleOutcome> {
        let item = RuleItem {
            pk: tenant_pk(tenant_id),
            sk: rule_sk(&rule.id),
            rule,
        };
        let writes = vec![
            reserve_in_transaction(&self.table, tenant_id, Limit::AutoReplyRules, cap, now)?,
            table::put(&self.table, to_item(&item)?, Some(Cond::absent()))?,
            self.bump_rules_version(tenant_id)?,
        ];
        match (self.commit(writes).await?, cap) {
            (Commit::Done, _) => Ok(CreateRuleOutcome::Created(item.rule)),
            (c, Some(cap)) if c.failed_condition() == Some(0) => {
                Ok(CreateRuleOutcome::LimitReached { cap })
            }
            _ => Err(StoreError::Contention("create rule")),
        }
    }

    /// Every rule of a tenant, oldest first.
    pub async fn list_rules(&self, tenant_id: &str) -> StoreResult<Vec<Rule>> {
        // Strongly consistent: the inbound worker compiles what it reads under the rules
        // version it just read.
        let mut rules: Vec<Rule> = self
            .query_prefix_all::<RuleItem>(tenant_pk(tenant_id), RULE_PREFIX)
            .await?
            .into_iter()
            .map(|r| r.rule)
            .collect();
        rules.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(rules)
    }

    pub async fn get_rule(&self, tenant_id: &str, rule_id: &str) -> StoreResult<Option<Rule>> {
        Ok(self
            .get::<RuleItem>(&tenant_pk(tenant_id), &rule_sk(rule_id))
            .await?
            .map(|r| r.rule))
    }

    /// Replaces a rule if it has not changed since `expected_updated_at` was read.
    /// `Ok(false)`: it changed or disappeared meanwhile.
    pub async fn replace_rule(
        &self,
        tenant_id: &str,
        rule: &Rule,
        expected_updated_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let item = RuleItem {
            pk: tenant_pk(tenant_id),
            sk: rule_sk(&rule.id),
            rule: rule.clone(),
        };
        let unchanged = Cond::new("updated_at = :seen").value(
            ":seen",
            s(crate::domain::time::iso_millis(expected_updated_at)),
        );
        let writes = vec![
            table::put(&self.table, to_item(&item)?, Some(unchanged))?,
            self.bump_rules_version(tenant_id)?,
        ];
        self.commit(writes).await?.done_or_lost("replace rule")
    }

    /// Deletes a rule and gives its unit back. `Ok(false)` if there was no such rule.
    pub async fn delete_rule(
        &self,
        tenant_id: &str,
        rule_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let writes = vec![
            table::delete(
                &self.table,
                &tenant_pk(tenant_id),
                &rule_sk(rule_id),
                Some(Cond::exists()),
            )?,
            release_in_transaction(&self.table, tenant_id, Limit::AutoReplyRules, now)?,
            self.bump_rules_version(tenant_id)?,
        ];
        match self.commit(writes).await? {
            Commit::Done => Ok(true),
            c if c.failed_condition() == Some(0) => Ok(false),
            _ => Err(StoreError::Contention("delete rule")),
        }
    }

    /// The rules version: changes whenever any rule does (0 before the first rule).
    pub async fn rules_version(&self, tenant_id: &str) -> StoreResult<u64> {
        #[derive(Deserialize)]
        struct Version {
            #[serde(default)]
            version: u64,
        }
        let v = self
            .get_with::<Version>(&tenant_pk(tenant_id), RULES_VERSION_SK, false, None)
            .await?;
        Ok(v.map_or(0, |v| v.version))
    }

    pub async fn ai_settings(&self, tenant_id: &str) -> StoreResult<AiSettings> {
        let settings = self
            .get_with(&tenant_pk(tenant_id), AI_SETTINGS_SK, false, None)
            .await?;
        Ok(settings.unwrap_or_default())
    }

    /// Sets the AI settings, leaving the working hours that share their item.
    pub async fn put_ai_settings(&self, tenant_id: &str, settings: &AiSettings) -> StoreResult<()> {
        let cond = Cond::none()
            .value(":e", AttributeValue::Bool(settings.enabled))
            .value(":p", s(&settings.system_prompt))
            .value(":l", s(&settings.fallback_language))
            .value(
                ":o",
                AttributeValue::Bool(settings.only_outside_working_hours),
            );
        let expr = "SET enabled = :e, systemPrompt = :p, fallbackLanguage = :l, \
                    onlyOutsideWorkingHours = :o";
        self.update_if(
            &tenant_pk(tenant_id),
            AI_SETTINGS_SK,
            expr,
            cond,
            Returns::NOTHING,
        )
        .await
        .map(|_| ())
    }

    /// The working hours (the defaults, off, until set).
    pub async fn working_hours(&self, tenant_id: &str) -> StoreResult<WorkingHours> {
        let item: Option<AutoAnswerSettings> = self
            .get_with(&tenant_pk(tenant_id), AI_SETTINGS_SK, true, None)
            .await?;
        Ok(item.map(|i| i.working_hours).unwrap_or_default())
    }

    /// Sets the working hours, leaving the AI settings that share their item.
    pub async fn put_working_hours(
        &self,
        tenant_id: &str,
        hours: &WorkingHours,
    ) -> StoreResult<()> {
        let cond = Cond::none().value(":w", AttributeValue::M(to_item(hours)?));
        self.update_if(
            &tenant_pk(tenant_id),
            AI_SETTINGS_SK,
            "SET workingHours = :w",
            cond,
            Returns::NOTHING,
        )
        .await
        .map(|_| ())
    }

    /// Claims the away message answering `message_id` for the closed spell that began at
    /// `spell`: `true` unless this customer was sent one through this device since then.
    /// The same message claims again (a retried job goes on; its send replays).
    pub async fn claim_away_reply(
        &self,
        tenant_id: &str,
        peer: &str,
        device_id: &str,
        spell: DateTime<Utc>,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let item = HashMap::from([
            (PK.to_string(), s(peer_pk(tenant_id, peer))),
            (SK.to_string(), s(away_reply_sk(device_id))),
            ("spell".to_string(), n(spell.timestamp())),
            ("messageId".to_string(), s(message_id)),
            (
                "expiresAt".to_string(),
                n((now + chrono::Duration::days(AWAY_CLAIM_DAYS)).timestamp()),
            ),
        ]);
        let cond = Cond::new("attribute_not_exists(PK) OR spell < :spell OR messageId = :m")
            .value(":spell", n(spell.timestamp()))
            .value(":m", s(message_id));
        self.put_if(item, cond).await
    }

    pub async fn log_reply(
        &self,
        tenant_id: &str,
        entry: &ReplyLogEntry,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sk = reply_log_sk(&crate::domain::time::iso_millis(at), &entry.id);
        let mut item = keyed(entry, tenant_pk(tenant_id), sk)?;
        item.insert(
            "expiresAt".into(),
            n((at + chrono::Duration::days(REPLY_LOG_DAYS)).timestamp()),
        );
        self.put(item).await
    }

    /// The reply log, newest first, a page at a time.
    pub async fn reply_log(
        &self,
        tenant_id: &str,
        limit: i32,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(Vec<ReplyLogEntry>, Option<String>)> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Logged {
            #[serde(flatten)]
            entry: ReplyLogEntry,
            expires_at: Option<i64>,
        }
        let q = Query::prefix(tenant_pk(tenant_id), REPLY_LOG_PREFIX).newest_first();
        let (logged, next) = self.page::<Logged>(&q, limit, cursor).await?;
        let now = now.timestamp();
        let entries = logged
            .into_iter()
            // TTL deletion is lazy: expired entries may still be there.
            .filter(|l| l.expires_at.is_none_or(|t| t > now))
            .map(|l| l.entry)
            .collect();
        Ok((entries, next))
    }
}
