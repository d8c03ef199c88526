//! Tenant settings: API keys, devices, usage, the outbound webhook and its delivery log,
//! the Team Inbox members and the Cloud API devices' message templates. Every route needs a tenant API key.

pub mod audit;
pub mod deliveries;
pub mod webhooks;

pub mod devices;
pub mod opt_out;
pub mod pairing;
pub mod phone;
pub mod templates;

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::rate_limit::MAX_RATE_LIMIT_PER_MINUTE;
use wati_shared::domain::roles::Role;
use wati_shared::domain::validate;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::http::{needs, Access, ApiPath};
use wati_shared::routes;
use wati_shared::store::api_keys::{
    ApiKeyInfo, CreateKeyOutcome, KeyChangeOutcome, KeyPatch, KeyStatus, MAX_LIVE_KEYS,
};
use wati_shared::AppState;

pub mod team;
pub mod usage;

pub fn routes() -> OpenApiRouter<AppState> {
    use Role::{Admin, Manager};
    OpenApiRouter::new()
        .routes(needs(Admin, routes!(create_key, list_keys)))
        .routes(needs(Admin, routes!(update_key, revoke_key)))
        .routes(needs(Manager, routes!(usage::get_usage)))
        // Managers read the team to assign inbox conversations; only admins change it.
        .routes(needs(Manager, routes!(team::list_members)))
        .routes(needs(Admin, routes!(team::add_member)))
        .routes(needs(
            Admin,
            routes!(team::update_member, team::remove_member),
        ))
        .routes(needs(Admin, routes!(team::password_reset)))
        .routes(needs(Admin, routes!(audit::audit_log)))
        // Managers read the devices to send campaigns and read analytics from one of them
        // (the view holds no credential); only admins add or remove them.
        .routes(needs(Admin, routes!(devices::create_device)))
        .routes(needs(Manager, routes!(devices::list_devices)))
        .routes(needs(Manager, routes!(devices::get_device)))
        .routes(needs(Admin, routes!(devices::delete_device)))
        .routes(needs(Admin, routes!(pairing::get_qr)))
        .routes(needs(Admin, routes!(pairing::pairing_code)))
        .routes(needs(Admin, routes!(pairing::restart)))
        .routes(needs(Admin, routes!(pairing::logout)))
        .routes(needs(
            Admin,
            routes!(
                webhooks::put_webhook,
                webhooks::get_webhook,
                webhooks::delete_webhook
            ),
        ))
        .routes(needs(Admin, routes!(webhooks::rotate_secret)))
        .routes(needs(Admin, routes!(webhooks::test_webhook)))
        .routes(needs(Admin, routes!(deliveries::list_deliveries)))
        .routes(needs(Admin, routes!(deliveries::get_delivery)))
        .routes(needs(Admin, routes!(deliveries::redeliver)))
        .routes(needs(
            Admin,
            routes!(opt_out::get_opt_out, opt_out::put_opt_out),
        ))
        .routes(needs(Admin, routes!(phone::get_phone, phone::put_phone)))
        .routes(needs(Admin, routes!(templates::sync_templates)))
        .routes(needs(Role::Agent, routes!(templates::list_templates)))
        .routes(needs(Admin, routes!(templates::create_template)))
        .routes(needs(Admin, routes!(templates::delete_template)))
}

wati_shared::http_function!(Access::TenantKey);

fn rate_limit(v: u32) -> ApiResult<u32> {
    if (1..=MAX_RATE_LIMIT_PER_MINUTE).contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::bad_request(format!(
            "\"rateLimitPerMinute\" must be between 1 and {MAX_RATE_LIMIT_PER_MINUTE}"
        )))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKeyRequest {
    #[schema(example = "CRM integration")]
    pub name: String,
    /// Defaults to 60.
    pub rate_limit_per_minute: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// The key itself, shown only this once.
    #[schema(example = "wati_3kQ9aXy7…")]
    pub api_key: String,
    pub key: ApiKeyInfo,
}

/// Create an API key. The key is returned once and stored only as a hash.
#[utoipa::path(post, path = "/api/keys", tag = "settings",
    request_body = CreateKeyRequest,
    responses(
        (status = 201, body = CreatedKey),
        (status = 400, body = ErrorBody),
        (status = 409, description = "Too many live keys", body = ErrorBody)))]
async fn create_key(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<CreateKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let name = validate::name("name", &req.name, 100).map_err(ApiError::bad_request)?;
    let limit = rate_limit(
        req.rate_limit_per_minute
            .unwrap_or(state.config.api.default_rate_limit_per_minute),
    )?;
    let now = state.clock.now();
    match state
        .store
        .create_api_key(&caller.tenant_id, &name, limit, now)
        .await?
    {
        CreateKeyOutcome::Created(k) => {
            let after = Some(serde_json::json!(k.info));
            let target = format!("key:{}", k.info.id);
            audit::note(&state, &caller, "key.created", target, None, after).await?;
            Ok((
                StatusCode::CREATED,
                Json(CreatedKey {
                    api_key: k.key,
                    key: k.info,
                }),
            ))
        }
        CreateKeyOutcome::TooManyKeys => Err(ApiError::conflict(format!(
            "API key limit reached ({MAX_LIVE_KEYS} active or disabled keys): revoke one first"
        ))),
        CreateKeyOutcome::NoTenant => Err(ApiError::unauthorized("Invalid API key")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<ApiKeyInfo>,
}

/// List the tenant's API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/keys", tag = "settings",
    responses((status = 200, body = KeyList)))]
async fn list_keys(Authed { state, caller }: Authed) -> ApiResult<Json<KeyList>> {
    Ok(Json(KeyList {
        keys: state.store.list_api_keys(&caller.tenant_id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateKeyRequest {
    /// `active` or `disabled` (revoke with DELETE).
    pub status: Option<KeyStatus>,
    pub rate_limit_per_minute: Option<u32>,
}

wati_shared::envelope!(KeyEnvelope, key: ApiKeyInfo);

fn changed(outcome: KeyChangeOutcome, revoked_message: &str) -> ApiResult<Json<KeyEnvelope>> {
    match outcome {
        KeyChangeOutcome::Changed(key) => Ok(Json(KeyEnvelope { key })),
        KeyChangeOutcome::NotFound => Err(ApiError::not_found("API key not found")),
        KeyChangeOutcome::Revoked => Err(ApiError::conflict(revoked_message)),
    }
}

/// Enable or disable a key, or change its per-minute rate limit. Takes effect at once.
#[utoipa::path(patch, path = "/api/keys/{id}", tag = "settings",
    params(("id" = String, Path, description = "Key id")),
    request_body = UpdateKeyRequest,
    responses((status = 200, body = KeyEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The key is revoked", body = ErrorBody)))]
async fn update_key(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateKeyRequest>,
) -> ApiResult<Json<KeyEnvelope>> {
    if req.status == Some(KeyStatus::Revoked) {
        return Err(ApiError::bad_request(
            "\"status\" must be \"active\" or \"disabled\": revoke a key with DELETE /api/keys/{id}",
        ));
    }
    if req.status.is_none() && req.rate_limit_per_minute.is_none() {
        return Err(ApiError::bad_request(
            "Nothing to change: send \"status\" and/or \"rateLimitPerMinute\"",
        ));
    }
    let patch = KeyPatch {
        status: req.status,
        rate_limit_per_minute: req.rate_limit_per_minute.map(rate_limit).transpose()?,
    };
    let outcome = state
        .store
        .update_api_key(&caller.tenant_id, &id, &patch)
        .await?;
    let out = changed(outcome, "API key is revoked and can no longer be changed")?;
    let action = match patch.status {
        Some(KeyStatus::Disabled) => "key.disabled",
        Some(KeyStatus::Active) => "key.enabled",
        _ => "key.updated",
    };
    let after = Some(serde_json::json!(out.0.key));
    audit::note(&state, &caller, action, format!("key:{id}"), None, after).await?;
    Ok(out)
}

/// Revoke a key for good.
#[utoipa::path(delete, path = "/api/keys/{id}", tag = "settings",
    params(("id" = String, Path, description = "Key id")),
    responses((status = 200, body = KeyEnvelope),
        (status = 404, body = ErrorBody), (status = 409, description = "Already revoked", body = ErrorBody)))]
async fn revoke_key(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<KeyEnvelope>> {
    let now = state.clock.now();
    let outcome = state
        .store
        .revoke_api_key(&caller.tenant_id, &id, now)
        .await?;
    let out = changed(outcome, "API key is already revoked")?;
    audit::note(
        &state,
        &caller,
        "key.revoked",
        format!("key:{id}"),
        None,
        None,
    )
    .await?;
    Ok(out)
}
