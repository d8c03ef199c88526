//! Recording a change in a tenant's audit log (`GET /api/audit-log`).

use crate::runtime::state::AppState;
use crate::store::audit::{Actor, AuditEntry};
use crate::store::StoreError;
use serde_json::Value;

/// One change: `action` on `target` by `actor`, with the state before and after.
pub async fn record(
    state: &AppState,
    tenant_id: &str,
    actor: Actor,
    action: &str,
    target: impl Into<String>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), StoreError> {
    let entry = AuditEntry {
        id: uuid::Uuid::now_v7().to_string(),
        at: state.clock.now(),
        actor,
        action: action.into(),
        target: target.into(),
        before,
        after,
    };
    state.store.record_audit(tenant_id, &entry).await
}
