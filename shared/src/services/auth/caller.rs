//! Who a JWT is: the token checked with the signing key (cached per instance), then one
//! `BatchGetItem` for the session, the membership and the tenant, so an ended session, a
//! removed member or a suspended tenant is refused on the very next request.

use super::AuthError;
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::roles::Role;
use crate::domain::sessions::{self, Claims, TokenError};
use crate::runtime::state::AppState;
use crate::store::users::User;

/// A signed-in user acting in a tenant.
#[derive(Debug, Clone)]
pub struct UserCaller {
    pub user_id: String,
    pub session_id: String,
    pub tenant_id: String,
    pub role: Role,
    pub plan: Plan,
    pub limits: LimitOverrides,
}

/// The claims of a well-signed, unexpired token.
pub async fn claims(state: &AppState, token: &str) -> Result<Claims, AuthError> {
    let kid = sessions::kid_of(token);
    let key = state
        .signing_keys
        .for_kid(&state.aws.secrets, kid.as_deref())
        .await?;
    sessions::verify(&key, token, state.clock.now()).map_err(|e| match e {
        TokenError::Invalid => AuthError::InvalidToken("Invalid access token"),
        TokenError::Expired => AuthError::InvalidToken(
            "Access token has expired: refresh it with POST /api/auth/refresh",
        ),
    })
}

/// A JWT on a tenant route.
pub async fn tenant_caller(state: &AppState, token: &str) -> Result<UserCaller, AuthError> {
    let claims = claims(state, token).await?;
    let Some(tenant_id) = claims.tid.clone() else {
        return Err(AuthError::NotAMember(
            "This token is not signed in to a tenant: switch to one with POST /api/auth/switch",
        ));
    };
    let found = state
        .store
        .session_state(&claims.sid, &claims.sub, Some(&tenant_id))
        .await?;
    if found.session.is_none() {
        return Err(AuthError::SessionEnded);
    }
    let (Some(member), Some(tenant)) = (found.member, found.tenant) else {
        return Err(AuthError::NotAMember(
            "You are no longer a member of this tenant",
        ));
    };
    if tenant.suspended {
        return Err(AuthError::Suspended);
    }
    Ok(UserCaller {
        user_id: claims.sub,
        session_id: claims.sid,
        tenant_id,
        role: member.role,
        plan: tenant.plan,
        limits: tenant.limits,
    })
}

/// A JWT on a route that needs only a live session (`/api/auth/*`, `/api/admin/*`).
pub async fn session_user(state: &AppState, token: &str) -> Result<(Claims, User), AuthError> {
    let claims = claims(state, token).await?;
    let found = state
        .store
        .session_state(&claims.sid, &claims.sub, None)
        .await?;
    match (found.session, found.user) {
        (Some(_), Some(user)) => Ok((claims, user)),
        _ => Err(AuthError::SessionEnded),
    }
}
