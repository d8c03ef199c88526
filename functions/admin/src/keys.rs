//! A tenant's API keys as the platform admin sees them: listing, disabling, enabling.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::rate_limit::MAX_RATE_LIMIT_PER_MINUTE;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::http::ApiPath;
use wati_shared::store::api_keys::{ApiKeyInfo, KeyChangeOutcome, KeyPatch, KeyStatus};
use wati_shared::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantKeys {
    pub keys: Vec<ApiKeyInfo>,
}

/// A tenant's API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/admin/tenants/{id}/keys", tag = "admin",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantKeys), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_tenant_keys(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TenantKeys>> {
    if state.store.get_tenant(&id).await?.is_none() {
        return Err(ApiError::not_found("Tenant not found"));
    }
    Ok(Json(TenantKeys {
        keys: state.store.list_api_keys(&id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTenantKeyRequest {
    pub rate_limit_per_minute: Option<u32>,
    /// `active` or `disabled`.
    pub status: Option<KeyStatus>,
}

wati_shared::envelope!(TenantKeyEnvelope, key: ApiKeyInfo);

/// Tune one of a tenant's keys: its per-minute rate limit, or disable it (the spec's
/// Admin → Rate Limits).
#[utoipa::path(patch, path = "/api/admin/tenants/{id}/keys/{keyId}", tag = "admin",
    params(("id" = String, Path, description = "Tenant id"), ("keyId" = String, Path, description = "Key id")),
    request_body = UpdateTenantKeyRequest,
    responses((status = 200, body = TenantKeyEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn update_tenant_key(
    State(state): State<AppState>,
    ApiPath((id, key_id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdateTenantKeyRequest>,
) -> ApiResult<Json<TenantKeyEnvelope>> {
    if req.status == Some(KeyStatus::Revoked) {
        return Err(ApiError::bad_request(
            "\"status\" must be \"active\" or \"disabled\"",
        ));
    }
    if let Some(limit) = req.rate_limit_per_minute {
        if !(1..=MAX_RATE_LIMIT_PER_MINUTE).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "\"rateLimitPerMinute\" must be between 1 and {MAX_RATE_LIMIT_PER_MINUTE}"
            )));
        }
    }
    if req.status.is_none() && req.rate_limit_per_minute.is_none() {
        return Err(ApiError::bad_request(
            "Nothing to change: send \"rateLimitPerMinute\" and/or \"status\"",
        ));
    }
    let patch = KeyPatch {
        status: req.status,
        rate_limit_per_minute: req.rate_limit_per_minute,
    };
    match state.store.update_api_key(&id, &key_id, &patch).await? {
        KeyChangeOutcome::Changed(key) => Ok(Json(TenantKeyEnvelope { key })),
        KeyChangeOutcome::NotFound => Err(ApiError::not_found("API key not found")),
        KeyChangeOutcome::Revoked => Err(ApiError::conflict(
            "API key is revoked and can no longer be changed",
        )),
    }
}
