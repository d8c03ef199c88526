//! API keys. Two items per key:
//! - the authentication record `APIKEY#<sha256>` / `APIKEY`, read (and rate-counted) on every
//!   request in one conditional `UpdateItem`;
//! - the tenant's record `TENANT#<id>` / `KEY#<keyId>` (or `KEYREVOKED#<keyId>`), for listing
//!   and for finding a key by id.
//!
//! Both are written in one transaction whenever the key changes.

use super::keys::*;
use super::table::{self, Cond, Returns, Written};
use super::tenants::TenantItem;
use super::{from_item, n, s, to_item, Item, Store, StoreError, StoreResult};
use crate::domain::api_keys::{display_prefix, generate_api_key, hash_api_key};
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::rate_limit::{window_of, RateStatus};
use crate::domain::time;
use crate::domain::time::iso;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
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
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub last_used_at: Option<DateTime<Utc>>,
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
    #[serde(with = "time::secs")]
    created_at: DateTime<Utc>,
}

impl KeyRecord {
    fn info(&self, last_used_at: Option<DateTime<Utc>>) -> ApiKeyInfo {
        ApiKeyInfo {
            id: self.key_id.clone(),
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            status: self.key_status,
            rate_limit_per_minute: self.rate_limit_per_minute,
            created_at: self.created_at,
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    last_used_at: Option<DateTime<Utc>>,
    /// The current rate window (minutes since the epoch) and the requests counted in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rl_window: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rl_count: Option<u32>,
    tenant_plan: Plan,
    tenant_suspended: bool,
    #[serde(default)]
    tenant_limits: LimitOverrides,
    /// The tenant's `statusEvents` (`None`: not known; see [`TenantItem`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_status_events: Option<bool>,
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
    now: DateTime<Utc>,
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
        created_at: now,
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
        tenant_status_events: tenant.status_events,
    };
    Ok(NewApiKey { record, auth, key })
}

impl NewApiKey {
    pub(crate) fn puts(&self, table: &str) -> StoreResult<Vec<TransactWriteItem>> {
        let new = || Some(Cond::absent());
        Ok(vec![
            table::put(table, to_item(&self.auth)?, new())?,
            table::put(table, to_item(&self.record)?, new())?,
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
    /// The role the caller acts with: an API key acts as the tenant's admin.
    pub role: crate::domain::roles::Role,
    /// The signed-in user and session, for a JWT (`key_id` is then empty).
    pub user: Option<SignedInUser>,
    /// The key's per-minute rate window (API keys only).
    pub rate: Option<RateStatus>,
    /// Whether the tenant's webhook subscribes to `message.status`, from the key's exact
    /// copy (`None`: not known here; ask `services::events::may_want`).
    pub status_events: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignedInUser {
    pub user_id: String,
    pub session_id: String,
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
                .auth_update(
                    key_hash,
                    "SET lastUsedAt = :now ADD rlCount :one",
                    "AND rlWindow = :w AND rlCount < rateLimitPerMinute",
                    now,
                    window.id,
                )
                .await?;
            let old = match counted {
                Written::Applied(new) => return granted(new, window.resets_at),
                Written::Refused(old) => old,
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
                .auth_update(
                    key_hash,
                    "SET lastUsedAt = :now, rlWindow = :w, rlCount = :one",
                    "AND (attribute_not_exists(rlWindow) OR rlWindow < :w)",
                    now,
                    window.id,
                )
                .await?;
            match opened {
                Written::Applied(new) => return granted(new, window.resets_at),
                Written::Refused(None) => return Ok(AuthOutcome::UnknownKey),
                // Lost the race to open the window (or the key changed): look again.
                Written::Refused(Some(_)) => continue,
            }
        }
        Err(StoreError::Contention("authenticate"))
    }

    /// One counting write on a key's authentication record, refused unless the key is
    /// active, its tenant not suspended and `window_cond` holds; a refusal carries the record.
    async fn auth_update(
        &self,
        key_hash: &str,
        expr: &str,
        window_cond: &str,
        now: DateTime<Utc>,
        window: i64,
    ) -> StoreResult<Written> {
        let cond = Cond::new(format!(
            "attribute_exists(PK) AND keyStatus = :active AND tenantSuspended = :false \
             {window_cond}"
        ))
        .value(":now", s(iso(now)))
        .value(":one", n(1))
        .value(":active", s(KeyStatus::Active.as_str()))
        .value(":false", AttributeValue::Bool(false))
        .value(":w", n(window))
        .returning_old();
        self.update_if(&api_key_pk(key_hash), API_KEY_SK, expr, cond, Returns::NEW)
            .await
    }

    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        name: &str,
        rate_limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<CreateKeyOutcome> {
        table::retry("create API key", |_| async move {
            let Some(tenant) = self.get_tenant_item(tenant_id).await? else {
                return Ok(Some(CreateKeyOutcome::NoTenant));
            };
            if tenant.key_count >= MAX_LIVE_KEYS {
                return Ok(Some(CreateKeyOutcome::TooManyKeys));
            }
            let key = new_key(&tenant, name, rate_limit, now)?;
            let mut writes = vec![bump_tenant(&self.table, &tenant, 1)?];
            writes.extend(key.puts(&self.table)?);
            let done = self.commit(writes).await?.done_or_lost("create API key")?;
            Ok(done.then(|| CreateKeyOutcome::Created(key.created())))
        })
        .await
    }

    /// Every key of a tenant, live ones first, then revoked, each group newest id order.
    pub async fn list_api_keys(&self, tenant_id: &str) -> StoreResult<Vec<ApiKeyInfo>> {
        let records = self.key_records(tenant_id, ALL_KEYS_PREFIX).await?;
        let keys: Vec<(String, String)> = records
            .iter()
            .map(|r| (api_key_pk(&r.key_hash), API_KEY_SK.to_string()))
            .collect();
        let mut last_used = std::collections::HashMap::new();
        for item in self
            .batch_get_with(&keys, false, Some("keyId, lastUsedAt"))
            .await?
        {
            if let (Some(AttributeValue::S(id)), Some(AttributeValue::S(t))) =
                (item.get("keyId"), item.get("lastUsedAt"))
            {
                if let Some(t) = crate::domain::time::parse(t) {
                    last_used.insert(id.clone(), t);
                }
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
            if let Some(record) = self.get(&tenant_pk(tenant_id), &sk).await? {
                return Ok(Some(record));
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
        table::retry("update API key", |_| async move {
            let mut record = match self.live_record(tenant_id, key_id).await? {
                Ok(record) => record,
                Err(outcome) => return Ok(Some(outcome)),
            };
            if let Some(status) = patch.status {
                record.key_status = status;
            }
            if let Some(limit) = patch.rate_limit_per_minute {
                record.rate_limit_per_minute = limit;
            }
            let set = |pk: &str, sk: &str| {
                table::update(
                    &self.table,
                    pk,
                    sk,
                    "SET keyStatus = :st, rateLimitPerMinute = :rl",
                    Cond::new("keyStatus <> :revoked")
                        .value(":st", s(record.key_status.as_str()))
                        .value(":rl", n(record.rate_limit_per_minute))
                        .value(":revoked", s(KeyStatus::Revoked.as_str())),
                )
            };
            let writes = vec![
                set(&api_key_pk(&record.key_hash), API_KEY_SK)?,
                set(&tenant_pk(tenant_id), &live_key_sk(key_id))?,
            ];
            self.change_key(writes, record, "update API key").await
        })
        .await
    }

    /// Revokes a key for good. Revoking a revoked key changes nothing and reports it.
    pub async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<KeyChangeOutcome> {
        table::retry("revoke API key", |_| async move {
            let mut record = match self.live_record(tenant_id, key_id).await? {
                Ok(record) => record,
                Err(outcome) => return Ok(Some(outcome)),
            };
            let Some(tenant) = self.get_tenant_item(tenant_id).await? else {
                return Ok(Some(KeyChangeOutcome::NotFound));
            };
            record.key_status = KeyStatus::Revoked;
            let exists = || Cond::exists();
            let mut revoked = record.clone();
            revoked.sk = revoked_key_sk(key_id);
            let writes = vec![
                table::update(
                    &self.table,
                    &api_key_pk(&record.key_hash),
                    API_KEY_SK,
                    "SET keyStatus = :revoked, revokedAt = :now",
                    exists()
                        .value(":revoked", s(KeyStatus::Revoked.as_str()))
                        .value(":now", s(iso(now))),
                )?,
                table::delete(
                    &self.table,
                    &tenant_pk(tenant_id),
                    &live_key_sk(key_id),
                    Some(exists()),
                )?,
                table::put(&self.table, to_item(&revoked)?, None)?,
                bump_tenant(&self.table, &tenant, -1)?,
            ];
            self.change_key(writes, record, "revoke API key").await
        })
        .await
    }

    /// A key that can still change, or why it cannot (no such key, revoked).
    async fn live_record(
        &self,
        tenant_id: &str,
        key_id: &str,
    ) -> StoreResult<Result<KeyRecord, KeyChangeOutcome>> {
        Ok(match self.key_record(tenant_id, key_id).await? {
            None => Err(KeyChangeOutcome::NotFound),
            Some(r) if r.key_status == KeyStatus::Revoked => Err(KeyChangeOutcome::Revoked),
            Some(r) => Ok(r),
        })
    }

    /// Commits a key change; `None` when it lost a race (read again).
    async fn change_key(
        &self,
        writes: Vec<TransactWriteItem>,
        record: KeyRecord,
        what: &'static str,
    ) -> StoreResult<Option<KeyChangeOutcome>> {
        if !self.commit(writes).await?.done_or_lost(what)? {
            return Ok(None);
        }
        Ok(Some(KeyChangeOutcome::Changed(
            self.key_info(record).await?,
        )))
    }

    async fn key_info(&self, record: KeyRecord) -> StoreResult<ApiKeyInfo> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LastUsed {
            #[serde(default, with = "time::secs_opt")]
            last_used_at: Option<DateTime<Utc>>,
        }
        let last_used = self
            .get_with::<LastUsed>(
                &api_key_pk(&record.key_hash),
                API_KEY_SK,
                false,
                Some("lastUsedAt"),
            )
            .await?
            .and_then(|l| l.last_used_at);
        Ok(record.info(last_used))
    }
}

/// Changes the tenant's live-key count, guarded by its version so that a concurrent plan
/// change cannot miss the new key's copy of the plan.
fn bump_tenant(table: &str, tenant: &TenantItem, delta: i32) -> StoreResult<TransactWriteItem> {
    table::update(
        table,
        &tenant_pk(&tenant.id),
        TENANT_SK,
        "SET version = version + :one, keyCount = keyCount + :d",
        Cond::new("version = :v")
            .value(":one", n(1))
            .value(":d", n(delta))
            .value(":v", n(tenant.version)),
    )
}
fn refusal(rec: &AuthRecord) -> Option<AuthOutcome> {
    match rec.key_status {
        KeyStatus::Disabled => Some(AuthOutcome::Disabled),
        KeyStatus::Revoked => Some(AuthOutcome::Revoked),
        KeyStatus::Active if rec.tenant_suspended => Some(AuthOutcome::Suspended),
        KeyStatus::Active => None,
    }
}

fn granted(attributes: Item, resets_at: i64) -> StoreResult<AuthOutcome> {
    let rec: AuthRecord = from_item(attributes)?;
    let used = rec.rl_count.unwrap_or(1);
    Ok(AuthOutcome::Granted(Principal {
        tenant_id: rec.tenant_id,
        key_id: rec.key_id,
        plan: rec.tenant_plan,
        limits: rec.tenant_limits,
        role: crate::domain::roles::Role::Admin,
        user: None,
        rate: Some(RateStatus {
            limit: rec.rate_limit_per_minute,
            remaining: rec.rate_limit_per_minute.saturating_sub(used),
            reset: resets_at,
        }),
        status_events: rec.tenant_status_events,
    }))
}
