//! The audit log (`GET /api/audit-log`), and how this function's changes are noted in it.

use axum::Json;
use serde_json::Value;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{ApiQuery, PageParams};
use wati_shared::services::audit;
use wati_shared::store::api_keys::Principal;
use wati_shared::store::audit::{Actor, AuditEntry};
use wati_shared::AppState;

wati_shared::page!(
    /// A page of the audit log, newest first.
    AuditPage, entries: AuditEntry
);

/// Notes a change made by `caller`.
pub async fn note(
    state: &AppState,
    caller: &Principal,
    action: &str,
    target: impl Into<String>,
    before: Option<Value>,
    after: Option<Value>,
) -> ApiResult<()> {
    let actor = Actor::of(caller);
    audit::record(
        state,
        &caller.tenant_id,
        actor,
        action,
        target,
        before,
        after,
    )
    .await?;
    Ok(())
}

/// Every change of access or configuration, newest first: who, when, what, before, after.
#[utoipa::path(get, path = "/api/audit-log", tag = "settings",
    params(PageParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody)))]
pub async fn audit_log(
    Authed { state, caller }: Authed,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<AuditPage>> {
    let (entries, next_cursor) = state
        .store
        .audit_log(&caller.tenant_id, page.limit()?, page.cursor.as_deref())
        .await?;
    Ok(Json(AuditPage {
        entries,
        next_cursor,
    }))
}
