//! Sign-in (`/api/auth/*`): accepting an invitation, e-mail and password, refreshing,
//! switching tenant, signing out, the signed-in user, passwords. The first four need no
//! credential; the rest a JWT from them (`SignedIn`). See `docs/roles.md`.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::domain::roles::Role;
use wati_shared::http::auth::SignedIn as Session;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{required, Access, ApiJson};
use wati_shared::services::auth::{flows, SignedIn, TenantRef, TenantRole, UserView};
use wati_shared::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accept_invitation))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(reset_password))
        .routes(routes!(logout))
        .routes(routes!(switch))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

wati_shared::http_function!(Access::Open);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: Option<String>,
    /// A new user's password (at least 10 characters), or an existing user's current one.
    pub password: Option<String>,
    pub name: Option<String>,
}

/// Accept an invitation and sign in to its tenant.
#[utoipa::path(post, path = "/api/auth/accept-invitation", tag = "auth",
    request_body = AcceptInvitationRequest,
    responses((status = 200, body = SignedIn), (status = 400, body = ErrorBody),
        (status = 401, description = "Invalid or expired invitation", body = ErrorBody)))]
async fn accept_invitation(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(req): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<Json<SignedIn>> {
    let token = required("token", &req.token)?;
    let password = required("password", &req.password)?;
    let name = wati_shared::domain::validate::optional_name("name", req.name.as_deref(), 100)
        .map_err(wati_shared::http::ApiError::bad_request)?;
    Ok(Json(
        flows::accept_invitation(&state, token, password, name).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    /// The tenant to sign in to (default: the first the user belongs to).
    pub tenant_id: Option<String>,
}

/// Sign in with e-mail and password. 10 failures for one e-mail within 15 minutes: 429.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = SignedIn), (status = 400, body = ErrorBody),
        (status = 401, description = "Invalid e-mail or password", body = ErrorBody),
        (status = 429, description = "Too many failures: see Retry-After", body = ErrorBody)))]
async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<SignedIn>> {
    let email = required("email", &req.email)?;
    let password = required("password", &req.password)?;
    let tenant = req.tenant_id.as_deref();
    Ok(Json(flows::login(&state, email, password, tenant).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// New tokens for a refresh token (which is then used up; using it again ends the session).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = SignedIn), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn refresh(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<SignedIn>> {
    let token = required("refreshToken", &req.refresh_token)?;
    Ok(Json(flows::refresh(&state, token).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub token: Option<String>,
    pub password: Option<String>,
}

/// Set a new password with an admin-issued reset link; every session of the user ends.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "auth",
    request_body = ResetPasswordRequest,
    responses((status = 200, body = SignedIn), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn reset_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> ApiResult<Json<SignedIn>> {
    let token = required("token", &req.token)?;
    let password = required("password", &req.password)?;
    Ok(Json(flows::reset_password(&state, token, password).await?))
}

/// End this session (its access and refresh tokens stop working).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    security(("userJwt" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(Session { state, claims, .. }: Session) -> ApiResult<StatusCode> {
    flows::logout(&state, &claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SwitchRequest {
    pub tenant_id: Option<String>,
}

/// Switch this session to another tenant the user belongs to: new tokens.
#[utoipa::path(post, path = "/api/auth/switch", tag = "auth",
    security(("userJwt" = [])),
    request_body = SwitchRequest,
    responses((status = 200, body = SignedIn), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn switch(
    Session { state, claims, .. }: Session,
    ApiJson(req): ApiJson<SwitchRequest>,
) -> ApiResult<Json<SignedIn>> {
    let tenant = required("tenantId", &req.tenant_id)?;
    Ok(Json(flows::switch(&state, &claims, tenant).await?))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user: UserView,
    pub tenant: Option<TenantRef>,
    pub role: Option<Role>,
    pub super_admin: bool,
    pub tenants: Vec<TenantRole>,
}

/// The signed-in user, the tenant and role of this token, and every tenant to switch to.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    security(("userJwt" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(
    Session {
        state,
        claims,
        user,
    }: Session,
) -> ApiResult<Json<Me>> {
    let (tenants, current) = flows::me(&state, &claims, &user).await?;
    let tenant = match &current {
        Some(t) => state.store.get_tenant(&t.id).await?.map(|t| TenantRef {
            id: t.id,
            name: t.name,
            plan: t.plan,
        }),
        None => None,
    };
    Ok(Json(Me {
        user: UserView {
            id: user.id,
            email: user.email,
            name: user.name,
        },
        role: current.map(|t| t.role),
        tenant,
        super_admin: user.super_admin,
        tenants,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

/// Change the password; every other session of the user ends.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth",
    security(("userJwt" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn change_password(
    Session {
        state,
        claims,
        user,
    }: Session,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let current = required("currentPassword", &req.current_password)?;
    let new = required("newPassword", &req.new_password)?;
    flows::change_password(&state, &claims, &user, current, new).await?;
    Ok(StatusCode::NO_CONTENT)
}
