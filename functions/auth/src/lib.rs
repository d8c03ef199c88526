//! Sign-in (`/api/auth/*`): accepting an invitation, e-mail and password, refreshing,
//! switching tenant, signing out, the signed-in user, passwords. The first four need no
//! credential; the rest a JWT from them (`SignedIn`). See `docs/roles.md`.
//!
//! Every route that answers tokens also sets the refresh token as an httpOnly,
//! SameSite=Strict cookie (the dashboard's way: no script sees it); `logout` clears it and
//! `refresh` reads it when the body names no token.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::roles::Role;
use wati_shared::domain::sessions::{
    cleared_refresh_cookie, cookie_value, refresh_cookie, REFRESH_COOKIE,
};
use wati_shared::http::auth::SignedIn as Session;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{required, Access, ApiJson};
use wati_shared::routes;
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

/// Whether the request reached API Gateway over HTTPS (then the cookie is `Secure`).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The refresh cookie the request came with, if any.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie_value(h, REFRESH_COOKIE))
}

/// A browser session (the cookie, or the dashboard's `X-Refresh-Cookie: only`) gets the
/// refresh token in the cookie alone; an API client also in the body.
fn cookie_only(headers: &HeaderMap) -> bool {
    cookie_token(headers).is_some()
        || headers
            .get("x-refresh-cookie")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"only"))
}

fn set_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res
}

/// The answer of a route that signs in: the tokens, and the refresh cookie.
fn signed_in(headers: &HeaderMap, mut signed: SignedIn) -> Response {
    let cookie = signed
        .refresh_token
        .as_deref()
        .map(|t| refresh_cookie(t, over_https(headers)));
    if cookie_only(headers) {
        signed.refresh_token = None;
    }
    let res = Json(signed).into_response();
    match cookie {
        Some(c) => set_cookie(res, &c),
        None => res,
    }
}

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
    responses((status = 200, body = SignedIn, headers(("Set-Cookie" = String, description = "The refresh token as wati_refresh (HttpOnly; SameSite=Strict; Path=/api/auth)"))),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Invalid or expired invitation", body = ErrorBody)))]
async fn accept_invitation(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<Response> {
    let token = required("token", &req.token)?;
    let password = required("password", &req.password)?;
    let name = wati_shared::domain::validate::optional_name("name", req.name.as_deref(), 100)
        .map_err(wati_shared::http::ApiError::bad_request)?;
    let signed = flows::accept_invitation(&state, token, password, name).await?;
    Ok(signed_in(&headers, signed))
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
    responses((status = 200, body = SignedIn, headers(("Set-Cookie" = String, description = "The refresh token as wati_refresh (HttpOnly; SameSite=Strict; Path=/api/auth)"))),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Invalid e-mail or password", body = ErrorBody),
        (status = 429, description = "Too many failures: see Retry-After", body = ErrorBody)))]
async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = required("email", &req.email)?;
    let password = required("password", &req.password)?;
    let tenant = req.tenant_id.as_deref();
    let signed = flows::login(&state, email, password, tenant).await?;
    Ok(signed_in(&headers, signed))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// Left out by a browser: the `wati_refresh` cookie is used then.
    pub refresh_token: Option<String>,
}

/// New tokens for a refresh token (which is then used up; using it again ends the session).
/// The token comes from the body or else from the `wati_refresh` cookie.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = SignedIn, headers(("Set-Cookie" = String, description = "The refresh token as wati_refresh (HttpOnly; SameSite=Strict; Path=/api/auth)"))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn refresh(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Response> {
    let given = req
        .refresh_token
        .or_else(|| cookie_token(&headers).map(str::to_string));
    let token = required("refreshToken", &given)?;
    let signed = flows::refresh(&state, token).await?;
    Ok(signed_in(&headers, signed))
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
    responses((status = 200, body = SignedIn, headers(("Set-Cookie" = String, description = "The refresh token as wati_refresh (HttpOnly; SameSite=Strict; Path=/api/auth)"))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn reset_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> ApiResult<Response> {
    let token = required("token", &req.token)?;
    let password = required("password", &req.password)?;
    let signed = flows::reset_password(&state, token, password).await?;
    Ok(signed_in(&headers, signed))
}

/// End this session (its access and refresh tokens stop working; the cookie is cleared).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    security(("userJwt" = [])),
    responses((status = 204, headers(("Set-Cookie" = String, description = "Clears the refresh cookie"))),
        (status = 401, body = ErrorBody)))]
async fn logout(Session { state, claims, .. }: Session, headers: HeaderMap) -> ApiResult<Response> {
    flows::logout(&state, &claims).await?;
    let cleared = cleared_refresh_cookie(over_https(&headers));
    Ok(set_cookie(StatusCode::NO_CONTENT.into_response(), &cleared))
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
    responses((status = 200, body = SignedIn, headers(("Set-Cookie" = String, description = "The refresh token as wati_refresh (HttpOnly; SameSite=Strict; Path=/api/auth)"))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn switch(
    Session { state, claims, .. }: Session,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SwitchRequest>,
) -> ApiResult<Response> {
    let tenant = required("tenantId", &req.tenant_id)?;
    let signed = flows::switch(&state, &claims, tenant, cookie_token(&headers)).await?;
    Ok(signed_in(&headers, signed))
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
    let (tenant, role) = current.unzip();
    Ok(Json(Me {
        user: UserView {
            id: user.id,
            email: user.email,
            name: user.name,
        },
        role,
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
