//! Platform admin (the spec's Super Admin): tenants and their plans.
//! Every route needs the platform admin key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::plans::{effective_limits, LimitsPatch, Plan, PlanLimits};
use wati_shared::domain::validate;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::Access;
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::routes;
use wati_shared::store::api_keys::ApiKeyInfo;
use wati_shared::store::tenants::{Tenant, TenantPatch};
use wati_shared::AppState;

mod keys;
pub use keys::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, update_tenant))
        .routes(routes!(list_tenant_keys))
        .routes(routes!(update_tenant_key))
}

wati_shared::http_function!(Access::PlatformAdmin);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    #[schema(example = "Acme Ltd")]
    pub name: String,
    /// Defaults to `free`.
    pub plan: Option<Plan>,
}

/// A tenant with the limits in force (its plan with any overrides applied).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    #[serde(flatten)]
    pub tenant: Tenant,
    #[schema(value_type = Object)]
    pub effective_limits: PlanLimits,
}

impl From<Tenant> for TenantView {
    fn from(tenant: Tenant) -> Self {
        let effective_limits = effective_limits(tenant.plan, &tenant.limits);
        TenantView {
            tenant,
            effective_limits,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenant {
    pub tenant: TenantView,
    /// The tenant's first API key, shown only this once.
    #[schema(example = "wati_3kQ9aXy7…")]
    pub api_key: String,
    pub key: ApiKeyInfo,
}

/// What both the HTTP handler and the `wati-admin` CLI do.
pub async fn create_tenant_inner(
    state: &AppState,
    req: CreateTenantRequest,
) -> ApiResult<CreatedTenant> {
    let name = validate::name("name", &req.name, 200).map_err(ApiError::bad_request)?;
    let now = state.clock.now();
    let (tenant, key) = state
        .store
        .create_tenant(
            &name,
            req.plan.unwrap_or(Plan::Free),
            now,
            state.config.api.default_rate_limit_per_minute,
        )
        .await?;
    tracing::info!(tenant_id = %tenant.id, plan = %tenant.plan, "tenant created");
    Ok(CreatedTenant {
        tenant: tenant.into(),
        api_key: key.key,
        key: key.info,
    })
}

/// Create a tenant and its first API key.
#[utoipa::path(post, path = "/api/admin/tenants", tag = "admin",
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created; the API key is shown only now", body = CreatedTenant),
        (status = 400, body = ErrorBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateTenantRequest>,
) -> ApiResult<(StatusCode, Json<CreatedTenant>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_tenant_inner(&state, req).await?),
    ))
}

wati_shared::page!(TenantPage, tenants: TenantView);

pub async fn list_tenants_inner(state: &AppState, page: &PageParams) -> ApiResult<TenantPage> {
    let (tenants, next_cursor) = state
        .store
        .list_tenants(page.limit()?, page.cursor.as_deref())
        .await?;
    Ok(TenantPage {
        tenants: tenants.into_iter().map(TenantView::from).collect(),
        next_cursor,
    })
}

/// List tenants, newest first.
#[utoipa::path(get, path = "/api/admin/tenants", tag = "admin",
    params(PageParams),
    responses((status = 200, body = TenantPage), (status = 400, body = ErrorBody)))]
async fn list_tenants(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<TenantPage>> {
    Ok(Json(list_tenants_inner(&state, &page).await?))
}

wati_shared::envelope!(TenantEnvelope, tenant: TenantView);

pub async fn get_tenant_inner(state: &AppState, id: &str) -> ApiResult<TenantEnvelope> {
    let tenant = state
        .store
        .get_tenant(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant not found"))?;
    Ok(TenantEnvelope {
        tenant: tenant.into(),
    })
}

/// Get one tenant.
#[utoipa::path(get, path = "/api/admin/tenants/{id}", tag = "admin",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantEnvelope), (status = 404, body = ErrorBody)))]
async fn get_tenant(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TenantEnvelope>> {
    Ok(Json(get_tenant_inner(&state, &id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantRequest {
    pub name: Option<String>,
    pub plan: Option<Plan>,
    /// A suspended tenant's keys are refused with 403.
    pub suspended: Option<bool>,
    /// Custom limits on top of the plan: any subset; `null` removes an override.
    pub limits: Option<LimitsPatch>,
}

pub async fn update_tenant_inner(
    state: &AppState,
    id: &str,
    req: UpdateTenantRequest,
) -> ApiResult<TenantEnvelope> {
    let name =
        validate::optional_name("name", req.name.as_deref(), 200).map_err(ApiError::bad_request)?;
    if name.is_none() && req.plan.is_none() && req.suspended.is_none() && req.limits.is_none() {
        return Err(ApiError::bad_request(
            "Nothing to change: send one or more of \"name\", \"plan\", \"suspended\", \"limits\"",
        ));
    }
    let patch = TenantPatch {
        name,
        plan: req.plan,
        suspended: req.suspended,
        limits: req.limits,
    };
    let now = state.clock.now();
    let before = state.store.get_tenant(id).await?;
    let tenant = state
        .store
        .update_tenant(id, &patch, now)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant not found"))?;
    // Plan, limits and suspension are access: the tenant's audit log keeps each change.
    let shown = |t: &Tenant| serde_json::json!({"name": t.name, "plan": t.plan, "suspended": t.suspended, "limits": t.limits});
    let (b, a) = (before.as_ref().map(shown), Some(shown(&tenant)));
    let actor = wati_shared::store::audit::Actor::platform();
    wati_shared::services::audit::record(state, id, actor, "tenant.updated", "tenant", b, a)
        .await?;
    tracing::info!(tenant_id = %tenant.id, plan = %tenant.plan, suspended = tenant.suspended, "tenant updated");
    Ok(TenantEnvelope {
        tenant: tenant.into(),
    })
}

/// Change a tenant's name, plan, suspension or custom limits. Takes effect at once.
#[utoipa::path(patch, path = "/api/admin/tenants/{id}", tag = "admin",
    params(("id" = String, Path, description = "Tenant id")),
    request_body = UpdateTenantRequest,
    responses((status = 200, body = TenantEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_tenant(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateTenantRequest>,
) -> ApiResult<Json<TenantEnvelope>> {
    Ok(Json(update_tenant_inner(&state, &id, req).await?))
}
