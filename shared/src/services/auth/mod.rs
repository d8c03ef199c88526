//! Sign-in: passwords, sessions and the tokens they hand out (`docs/roles.md`).
//!
//! A session is an item in the table; its access tokens are JWTs good for 15 minutes, and
//! its refresh token is opaque, stored as a hash and replaced on every use. Presenting a
//! replaced refresh token ends the session (someone else has a copy).

pub mod caller;
pub mod flows;
pub mod team;
pub mod users;

use crate::adapters::signing_key::SigningKeyError;
use crate::domain::plans::Plan;
use crate::domain::roles::Role;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    BadInput(String),
    #[error("Invalid e-mail or password")]
    InvalidCredentials,
    #[error("Too many failed sign-ins for this e-mail: try again later")]
    LockedOut { retry_after: u64 },
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("Refresh token was already used: the session has been ended, sign in again")]
    RefreshReused,
    #[error("Session has ended: sign in again")]
    SessionEnded,
    #[error("{0}")]
    NotAMember(&'static str),
    #[error("This account is suspended: contact the platform administrator")]
    Suspended,
    #[error("This action needs a super admin")]
    NotSuperAdmin,
    #[error("{0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] SigningKeyError),
    #[error("{0}")]
    Internal(String),
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantRef {
    pub id: String,
    pub name: String,
    pub plan: Plan,
}

/// A tenant the user may switch to, and the role there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantRole {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// What signing in (or refreshing, or switching) answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// The access token (a JWT, 15 minutes): `Authorization: Bearer <token>`.
    pub token: String,
    /// Opaque; exchange it at `POST /api/auth/refresh` (once: each use gives a new one).
    /// Also set as the httpOnly `wati_refresh` cookie; left out of the body when the request
    /// came with that cookie or with `X-Refresh-Cookie: only` (the dashboard), so a script
    /// never sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(with = "crate::domain::time::secs")]
    pub expires_at: DateTime<Utc>,
    pub user: UserView,
    /// The tenant signed in to (`null` for a super admin without one).
    pub tenant: Option<TenantRef>,
    pub role: Option<Role>,
    pub super_admin: bool,
    pub tenants: Vec<TenantRole>,
}

/// A new random secret (refresh tokens, invitation and reset tokens).
pub(crate) fn new_secret() -> Result<String, AuthError> {
    crate::domain::api_keys::generate_token("", 43)
        .map_err(|e| AuthError::Internal(format!("CSPRNG: {e}")))
}

/// A password's argon2id hash, computed off the async runtime.
pub(crate) async fn hash_password(password: &str) -> Result<String, AuthError> {
    let p = password.to_string();
    blocking(move || crate::domain::passwords::hash(&p))
        .await?
        .map_err(AuthError::Internal)
}

/// Runs argon2 off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Internal(format!("password hashing task: {e}")))
}
