//! Authentication: tenant API keys (`Authorization: Bearer wati_…`), signed-in users' JWTs
//! (`Authorization: Bearer eyJ…`) and the platform admin key; the role each route needs.

use crate::domain::api_keys::{hash_api_key, parse_bearer};
use crate::domain::rate_limit::{retry_after_secs, RateStatus};
use crate::domain::roles::Role;
use crate::domain::sessions::{looks_like_jwt, Claims};
use crate::http::error::ApiError;
use crate::runtime::state::AppState;
use crate::services::auth::caller;
use crate::store::api_keys::{AuthOutcome, Principal, SignedInUser};
use crate::store::users::User;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The authenticated tenant and key of a request, put there by [`require_api_key`].
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("route is missing the API key middleware"))
    }
}

/// What a tenant route's handler starts from: the app state and the caller behind the key
/// (so a handler asks for one thing, `Authed { state, caller }: Authed`, not two).
#[derive(Debug, Clone)]
pub struct Authed {
    pub state: AppState,
    pub caller: Principal,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        // A route that declares no role is for admins only.
        if parts.extensions.get::<RoleChecked>().is_none() {
            caller
                .role
                .allows(Role::Admin)
                .map_err(ApiError::forbidden)?;
        }
        Ok(Authed {
            state: state.clone(),
            caller,
        })
    }
}

/// Middleware for tenant routes: resolves the key to its tenant, counts the request against
/// the key's per-minute limit, and adds the `X-RateLimit-*` headers to whatever the handler
/// answers. One conditional DynamoDB write per request.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Err(e) = authorization(req.headers()) {
        return e.into_response();
    }
    if let Some(token) = bearer_jwt(req.headers()) {
        let hint = req
            .headers()
            .get("x-tenant-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return match caller::tenant_caller(&state, &token, hint.as_deref()).await {
            Ok(user) => {
                tracing::Span::current().record("tenant_id", user.tenant_id.as_str());
                req.extensions_mut().insert(Caller(Principal {
                    tenant_id: user.tenant_id,
                    key_id: String::new(),
                    plan: user.plan,
                    limits: user.limits,
                    role: user.role,
                    user: Some(SignedInUser {
                        user_id: user.user_id,
                        session_id: user.session_id,
                    }),
                    rate: None,
                    status_events: None,
                }));
                next.run(req).await
            }
            Err(e) => ApiError::from(e).into_response(),
        };
    }
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let key = match parse_bearer(header) {
        Ok(k) => k,
        Err(e) => return ApiError::unauthorized(e.to_string()).into_response(),
    };
    let now = state.clock.now();
    let outcome = match state.store.authenticate(&hash_api_key(key), now).await {
        Ok(o) => o,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let refusal = match outcome {
        AuthOutcome::Granted(principal) => {
            let rate = principal.rate;
            tracing::Span::current().record("tenant_id", principal.tenant_id.as_str());
            req.extensions_mut().insert(Caller(principal));
            let mut res = next.run(req).await;
            if let Some(rate) = rate {
                rate_headers(res.headers_mut(), rate);
            }
            return res;
        }
        AuthOutcome::UnknownKey => ApiError::unauthorized("Invalid API key"),
        AuthOutcome::Disabled => ApiError::unauthorized("API key is disabled"),
        AuthOutcome::Revoked => ApiError::unauthorized("API key has been revoked"),
        AuthOutcome::Suspended => {
            ApiError::forbidden("This account is suspended: contact the platform administrator")
        }
        AuthOutcome::RateLimited(rate) => {
            let mut res = ApiError::too_many_requests(
                format!(
                    "Rate limit exceeded: {} requests per minute for this API key",
                    rate.limit
                ),
                retry_after_secs(now, rate.reset),
            )
            .into_response();
            rate_headers(res.headers_mut(), rate);
            return res;
        }
    };
    refusal.into_response()
}

/// The `Authorization` header as text. One with bytes that are not visible ASCII is there
/// but unreadable: saying it is missing would send the caller looking in the wrong place.
fn authorization(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get(header::AUTHORIZATION).map(HeaderValue::to_str) {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(_)) => Err(ApiError::unauthorized(
            "Malformed Authorization header: it must be visible ASCII characters",
        )),
    }
}

fn rate_headers(headers: &mut HeaderMap, rate: RateStatus) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(rate.reset));
}

/// Middleware for `/api/admin/*`: the platform admin key as a Bearer token.
pub async fn require_platform_admin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let header = match authorization(req.headers()) {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    let token = header
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return ApiError::unauthorized(
            "Missing Authorization header: send 'Authorization: Bearer <platform admin key>'",
        )
        .into_response();
    };
    if looks_like_jwt(&token) {
        return match caller::session_user(&state, &token).await {
            Ok((_, user)) if user.super_admin => next.run(req).await,
            Ok(_) => ApiError::forbidden("This action needs a super admin").into_response(),
            Err(e) => ApiError::from(e).into_response(),
        };
    }
    match state.admin_key.verify(&state.aws.secrets, &token).await {
        Ok(true) => next.run(req).await,
        Ok(false) => ApiError::unauthorized("Invalid platform admin key").into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Middleware for the public REST API (`/api/public/v1/…`): Pro and Agency only. Layer it
/// inside [`require_api_key`] (add it with `route_layer` before the key middleware).
pub async fn require_rest_access(req: Request, next: Next) -> Response {
    let refusal = match req.extensions().get::<Caller>() {
        None => Some(ApiError::internal(
            "REST gate without the API key middleware",
        )),
        Some(Caller(p)) => {
            let limits = crate::domain::plans::effective_limits(p.plan, &p.limits);
            (!limits.rest_api)
                .then(|| ApiError::conflict(crate::domain::quota::rest_api_unavailable(p.plan)))
        }
    };
    match refusal {
        Some(e) => e.into_response(),
        None => next.run(req).await,
    }
}

/// The token of `Authorization: Bearer <JWT>`, if that is what the request carries.
fn bearer_jwt(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && looks_like_jwt(token)).then(|| token.to_string())
}

/// Put in a request's extensions by [`require_role`]: the route declared its role.
#[derive(Debug, Clone, Copy)]
pub struct RoleChecked;

/// Route middleware: the caller's role must be at least `needed` (403 naming it).
pub async fn require_role(needed: Role, mut req: Request, next: Next) -> Response {
    let role = match req.extensions().get::<Caller>() {
        Some(Caller(p)) => p.role,
        None => {
            return ApiError::internal("role check without the auth middleware").into_response()
        }
    };
    if let Err(message) = role.allows(needed) {
        return ApiError::forbidden(message).into_response();
    }
    req.extensions_mut().insert(RoleChecked);
    next.run(req).await
}

/// A signed-in user with a live session (`/api/auth/*`): the claims of the token and the user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub state: AppState,
    pub claims: Claims,
    pub user: User,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_jwt(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized(
                "Missing access token: send 'Authorization: Bearer <token from /api/auth/login>'",
            )
        })?;
        let (claims, user) = caller::session_user(state, &token).await?;
        Ok(SignedIn {
            state: state.clone(),
            claims,
            user,
        })
    }
}
