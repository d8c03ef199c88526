//! Keyword auto-reply rules, AI Smart Reply settings and the reply log.

use super::keys::*;
use super::usage::{release_in_transaction, reserve_in_transaction};
use super::{
    failed_condition_index, from_item, n, s, to_item, transaction_lost, Item, Store, StoreError,
    StoreResult,
};
use crate::domain::auto_reply::MatchType;
use crate::domain::quota::Limit;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
    pub created_at: String,
    pub updated_at: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiSettings {
    pub enabled: bool,
    /// The business voice: prepended to every AI conversation.
    pub system_prompt: String,
    /// The language to answer in when the customer's cannot be told.
    pub fallback_language: String,
}

impl Default for AiSettings {
    fn default() -> Self {
        AiSettings {
            enabled: false,
            system_prompt: String::new(),
            fallback_language: "English".into(),
        }
    }
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
    /// A reply was chosen (a rule's, or the AI's) but could not go out: WhatsApp refused
    /// it, or the device or the 24-hour window stopped it (`detail` says which).
    SendFailed,
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

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    fn bump_rules_version(&self, tenant_id: &str) -> StoreResult<TransactWriteItem> {
        let u = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(tenant_pk(tenant_id)))
                .key(SK, s(RULES_VERSION_SK))
                .update_expression("ADD version :one")
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(u).build())
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
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&item)?))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let writes = vec![
            reserve_in_transaction(&self.table, tenant_id, Limit::AutoReplyRules, cap, now)?,
            TransactWriteItem::builder().put(put).build(),
            self.bump_rules_version(tenant_id)?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(CreateRuleOutcome::Created(item.rule)),
            Err(e) => match (failed_condition_index(&e), cap) {
                (Some(0), Some(cap)) => Ok(CreateRuleOutcome::LimitReached { cap }),
                _ => Err(StoreError::aws("TransactWriteItems", &e)),
            },
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant_id)))
            .key(SK, s(rule_sk(rule_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        out.item
            .map(|i| from_item::<RuleItem>(i).map(|r| r.rule))
            .transpose()
    }

    /// Replaces a rule if it has not changed since `expected_updated_at` was read.
    /// `Ok(false)`: it changed or disappeared meanwhile.
    pub async fn replace_rule(
        &self,
        tenant_id: &str,
        rule: &Rule,
        expected_updated_at: &str,
    ) -> StoreResult<bool> {
        let item = RuleItem {
            pk: tenant_pk(tenant_id),
            sk: rule_sk(&rule.id),
            rule: rule.clone(),
        };
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&item)?))
                .condition_expression("updated_at = :seen")
                .expression_attribute_values(":seen", s(expected_updated_at))
                .build(),
        )?;
        let writes = vec![
            TransactWriteItem::builder().put(put).build(),
            self.bump_rules_version(tenant_id)?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if transaction_lost(&e) => Ok(false),
            Err(e) => Err(StoreError::aws("TransactWriteItems", &e)),
        }
    }

    /// Deletes a rule and gives its unit back. `Ok(false)` if there was no such rule.
    pub async fn delete_rule(
        &self,
        tenant_id: &str,
        rule_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let delete = build(
            Delete::builder()
                .table_name(&self.table)
                .key(PK, s(tenant_pk(tenant_id)))
                .key(SK, s(rule_sk(rule_id)))
                .condition_expression("attribute_exists(PK)")
                .build(),
        )?;
        let writes = vec![
            TransactWriteItem::builder().delete(delete).build(),
            release_in_transaction(&self.table, tenant_id, Limit::AutoReplyRules, now)?,
            self.bump_rules_version(tenant_id)?,
        ];
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if failed_condition_index(&e) == Some(0) => Ok(false),
            Err(e) => Err(StoreError::aws("TransactWriteItems", &e)),
        }
    }

    /// The rules version: changes whenever any rule does (0 before the first rule).
    pub async fn rules_version(&self, tenant_id: &str) -> StoreResult<u64> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant_id)))
            .key(SK, s(RULES_VERSION_SK))
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        Ok(out
            .item
            .and_then(|i| {
                i.get("version")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0))
    }

    pub async fn ai_settings(&self, tenant_id: &str) -> StoreResult<AiSettings> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant_id)))
            .key(SK, s(AI_SETTINGS_SK))
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        match out.item {
            Some(item) => from_item(item),
            None => Ok(AiSettings::default()),
        }
    }

    pub async fn put_ai_settings(&self, tenant_id: &str, settings: &AiSettings) -> StoreResult<()> {
        let mut item = to_item(settings)?;
        item.insert(PK.into(), s(tenant_pk(tenant_id)));
        item.insert(SK.into(), s(AI_SETTINGS_SK));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", &e))?;
        Ok(())
    }

    pub async fn log_reply(
        &self,
        tenant_id: &str,
        entry: &ReplyLogEntry,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut item: Item = to_item(entry)?;
        item.insert(PK.into(), s(tenant_pk(tenant_id)));
        item.insert(
            SK.into(),
            s(reply_log_sk(
                &crate::domain::time::iso_millis(at),
                &entry.id,
            )),
        );
        item.insert(
            "expiresAt".into(),
            n((at + chrono::Duration::days(REPLY_LOG_DAYS)).timestamp()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", &e))?;
        Ok(())
    }

    /// The reply log, newest first, a page at a time.
    pub async fn reply_log(
        &self,
        tenant_id: &str,
        limit: i32,
        start: Option<Item>,
        now: DateTime<Utc>,
    ) -> StoreResult<(Vec<ReplyLogEntry>, Option<String>)> {
        let out = self
            .query_prefix(tenant_pk(tenant_id), REPLY_LOG_PREFIX)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", &e))?;
        let now = now.timestamp();
        let entries = out
            .items
            .unwrap_or_default()
            .into_iter()
            // TTL deletion is lazy: expired entries may still be there.
            .filter(|i| {
                i.get("expiresAt")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_none_or(|t| t > now)
            })
            .map(from_item::<ReplyLogEntry>)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((
            entries,
            super::cursor::encode(out.last_evaluated_key.as_ref()),
        ))
    }
}
