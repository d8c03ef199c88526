//! The sign-in flows: each ends in a session and its tokens ([`SignedIn`]).

use super::{
    blocking, hash_password, new_secret, AuthError, SignedIn, TenantRef, TenantRole, UserView,
};
use crate::domain::passwords;
use crate::domain::roles::Role;
use crate::domain::sessions::{self, Claims, FAILURE_WINDOW, SESSION_TTL};
use crate::domain::validate;
use crate::runtime::state::AppState;
use crate::services::audit;
use crate::store::audit::Actor;
use crate::store::tenants::Tenant;
use crate::store::users::{Rotation, Session, TokenKind, User};

fn check_new_password(field: &str, password: &str) -> Result<(), AuthError> {
    passwords::check_new(field, password).map_err(AuthError::BadInput)
}

async fn verify_password(password: &str, stored: Option<String>) -> Result<bool, AuthError> {
    let p = password.to_string();
    blocking(move || passwords::verify(&p, stored.as_deref())).await
}

/// The tenants a user belongs to, each with the user's role there.
async fn memberships(state: &AppState, user_id: &str) -> Result<Vec<(Tenant, Role)>, AuthError> {
    let memberships = state.store.memberships_of(user_id).await?;
    let ids: Vec<String> = memberships.iter().map(|m| m.tenant_id.clone()).collect();
    let tenants = state.store.get_tenants(&ids).await?;
    Ok(memberships
        .into_iter()
        .filter_map(|m| {
            let t = tenants.iter().find(|t| t.id == m.tenant_id)?;
            Some((t.clone(), m.role))
        })
        .collect())
}

fn tenant_roles(mine: &[(Tenant, Role)]) -> Vec<TenantRole> {
    mine.iter()
        .map(|(t, role)| TenantRole {
            id: t.id.clone(),
            name: t.name.clone(),
            role: *role,
        })
        .collect()
}

fn tenant_ref(t: &Tenant) -> TenantRef {
    TenantRef {
        id: t.id.clone(),
        name: t.name.clone(),
        plan: t.plan,
    }
}

async fn tokens(
    state: &AppState,
    user: &User,
    tenant_id: Option<&str>,
    session: Session,
    refresh_secret: &str,
) -> Result<SignedIn, AuthError> {
    let mine = memberships(state, &user.id).await?;
    let current = match tenant_id {
        Some(id) => Some(
            mine.iter()
                .find(|(t, _)| t.id == id)
                .ok_or(AuthError::NotAMember("You are not a member of this tenant"))?,
        ),
        None => None,
    };
    if current.is_some_and(|(t, _)| t.suspended) {
        return Err(AuthError::Suspended);
    }
    let tenant = current.map(|(t, _)| tenant_ref(t));
    let tenants = tenant_roles(&mine);
    let now = state.clock.now();
    let expires_at = now + sessions::ACCESS_TTL;
    let claims = Claims {
        iss: sessions::ISSUER.into(),
        sub: user.id.clone(),
        sid: session.id.clone(),
        tid: tenant.as_ref().map(|t| t.id.clone()),
        role: current.map(|(_, role)| *role),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
    };
    let key = state.signing_keys.current(&state.aws.secrets).await?;
    let token = sessions::sign(&key, &claims).map_err(AuthError::Internal)?;
    Ok(SignedIn {
        token,
        refresh_token: Some(format!("{}.{refresh_secret}", session.id)),
        expires_at,
        user: UserView {
            id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
        },
        role: current.map(|(_, role)| *role),
        tenant,
        super_admin: user.super_admin,
        tenants,
    })
}

/// Starts a session for `user` in `tenant_id`, or in the first tenant the user belongs to.
pub async fn start_session(
    state: &AppState,
    user: &User,
    tenant_id: Option<&str>,
) -> Result<SignedIn, AuthError> {
    let tenant_id = match tenant_id {
        Some(t) => Some(t.to_string()),
        None => state
            .store
            .memberships_of(&user.id)
            .await?
            .into_iter()
            .next()
            .map(|m| m.tenant_id),
    };
    if tenant_id.is_none() && !user.super_admin {
        return Err(AuthError::NotAMember(
            "This user is not a member of any tenant",
        ));
    }
    let now = state.clock.now();
    let secret = new_secret()?;
    let session = Session {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        tenant_id: tenant_id.clone(),
        refresh_hash: sessions::token_hash(&secret),
        previous_hash: None,
        rotated_at: None,
        created_at: now,
        expires_at: now + SESSION_TTL,
    };
    // Checked before the session is stored, so a refused sign-in leaves nothing behind.
    let signed = tokens(state, user, tenant_id.as_deref(), session.clone(), &secret).await?;
    state.store.create_session(&session).await?;
    Ok(signed)
}

async fn user(state: &AppState, user_id: &str) -> Result<User, AuthError> {
    state
        .store
        .get_user(user_id)
        .await?
        .ok_or(AuthError::InvalidCredentials)
}

/// E-mail and password. Wrong e-mail and wrong password take the same time and say the
/// same; 10 failures for an e-mail within 15 minutes lock it until the window ends.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    tenant_id: Option<&str>,
) -> Result<SignedIn, AuthError> {
    let email = validate::email("email", email).map_err(AuthError::BadInput)?;
    let now = state.clock.now();
    if let Some((failures, start)) = state.store.login_failures(&email).await? {
        if let Some(retry_after) = sessions::locked_for(failures, start, now) {
            return Err(AuthError::LockedOut { retry_after });
        }
    }
    let creds = state.store.credentials(&email).await?;
    let stored = creds.as_ref().and_then(|c| c.password_hash.clone());
    if !verify_password(password, stored).await? {
        let count = state
            .store
            .record_login_failure(&email, now - FAILURE_WINDOW, now, now + FAILURE_WINDOW)
            .await?;
        if count == sessions::MAX_FAILURES {
            tracing::warn!(email = %email, "sign-in locked after repeated failures");
            if let Some(c) = &creds {
                locked(state, &c.user_id).await?;
            }
        }
        return Err(AuthError::InvalidCredentials);
    }
    state.store.clear_login_failures(&email).await?;
    let Some(creds) = creds else {
        return Err(AuthError::InvalidCredentials);
    };
    let user = user(state, &creds.user_id).await?;
    start_session(state, &user, tenant_id).await
}

/// Notes a lock-out in the audit log of every tenant the user belongs to.
async fn locked(state: &AppState, user_id: &str) -> Result<(), AuthError> {
    for m in state.store.memberships_of(user_id).await? {
        let target = format!("member:{user_id}");
        let actor = Actor::system();
        audit::record(
            state,
            &m.tenant_id,
            actor,
            "signin.locked",
            target,
            None,
            None,
        )
        .await?;
    }
    Ok(())
}

/// A refresh token for new tokens (and a new refresh token).
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<SignedIn, AuthError> {
    let invalid = AuthError::InvalidToken("Invalid refresh token");
    let (sid, secret) = sessions::split_refresh(refresh_token).ok_or(invalid)?;
    let key = state.signing_keys.current(&state.aws.secrets).await?;
    let next = key.next_refresh_secret(sid, secret);
    let rotated = state
        .store
        .rotate_session(
            sid,
            &sessions::token_hash(secret),
            &sessions::token_hash(&next),
            None,
            state.clock.now(),
        )
        .await?;
    let session = match rotated {
        Rotation::Rotated(s) | Rotation::Repeated(s) => s,
        Rotation::Reused => return Err(AuthError::RefreshReused),
        Rotation::Gone => return Err(AuthError::InvalidToken("Invalid refresh token")),
    };
    let user = user(state, &session.user_id).await?;
    let tenant = session.tenant_id.clone();
    tokens(state, &user, tenant.as_deref(), session, &next).await
}

/// Moves a session to another tenant of the user's: new tokens for it. `refresh_token`: the
/// browser's refresh cookie, if it came with the request.
pub async fn switch(
    state: &AppState,
    claims: &Claims,
    tenant_id: &str,
    refresh_token: Option<&str>,
) -> Result<SignedIn, AuthError> {
    let member = state.store.get_team_member(tenant_id, &claims.sub).await?;
    if member.is_none() {
        return Err(AuthError::NotAMember("You are not a member of this tenant"));
    }
    let found = state
        .store
        .session_state(&claims.sid, &claims.sub, None)
        .await?;
    let session = found.session.ok_or(AuthError::SessionEnded)?;
    // With the session's current refresh token at hand (a browser's cookie) the new one is
    // derived from it, so that a refresh repeating this switch (its answer lost to a reload)
    // gets it again; an API client's is random.
    let current = refresh_token
        .and_then(sessions::split_refresh)
        .filter(|(sid, secret)| {
            *sid == session.id && sessions::token_hash(secret) == session.refresh_hash
        });
    let next = match current {
        Some((sid, secret)) => {
            let key = state.signing_keys.current(&state.aws.secrets).await?;
            key.next_refresh_secret(sid, secret)
        }
        None => new_secret()?,
    };
    let rotated = state
        .store
        .rotate_session(
            &session.id,
            &session.refresh_hash,
            &sessions::token_hash(&next),
            Some(tenant_id),
            state.clock.now(),
        )
        .await?;
    let session = match rotated {
        Rotation::Rotated(s) | Rotation::Repeated(s) => s,
        Rotation::Reused | Rotation::Gone => return Err(AuthError::SessionEnded),
    };
    let user = found.user.ok_or(AuthError::SessionEnded)?;
    // A repeated switch answers for the tenant the session is in.
    let tenant = session.tenant_id.clone();
    tokens(state, &user, tenant.as_deref(), session, &next).await
}

/// Accepts an invitation: sets the password of a new user (or checks an existing user's),
/// activates the membership and signs in to that tenant.
pub async fn accept_invitation(
    state: &AppState,
    token: &str,
    password: &str,
    name: Option<String>,
) -> Result<SignedIn, AuthError> {
    redeem(state, token, TokenKind::Invitation, password, name).await
}

/// Uses an admin-issued reset link: a new password, every other session ended.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &str,
) -> Result<SignedIn, AuthError> {
    redeem(state, token, TokenKind::PasswordReset, password, None).await
}

async fn redeem(
    state: &AppState,
    token: &str,
    kind: TokenKind,
    password: &str,
    name: Option<String>,
) -> Result<SignedIn, AuthError> {
    let now = state.clock.now();
    let bad = match kind {
        TokenKind::Invitation => "Invalid or expired invitation",
        TokenKind::PasswordReset => "Invalid or expired password reset link",
    };
    let hash = sessions::token_hash(token.trim());
    let found = state.store.auth_token(&hash, kind, now).await?;
    let found = found.ok_or(AuthError::InvalidToken(bad))?;
    let user = state
        .store
        .get_user(&found.user_id)
        .await?
        .ok_or(AuthError::InvalidToken(bad))?;
    let creds = state.store.credentials(&user.email).await?;
    let has_password = creds.and_then(|c| c.password_hash);
    let new_hash = match (kind, has_password) {
        // An existing user proves who they are with their password.
        (TokenKind::Invitation, Some(existing)) => {
            if !verify_password(password, Some(existing)).await? {
                return Err(AuthError::InvalidCredentials);
            }
            None
        }
        _ => {
            check_new_password("password", password)?;
            Some(hash_password(password).await?)
        }
    };
    if !state.store.use_auth_token(&hash).await? {
        return Err(AuthError::InvalidToken(bad));
    }
    let activate = (kind == TokenKind::Invitation)
        .then_some(found.tenant_id.as_deref())
        .flatten();
    state
        .store
        .set_password_and_activate(&user, new_hash.as_deref(), name.as_deref(), activate)
        .await?;
    if kind == TokenKind::PasswordReset {
        state.store.end_sessions_of(&user.id, None).await?;
    }
    let user = state.store.get_user(&user.id).await?.unwrap_or(user);
    start_session(state, &user, found.tenant_id.as_deref()).await
}

/// Changes the signed-in user's password; every other session of the user ends.
pub async fn change_password(
    state: &AppState,
    claims: &Claims,
    user: &User,
    current: &str,
    new: &str,
) -> Result<(), AuthError> {
    check_new_password("newPassword", new)?;
    let creds = state.store.credentials(&user.email).await?;
    let stored = creds.and_then(|c| c.password_hash);
    if !verify_password(current, stored).await? {
        return Err(AuthError::BadInput(
            "\"currentPassword\" is not the current password".into(),
        ));
    }
    let hash = hash_password(new).await?;
    state
        .store
        .set_password_and_activate(user, Some(&hash), None, None)
        .await?;
    state
        .store
        .end_sessions_of(&user.id, Some(&claims.sid))
        .await?;
    Ok(())
}

pub async fn logout(state: &AppState, claims: &Claims) -> Result<(), AuthError> {
    Ok(state.store.end_session(&claims.sid).await?)
}

/// The signed-in user, the tenant of the token and every tenant the user may switch to.
pub async fn me(
    state: &AppState,
    claims: &Claims,
    user: &User,
) -> Result<(Vec<TenantRole>, Option<(TenantRef, Role)>), AuthError> {
    let mine = memberships(state, &user.id).await?;
    let current = claims.tid.as_ref().and_then(|id| {
        mine.iter()
            .find(|(t, _)| &t.id == id)
            .map(|(t, role)| (tenant_ref(t), *role))
    });
    Ok((tenant_roles(&mine), current))
}
