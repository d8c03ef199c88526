//! The audit log: every change of access or configuration of a tenant, with who made it
//! and what it was before and after. Written once, never changed.

use super::api_keys::Principal;
use super::keys::*;
use super::table::{keyed, Query};
use super::{Store, StoreResult};
use crate::domain::time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use utoipa::ToSchema;

/// Who made a change: a signed-in user, an API key, the platform admin or the system.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    /// `user`, `key`, `platform` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

impl Actor {
    pub fn of(p: &Principal) -> Actor {
        match &p.user {
            Some(u) => Actor {
                kind: "user".into(),
                id: Some(u.user_id.clone()),
            },
            None => Actor {
                kind: "key".into(),
                id: Some(p.key_id.clone()),
            },
        }
    }

    pub fn platform() -> Actor {
        Actor {
            kind: "platform".into(),
            id: None,
        }
    }

    pub fn system() -> Actor {
        Actor {
            kind: "system".into(),
            id: None,
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    #[serde(with = "time::millis")]
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// What happened: `key.created`, `member.role_changed`, `tenant.updated` …
    #[schema(example = "member.role_changed")]
    pub action: String,
    /// What it happened to: `key:<id>`, `member:<userId>`, `device:<id>`, `webhook`, `tenant`.
    pub target: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl Store {
    pub async fn record_audit(&self, tenant_id: &str, entry: &AuditEntry) -> StoreResult<()> {
        let sk = format!("{AUDIT_PREFIX}{}", entry.id);
        self.put(keyed(entry, audit_pk(tenant_id), sk)?).await
    }

    /// A page of the log, newest first: one `Query`.
    pub async fn audit_log(
        &self,
        tenant_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<AuditEntry>, Option<String>)> {
        let q = Query::prefix(audit_pk(tenant_id), AUDIT_PREFIX).newest_first();
        self.page(&q, limit, cursor).await
    }
}
