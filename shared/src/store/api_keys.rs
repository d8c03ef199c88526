//! API keys. Two items per key:
//! - the authentication record `APIKEY#<sha256>` / `APIKEY`, read (and rate-counted) on every
//!   request in one conditional `UpdateItem`;
//! - the tenant's record `TENANT#<id>` / `KEY#<keyId>` (or `KEYREVOKED#<keyId>`), for listing
//!   and for finding a key by id.
//!
//! Both are written in one transaction whenever the key changes.

use super::keys::*;
use super::tenants::TenantItem;
use super::{from_item, n, s, to_item, transaction_lost, Item, Store, StoreError, StoreResult};
use crate::domain::api_keys::{display_prefix, generate_api_key, hash_api_key};
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::rate_limit::{window_of, RateStatus};
use crate::domain::time::iso;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Live keys (active or disabled) a tenant may hold at once.
pub const MAX_LIVE_KEYS: u32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Disabled,
    Revoked,
}

impl KeyStatus {
    fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Revoked => "revoked",
        }
    }
}

/// A key as the API shows it: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    #[schema(example = "wati_Xy3kQ9a")]
    pub prefix: String,
    pub status: KeyStatus,
    pub rate_limit_per_minute: u32,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A key just created: the only moment the key is available in clear.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub info: ApiKeyInfo,
    pub key: String,
}

/// The tenant-side record of a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub(crate) key_id: String,
    pub(crate) key_hash: String,
    name: String,
    prefix: String,
    key_status: KeyStatus,
    rate_limit_per_minute: u32,
    created_at: String,
}

impl KeyRecord {
    fn info(&self, last_used_at: Option<String>) -> ApiKeyInfo {
        ApiKeyInfo {
            id: self.key_id.clone(),
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            status: self.key_status,
            rate_limit_per_minute: self.rate_limit_per_minute,
            created_at: self.created_at.clone(),
            last_used_at,
        }
    }
}

/// The authentication record, with the copy of the tenant's plan it needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    key_id: String,
    tenant_id: String,
    key_status: KeyStatus,
    rate_limit_per_minute: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    /// The current rate window (minutes since the epoch) and the requests counted in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rl_window: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rl_count: Option<u32>,
    tenant_plan: Plan,
    tenant_suspended: bool,
    #[serde(default)]
    tenant_limits: LimitOverrides,
}

/// A key about to be written: both records and the key in clear.
pub(crate) struct NewApiKey {
    record: KeyRecord,
    auth: AuthRecord,
    key: String,
}

pub(crate) fn new_key(
    tenant: &TenantItem,
    name: &str,
    rate_limit: u32,
    now: &str,
) -> StoreResult<NewApiKey> {
    let key = generate_api_key().map_err(|e| StoreError::Corrupt(format!("CSPRNG: {e}")))?;
    let hash = hash_api_key(&key);
    let key_id = uuid::Uuid::new_v4().to_string();
    let record = KeyRecord {
        pk: tenant_pk(&tenant.id),
        sk: live_key_sk(&key_id),
        key_id: key_id.clone(),
        key_hash: hash.clone(),
        name: name.into(),
        prefix: display_prefix(&key),
        key_status: KeyStatus::Active,
        rate_limit_per_minute: rate_limit,
        created_at: now.into(),
    };
    let auth = AuthRecord {
        pk: api_key_pk(&hash),
        sk: API_KEY_SK.into(),
        key_id,
        tenant_id: tenant.id.clone(),
        key_status: KeyStatus::Active,
        rate_limit_per_minute: rate_limit,
        last_used_at: None,
        rl_window: None,
        rl_count: None,
        tenant_plan: tenant.plan,
        tenant_suspended: tenant.suspended,
        tenant_limits: tenant.limits,
    };
    Ok(NewApiKey { record, auth, key })
}

impl NewApiKey {
    pub(crate) fn puts(&self, table: &str) -> StoreResult<Vec<TransactWriteItem>> {
        let put = |item: Item| {
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        Ok(vec![
            put(to_item(&self.auth)?)?,
            put(to_item(&self.record)?)?,
        ])
    }

    pub(crate) fn created(self) -> CreatedApiKey {
        CreatedApiKey {
            info: self.record.info(None),
            key: self.key,
        }
    }
}

/// Who is calling, as established by a valid key.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub tenant_id: String,
    pub key_id: String,
    pub plan: Plan,
    pub limits: LimitOverrides,
    pub rate: RateStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthOutcome {
    Granted(Principal),
    UnknownKey,
    Disabled,
    Revoked,
    Suspended,
    RateLimited(RateStatus),
}

pub enum CreateKeyOutcome {
    Created(CreatedApiKey),
    NoTenant,
    TooManyKeys,
}

pub enum KeyChangeOutcome {
    Changed(ApiKeyInfo),
    NotFound,
    Revoked,
}

/// What a key change sets.
#[derive(Debug, Clone, Default)]
pub struct KeyPatch {
    pub status: Option<KeyStatus>,
    pub rate_limit_per_minute: Option<u32>,
}

impl Store {
    /// Authenticates a key hash and counts the request against the key's per-minute limit,
    /// in one conditional `UpdateItem` (two or three only on the first request of a minute).
    pub async fn authenticate(
        &self,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthOutcome> {
        let mut window = window_of(now);
        for _ in 0..super::MAX_ATTEMPTS {
            // Count the request in the current window if it is open and not full.
            let counted = self
                .auth_update(key_hash)
                .update_expression("SET lastUsedAt = :now ADD rlCount :one")
                .condition_expression(
                    "attribute_exists(PK) AND keyStatus = :active AND tenantSuspended = :false \
                     AND rlWindow = :w AND rlCount < rateLimitPerMinute",
                )
                .expression_attribute_values(":now", s(iso(now)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":active", s(KeyStatus::Active.as_str()))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":w", n(window.id))
                .send()
                .await;
            let old = match counted {
                Ok(out) => return granted(out.attributes, window.resets_at),
                Err(e) => match condition_failed_item(&e) {
                    Some(old) => old,
                    None => return Err(StoreError::aws("UpdateItem", &e)),
                },
            };
            let Some(old) = old else {
                return Ok(AuthOutcome::UnknownKey);
            };
            let rec: AuthRecord = from_item(old)?;
            if let Some(refusal) = refusal(&rec) {
                return Ok(refusal);
            }
            match rec.rl_window {
                // Another instance's clock is ahead: count in its window rather than reset it.
                Some(w) if w > window.id => {
                    window = crate::domain::rate_limit::Window {
                        id: w,
                        resets_at: (w + 1) * 60,
                    };
                    continue;
                }
                Some(w) if w == window.id => {
                    return Ok(AuthOutcome::RateLimited(RateStatus {
                        limit: rec.rate_limit_per_minute,
                        remaining: 0,
                        reset: window.resets_at,
                    }));
                }
                _ => {}
            }
            // First request of a new window: start it at 1, unless someone else just did.
            let opened = self
                .auth_update(key_hash)
                .update_expression("SET lastUsedAt = :now, rlWindow = :w, rlCount = :one")
                .condition_expression(
                    "attribute_exists(PK) AND keyStatus = :active AND tenantSuspended = :false \
                     AND (attribute_not_exists(rlWindow) OR rlWindow < :w)",
                )
                .expression_attribute_values(":now", s(iso(now)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":active", s(KeyStatus::Active.as_str()))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":w", n(window.id))
                .send()
                .await;
            match opened {
                Ok(out) => return granted(out.attributes, window.resets_at),
                Err(e) => match condition_failed_item(&e) {
                    Some(None) => return Ok(AuthOutcome::UnknownKey),
                    // Lost the race to open the window (or the key changed): look again.
                    Some(Some(_)) => continue,
                    None => return Err(StoreError::aws("UpdateItem", &e)),
                },
            }
        }
        Err(StoreError::Contention("authenticate"))
    }

    fn auth_update(
        &self,
        key_hash: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(api_key_pk(key_hash)))
            .key(SK, s(API_KEY_SK))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        name: &str,
        rate_limit: u32,
        now: &str,
    ) -> StoreResult<CreateKeyOutcome> {
        for _ in 0..super::MAX_ATTEMPTS {
            let Some(tenant) = self.get_tenant_item(tenant_id).await? else {
                return Ok(CreateKeyOutcome::NoTenant);
            };
            if tenant.key_count >= MAX_LIVE_KEYS {
                return Ok(CreateKeyOutcome::TooManyKeys);
            }
            let key = new_key(&tenant, name, rate_limit, now)?;
            let mut writes = vec![bump_tenant(&self.table, &tenant, 1)?];
            writes.extend(key.puts(&self.table)?);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
            {
                Ok(_) => return Ok(CreateKeyOutcome::Created(key.created())),
                Err(e) if transaction_lost(&e) => continue,
                Err(e) => return Err(StoreError::aws("TransactWriteItems", &e)),
            }
        }
        Err(StoreError::Contention("create API key"))
    }

    /// Every key of a tenant, live ones first, then revoked, each group newest id order.
    pub async fn list_api_keys(&self, tenant_id: &str) -> StoreResult<Vec<ApiKeyInfo>> {
        let records = self.key_records(tenant_id, ALL_KEYS_PREFIX).await?;
        let mut last_used = std::collections::HashMap::new();
        for chunk in records.chunks(100) {
            let mut request =
                KeysAndAttributes::builder().projection_expression("keyId, lastUsedAt");
            for r in chunk {
                request = request.keys(
                    [
                        (PK.to_string(), s(api_key_pk(&r.key_hash))),
                        (SK.to_string(), s(API_KEY_SK)),
                    ]
                    .into(),
                );
            }
            let mut pending = Some(
                request
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
            while let Some(req) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchGetItem", &e))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    if let (Some(AttributeValue::S(id)), Some(AttributeValue::S(t))) =
                        (item.get("keyId"), item.get("lastUsedAt"))
                    {
                        last_used.insert(id.clone(), t.clone());
                    }
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(records
            .iter()
            .map(|r| r.info(last_used.get(&r.key_id).cloned()))
            .collect())
    }

    pub(crate) async fn live_keys(&self, tenant_id: &str) -> StoreResult<Vec<KeyRecord>> {
        self.key_records(tenant_id, LIVE_KEY_PREFIX).await
    }

    async fn key_records(&self, tenant_id: &str, prefix: &str) -> StoreResult<Vec<KeyRecord>> {
        self.query_prefix_all(tenant_pk(tenant_id), prefix).await
    }

    /// The key's record, live or revoked.
    async fn key_record(&self, tenant_id: &str, key_id: &str) -> StoreResult<Option<KeyRecord>> {
        for sk in [live_key_sk(key_id), revoked_key_sk(key_id)] {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(PK, s(tenant_pk(tenant_id)))
                .key(SK, s(sk))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| StoreError::aws("GetItem", &e))?;
            if let Some(item) = out.item {
                return Ok(Some(from_item(item)?));
            }
        }
        Ok(None)
    }

    /// Enables, disables or re-limits a live key; both records change together.
    pub async fn update_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        patch: &KeyPatch,
    ) -> StoreResult<KeyChangeOutcome> {
        for _ in 0..super::MAX_ATTEMPTS {
            let Some(mut record) = self.key_record(tenant_id, key_id).await? else {
                return Ok(KeyChangeOutcome::NotFound);
            };
            if record.key_status == KeyStatus::Revoked {
                return Ok(KeyChangeOutcome::Revoked);
            }
            if let Some(status) = patch.status {
                record.key_status = status;
            }
            if let Some(limit) = patch.rate_limit_per_minute {
                record.rate_limit_per_minute = limit;
            }
            let set = |table: &str, pk: String, sk: String| {
                Update::builder()
                    .table_name(table)
                    .key(PK, s(pk))
                    .key(SK, s(sk))
                    .update_expression("SET keyStatus = :st, rateLimitPerMinute = :rl")
                    .condition_expression("keyStatus <> :revoked")
                    .expression_attribute_values(":st", s(record.key_status.as_str()))
                    .expression_attribute_values(":rl", n(record.rate_limit_per_minute))
                    .expression_attribute_values(":revoked", s(KeyStatus::Revoked.as_str()))
                    .build()
                    .map(|u| TransactWriteItem::builder().update(u).build())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            };
            let writes = vec![
                set(&self.table, api_key_pk(&record.key_hash), API_KEY_SK.into())?,
                set(&self.table, tenant_pk(tenant_id), live_key_sk(key_id))?,
            ];
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
            {
                Ok(_) => return Ok(KeyChangeOutcome::Changed(self.key_info(record).await?)),
                Err(e) if transaction_lost(&e) => continue,
                Err(e) => return Err(StoreError::aws("TransactWriteItems", &e)),
            }
        }
        Err(StoreError::Contention("update API key"))
    }

    /// Revokes a key for good. Revoking a revoked key changes nothing and reports it.
    pub async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        now: &str,
    ) -> StoreResult<KeyChangeOutcome> {
        for _ in 0..super::MAX_ATTEMPTS {
            let Some(mut record) = self.key_record(tenant_id, key_id).await? else {
                return Ok(KeyChangeOutcome::NotFound);
            };
            if record.key_status == KeyStatus::Revoked {
                return Ok(KeyChangeOutcome::Revoked);
            }
            let Some(tenant) = self.get_tenant_item(tenant_id).await? else {
                return Ok(KeyChangeOutcome::NotFound);
            };
            record.key_status = KeyStatus::Revoked;
            let auth = Update::builder()
                .table_name(&self.table)
                .key(PK, s(api_key_pk(&record.key_hash)))
                .key(SK, s(API_KEY_SK))
                .update_expression("SET keyStatus = :revoked, revokedAt = :now")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":revoked", s(KeyStatus::Revoked.as_str()))
                .expression_attribute_values(":now", s(now))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let remove_live = Delete::builder()
                .table_name(&self.table)
                .key(PK, s(tenant_pk(tenant_id)))
                .key(SK, s(live_key_sk(key_id)))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut revoked = record.clone();
            revoked.sk = revoked_key_sk(key_id);
            let add_revoked = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&revoked)?))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let writes = vec![
                TransactWriteItem::builder().update(auth).build(),
                TransactWriteItem::builder().delete(remove_live).build(),
                TransactWriteItem::builder().put(add_revoked).build(),
                bump_tenant(&self.table, &tenant, -1)?,
            ];
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
            {
                Ok(_) => return Ok(KeyChangeOutcome::Changed(self.key_info(record).await?)),
                Err(e) if transaction_lost(&e) => continue,
                Err(e) => return Err(StoreError::aws("TransactWriteItems", &e)),
            }
        }
        Err(StoreError::Contention("revoke API key"))
    }

    async fn key_info(&self, record: KeyRecord) -> StoreResult<ApiKeyInfo> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(api_key_pk(&record.key_hash)))
            .key(SK, s(API_KEY_SK))
            .projection_expression("lastUsedAt")
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        let last_used = out
            .item
            .and_then(|mut i| i.remove("lastUsedAt"))
            .and_then(|v| v.as_s().ok().cloned());
        Ok(record.info(last_used))
    }
}

/// Changes the tenant's live-key count, guarded by its version so that a concurrent plan
/// change cannot miss the new key's copy of the plan.
fn bump_tenant(table: &str, tenant: &TenantItem, delta: i32) -> StoreResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(tenant_pk(&tenant.id)))
        .key(SK, s(TENANT_SK))
        .update_expression("SET version = version + :one, keyCount = keyCount + :d")
        .condition_expression("version = :v")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":d", n(delta))
        .expression_attribute_values(":v", n(tenant.version))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn refusal(rec: &AuthRecord) -> Option<AuthOutcome> {
    match rec.key_status {
        KeyStatus::Disabled => Some(AuthOutcome::Disabled),
        KeyStatus::Revoked => Some(AuthOutcome::Revoked),
        KeyStatus::Active if rec.tenant_suspended => Some(AuthOutcome::Suspended),
        KeyStatus::Active => None,
    }
}

fn granted(attributes: Option<Item>, resets_at: i64) -> StoreResult<AuthOutcome> {
    let rec: AuthRecord = from_item(attributes.unwrap_or_default())?;
    let used = rec.rl_count.unwrap_or(1);
    Ok(AuthOutcome::Granted(Principal {
        tenant_id: rec.tenant_id,
        key_id: rec.key_id,
        plan: rec.tenant_plan,
        limits: rec.tenant_limits,
        rate: RateStatus {
            limit: rec.rate_limit_per_minute,
            remaining: rec.rate_limit_per_minute.saturating_sub(used),
            reset: resets_at,
        },
    }))
}

/// For a failed conditional `UpdateItem`: `Some(old item or None if absent)`; `None` for
/// any other error.
fn condition_failed_item<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        R,
    >,
) -> Option<Option<Item>> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    match e.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
            Some(c.item.clone().filter(|i| !i.is_empty()))
        }
        _ => None,
    }
}
