//! The admin's side: inviting members and issuing password-reset links.

use super::{new_secret, AuthError};
use crate::domain::plans::{LimitOverrides, Plan};
use crate::domain::quota::{cap_for, Limit};
use crate::domain::roles::Role;
use crate::domain::sessions::{self, INVITATION_TTL, RESET_TTL};
use crate::runtime::state::AppState;
use crate::store::team::{Invite, Invitee, Member};
use crate::store::users::{AuthToken, TokenKind};
use chrono::{DateTime, Utc};

/// A one-time token in clear (shown once) and when it expires.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub enum Invited {
    Invited(Member, IssuedToken),
    SeatLimitReached { cap: u32 },
    AlreadyMember,
}

fn new_token(
    kind: TokenKind,
    user_id: &str,
    tenant_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(AuthToken, IssuedToken), AuthError> {
    let token = new_secret()?;
    let stored = AuthToken {
        token_hash: sessions::token_hash(&token),
        kind,
        user_id: user_id.into(),
        tenant_id: Some(tenant_id.into()),
        expires_at,
    };
    Ok((stored, IssuedToken { token, expires_at }))
}

/// Invites `email` to the tenant with `role`, taking a seat of the plan.
pub async fn invite(
    state: &AppState,
    tenant_id: &str,
    (plan, limits): (Plan, &LimitOverrides),
    email: String,
    name: Option<String>,
    role: Role,
) -> Result<Invited, AuthError> {
    let now = state.clock.now();
    let existing_user = state.store.credentials(&email).await?.map(|c| c.user_id);
    let (stored, issued) = new_token(
        TokenKind::Invitation,
        existing_user.as_deref().unwrap_or_default(),
        tenant_id,
        now + INVITATION_TTL,
    )?;
    let invitee = Invitee {
        existing_user,
        email,
        name,
        role,
    };
    let cap = cap_for(plan, limits, Limit::Seats);
    let outcome = state
        .store
        .invite_member(tenant_id, &invitee, &stored, cap, now)
        .await?;
    Ok(match outcome {
        Invite::Invited(member) => Invited::Invited(member, issued),
        Invite::SeatLimitReached { cap } => Invited::SeatLimitReached { cap },
        Invite::AlreadyMember => Invited::AlreadyMember,
    })
}

/// A reset link for a member of the tenant (valid 24 hours).
pub async fn issue_reset(
    state: &AppState,
    tenant_id: &str,
    member_id: &str,
) -> Result<IssuedToken, AuthError> {
    let member = state.store.get_team_member(tenant_id, member_id).await?;
    let member = member.ok_or(AuthError::NotFound("Member not found"))?;
    let now = state.clock.now();
    let (stored, issued) = new_token(
        TokenKind::PasswordReset,
        &member.id,
        tenant_id,
        now + RESET_TTL,
    )?;
    state.store.put_auth_token(&stored).await?;
    Ok(issued)
}
