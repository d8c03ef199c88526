//! The operator's side (`wati-admin user …`): creating users, super admins included, and
//! setting a password from the terminal.

use super::{hash_password, AuthError};
use crate::domain::api_keys::generate_token;
use crate::domain::{passwords, validate};
use crate::runtime::state::AppState;
use crate::store::users::User;

/// A user and the password set for it (generated when none was given: shown once).
pub struct WithPassword {
    pub user: User,
    pub password: Option<String>,
}

fn password_or_new(given: Option<String>) -> Result<(String, bool), AuthError> {
    match given {
        Some(p) => {
            passwords::check_new("password", &p).map_err(AuthError::BadInput)?;
            Ok((p, false))
        }
        None => generate_token("", 20)
            .map(|p| (p, true))
            .map_err(|e| AuthError::Internal(format!("CSPRNG: {e}"))),
    }
}

pub async fn create(
    state: &AppState,
    email: &str,
    name: Option<&str>,
    password: Option<String>,
    super_admin: bool,
) -> Result<WithPassword, AuthError> {
    let email = validate::email("email", email).map_err(AuthError::BadInput)?;
    let name = validate::optional_name("name", name, 100).map_err(AuthError::BadInput)?;
    let (password, generated) = password_or_new(password)?;
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        name,
        super_admin,
        created_at: state.clock.now(),
    };
    let created = state
        .store
        .create_user(&user, hash_password(&password).await?)
        .await?;
    let user = created.ok_or(AuthError::BadInput("a user with this e-mail exists".into()))?;
    Ok(WithPassword {
        user,
        password: generated.then_some(password),
    })
}

/// Sets a user's password and ends every session of the user.
pub async fn set_password(
    state: &AppState,
    email: &str,
    password: Option<String>,
) -> Result<WithPassword, AuthError> {
    let email = validate::email("email", email).map_err(AuthError::BadInput)?;
    let creds = state.store.credentials(&email).await?;
    let creds = creds.ok_or(AuthError::NotFound("No user with this e-mail"))?;
    let user = state.store.get_user(&creds.user_id).await?;
    let user = user.ok_or(AuthError::NotFound("No user with this e-mail"))?;
    let (password, generated) = password_or_new(password)?;
    state
        .store
        .set_password_and_activate(&user, Some(&hash_password(&password).await?), None, None)
        .await?;
    state.store.end_sessions_of(&user.id, None).await?;
    Ok(WithPassword {
        user,
        password: generated.then_some(password),
    })
}
