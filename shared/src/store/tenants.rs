//! Tenants: the businesses on the platform, each with a plan.
//!
//! Each API key record carries a copy of its tenant's plan, suspension and limits, so that
//! authenticating a request is one key lookup. Every tenant change rewrites those copies in
//! the same transaction, guarded by the tenant's `version`, so they are never stale.

use super::api_keys::{self, CreatedApiKey, KeyRecord};
use super::keys::*;
use super::table::{self, keyed, on_gsi1, Commit, Cond, Query};
use super::{n, s, Item, Store, StoreError, StoreResult};
use crate::domain::plans::{LimitOverrides, LimitsPatch, Plan};
use crate::domain::time;
use crate::domain::time::iso;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub plan: Plan,
    pub suspended: bool,
    /// Custom limits on top of the plan (only the ones set).
    pub limits: LimitOverrides,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub plan: Option<Plan>,
    pub suspended: Option<bool>,
    pub limits: Option<LimitsPatch>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantItem {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) plan: Plan,
    pub(crate) suspended: bool,
    #[serde(default)]
    pub(crate) limits: LimitOverrides,
    #[serde(with = "time::secs")]
    pub(crate) created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub(crate) updated_at: DateTime<Utc>,
    /// Bumped by every change to the tenant or to its set of live keys.
    pub(crate) version: u64,
    /// Live (not revoked) API keys.
    pub(crate) key_count: u32,
    /// Whether the tenant's webhook subscribes to `message.status`, copied onto every live
    /// key (`tenantStatusEvents`) so an API send knows it without a read. Every webhook
    /// change sets it and bumps `version` (the copies in the same transaction when it
    /// changes). `None`: a tenant whose webhook was last changed before this existed; its
    /// sends read the webhook as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status_events: Option<bool>,
}

impl TenantItem {
    /// Under its key, and on GSI1 among all tenants, newest first.
    fn item(&self) -> StoreResult<Item> {
        let item = keyed(self, tenant_pk(&self.id), TENANT_SK)?;
        let listed = format!("{}#{}", iso(self.created_at), self.id);
        Ok(on_gsi1(item, TENANTS_GSI1PK, listed))
    }

    pub(crate) fn tenant(&self) -> Tenant {
        Tenant {
            id: self.id.clone(),
            name: self.name.clone(),
            plan: self.plan,
            suspended: self.suspended,
            limits: self.limits,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl Store {
    /// Creates a tenant together with its first API key, atomically.
    pub async fn create_tenant(
        &self,
        name: &str,
        plan: Plan,
        now: DateTime<Utc>,
        default_rate_limit: u32,
    ) -> StoreResult<(Tenant, CreatedApiKey)> {
        let id = uuid::Uuid::new_v4().to_string();
        let item = TenantItem {
            id: id.clone(),
            name: name.into(),
            plan,
            suspended: false,
            limits: LimitOverrides::default(),
            created_at: now,
            updated_at: now,
            version: 1,
            key_count: 1,
            status_events: Some(false),
        };
        let key = api_keys::new_key(&item, "Default", default_rate_limit, now)?;
        let mut writes = vec![table::put(&self.table, item.item()?, Some(Cond::absent()))?];
        writes.extend(key.puts(&self.table)?);
        if self.commit(writes).await? != Commit::Done {
            return Err(StoreError::Contention("create tenant"));
        }
        Ok((item.tenant(), key.created()))
    }

    pub(crate) async fn get_tenant_item(&self, id: &str) -> StoreResult<Option<TenantItem>> {
        self.get(&tenant_pk(id), TENANT_SK).await
    }

    pub async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        Ok(self.get_tenant_item(id).await?.map(|t| t.tenant()))
    }

    /// Tenants newest first, a page at a time.
    pub async fn list_tenants(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<Tenant>, Option<String>)> {
        let q = Query::index(GSI1, TENANTS_GSI1PK).newest_first();
        let (items, next) = self.page::<TenantItem>(&q, limit, cursor).await?;
        Ok((items.iter().map(TenantItem::tenant).collect(), next))
    }

    /// Applies a change and rewrites the copies of plan, suspension and limits on every live
    /// key in the same transaction. `None` when the tenant does not exist.
    pub async fn update_tenant(
        &self,
        id: &str,
        patch: &TenantPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Tenant>> {
        table::retry("update tenant", |_| async move {
            let Some(current) = self.get_tenant_item(id).await? else {
                return Ok(Some(None));
            };
            let mut next = current.clone();
            if let Some(name) = &patch.name {
                next.name = name.clone();
            }
            if let Some(plan) = patch.plan {
                next.plan = plan;
            }
            if let Some(suspended) = patch.suspended {
                next.suspended = suspended;
            }
            if let Some(limits) = &patch.limits {
                next.limits.apply(limits);
            }
            next.updated_at = now;
            next.version = current.version + 1;
            let guard = Cond::new("version = :v").value(":v", n(current.version));
            let mut writes = vec![table::put(&self.table, next.item()?, Some(guard))?];
            let snapshot_changed = next.plan != current.plan
                || next.suspended != current.suspended
                || next.limits != current.limits;
            if snapshot_changed {
                for key in self.live_keys(id).await? {
                    writes.push(snapshot_update(&self.table, &key, &next)?);
                }
            }
            let done = self.commit(writes).await?.done_or_lost("update tenant")?;
            Ok(done.then(|| Some(next.tenant())))
        })
        .await
    }
}

impl Store {
    /// What a webhook change adds to its transaction so the keys' copies of "the webhook
    /// wants `message.status`" stay exact: the tenant's `statusEvents` with its `version`
    /// bumped (guarded, so a concurrent key creation or webhook change retries), and each
    /// live key's copy when the answer changes. `None`: no such tenant.
    pub(crate) async fn status_events_writes(
        &self,
        tenant_id: &str,
        wants: bool,
    ) -> StoreResult<Option<Vec<TransactWriteItem>>> {
        let Some(tenant) = self.get_tenant_item(tenant_id).await? else {
            return Ok(None);
        };
        self.status_events_writes_of(tenant, wants).await.map(Some)
    }

    /// [`Store::status_events_writes`] for a tenant already read.
    pub(crate) async fn status_events_writes_of(
        &self,
        tenant: TenantItem,
        wants: bool,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let tenant_id = tenant.id.clone();
        let mut writes = vec![table::update(
            &self.table,
            &tenant_pk(&tenant_id),
            TENANT_SK,
            "SET version = version + :one, statusEvents = :wants",
            Cond::new("version = :v")
                .value(":one", n(1))
                .value(":v", n(tenant.version))
                .value(":wants", AttributeValue::Bool(wants)),
        )?];
        if tenant.status_events != Some(wants) {
            let next = TenantItem {
                status_events: Some(wants),
                ..tenant
            };
            for key in self.live_keys(&tenant_id).await? {
                writes.push(snapshot_update(&self.table, &key, &next)?);
            }
        }
        Ok(writes)
    }
}

/// Rewrites the tenant copy on one key's authentication record: plan, suspension, limits
/// and, once the tenant has it, whether its webhook wants `message.status`.
fn snapshot_update(
    table: &str,
    key: &KeyRecord,
    tenant: &TenantItem,
) -> StoreResult<TransactWriteItem> {
    let mut set = "SET tenantPlan = :p, tenantSuspended = :s, tenantLimits = :l".to_string();
    let mut cond = Cond::exists()
        .value(":p", s(tenant.plan.as_str()))
        .value(":s", AttributeValue::Bool(tenant.suspended))
        .value(":l", serde_dynamo::to_attribute_value(tenant.limits)?);
    if let Some(wants) = tenant.status_events {
        set.push_str(", tenantStatusEvents = :e");
        cond = cond.value(":e", AttributeValue::Bool(wants));
    }
    table::update(table, &api_key_pk(&key.key_hash), API_KEY_SK, &set, cond)
}
