//! Who a JWT is: the token checked with the signing key (cached per instance), then one
//! `BatchGetItem` for the session, the membership and the tenant, so an ended session, a
//! removed member or a suspended tenant is refused on the very next request.

use super::AuthError;
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::roles::Role;
use crate::domain::sessions::{self, Claims, TokenError};
use crate::runtime::state::AppState;
use crate::store::users::{SessionState, User};

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

/// A JWT on a tenant route: ours, or an outside issuer's when one is configured (then
/// `tenant_hint`, the `X-Tenant-Id` header, picks the tenant of a user in several).
pub async fn tenant_caller(
    state: &AppState,
    token: &str,
    tenant_hint: Option<&str>,
) -> Result<UserCaller, AuthError> {
    if let Some(jwks) = &state.jwks {
        let ours = jsonwebtoken::decode_header(token)
            .is_ok_and(|h| h.alg == jsonwebtoken::Algorithm::HS256);
        if !ours {
            return external::tenant_caller(state, jwks, token, tenant_hint).await;
        }
    }
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
    let not_member = "You are no longer a member of this tenant";
    acting(found, claims.sub, claims.sid, tenant_id, not_member)
}

/// The caller a user is in `tenant_id`, from what `session_state` read: refused as
/// `not_member` without the membership, and while the tenant is suspended.
fn acting(
    found: SessionState,
    user_id: String,
    session_id: String,
    tenant_id: String,
    not_member: &'static str,
) -> Result<UserCaller, AuthError> {
    let (Some(member), Some(tenant)) = (found.member, found.tenant) else {
        return Err(AuthError::NotAMember(not_member));
    };
    if tenant.suspended {
        return Err(AuthError::Suspended);
    }
    Ok(UserCaller {
        user_id,
        session_id,
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

/// Tokens from an outside identity provider (the spec's "Supabase-issued user JWT"),
/// matched to a user by their e-mail claim. The provider keeps the sessions; membership,
/// role and suspension are ours and checked on every request.
mod external {
    use super::{AuthError, UserCaller};
    use crate::adapters::jwks::Jwks;
    use crate::domain::sessions::{self, TokenError};
    use crate::runtime::state::AppState;

    const NO_SUCH_MEMBER: &str = "No member of this tenant has this e-mail";

    pub async fn tenant_caller(
        state: &AppState,
        jwks: &Jwks,
        token: &str,
        tenant_hint: Option<&str>,
    ) -> Result<UserCaller, AuthError> {
        let invalid = AuthError::InvalidToken("Invalid access token");
        let kid = sessions::kid_of(token).ok_or(AuthError::InvalidToken("Invalid access token"))?;
        let key = jwks
            .key(&kid)
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?
            .ok_or(invalid)?;
        let id = &jwks.identity;
        let now = state.clock.now();
        let email =
            sessions::verify_external(&key, token, &id.issuer, &id.audience, now).map_err(|e| {
                match e {
                    TokenError::Invalid => AuthError::InvalidToken("Invalid access token"),
                    TokenError::Expired => AuthError::InvalidToken("Access token has expired"),
                }
            })?;
        let email = email.trim().to_lowercase();
        let not_member = AuthError::NotAMember(NO_SUCH_MEMBER);
        let creds = state.store.credentials(&email).await?.ok_or(not_member)?;
        let tenant_id = match tenant_hint {
            Some(t) => t.to_string(),
            None => {
                let mut all = state.store.memberships_of(&creds.user_id).await?;
                if all.len() > 1 {
                    return Err(AuthError::NotAMember(
                        "This user is in several tenants: send X-Tenant-Id",
                    ));
                }
                all.pop().map(|m| m.tenant_id).ok_or(AuthError::NotAMember(
                    "This user is not a member of any tenant",
                ))?
            }
        };
        let found = state
            .store
            .session_state("-", &creds.user_id, Some(&tenant_id))
            .await?;
        super::acting(
            found,
            creds.user_id,
            String::new(),
            tenant_id,
            NO_SUCH_MEMBER,
        )
    }
}
