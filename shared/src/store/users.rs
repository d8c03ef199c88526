//! Users, their one-time tokens (invitations, password resets), sign-in sessions and the
//! count of wrong passwords. See `docs/roles.md`.

use super::keys::*;
use super::table::{self, keyed, on_gsi1, Commit, Cond, Query, Returns, Written};
use super::team::Member;
use super::tenants::{Tenant, TenantItem};
use super::{from_item, n, s, Item, Store, StoreError, StoreResult};
use crate::domain::sessions::{repeats_last_rotation, SESSION_TTL};
use crate::domain::time;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A platform (multi-tenant) administrator.
    #[serde(default)]
    pub super_admin: bool,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
}

/// The e-mail's record: whose it is, and the password hash (none until one is chosen).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Invitation,
    PasswordReset,
}

/// A one-time token, stored under its hash until used or expired.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthToken {
    pub token_hash: String,
    pub kind: TokenKind,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Unix seconds; the table's TTL attribute, so expired tokens go away by themselves.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
}

impl AuthToken {
    pub(crate) fn item(&self) -> StoreResult<Item> {
        keyed(self, auth_token_pk(&self.token_hash), AUTH_TOKEN_SK)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub refresh_hash: String,
    /// The refresh token the last rotation replaced, and when (see
    /// `sessions::repeats_last_rotation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    /// Unix seconds (TTL): pushed forward by every refresh.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
}

/// What one read tells about a JWT's session: the session, the membership and the tenant.
#[derive(Debug, Default)]
pub struct SessionState {
    pub session: Option<Session>,
    pub member: Option<Member>,
    pub tenant: Option<Tenant>,
    pub user: Option<User>,
}

pub enum Rotation {
    Rotated(Session),
    /// The token the last rotation replaced, again within the grace time: nothing written.
    Repeated(Session),
    /// Not the session's current refresh token: the session has been ended.
    Reused,
    Gone,
}

/// The user and e-mail items of a new user (no password yet), each only if new.
pub(crate) fn new_user_items(
    table_name: &str,
    user_id: &str,
    email: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<TransactWriteItem>> {
    let user = User {
        id: user_id.into(),
        email: email.into(),
        name: name.map(str::to_string),
        super_admin: false,
        created_at: now,
    };
    user_items(table_name, &user, None)
}

fn user_items(
    table_name: &str,
    user: &User,
    password_hash: Option<String>,
) -> StoreResult<Vec<TransactWriteItem>> {
    let listed = format!("{}#{}", time::iso(user.created_at), user.id);
    let item = on_gsi1(
        keyed(user, user_pk(&user.id), USER_SK)?,
        USERS_GSI1PK,
        listed,
    );
    let creds = Credentials {
        user_id: user.id.clone(),
        password_hash,
    };
    let new = || Some(Cond::absent());
    Ok(vec![
        table::put(table_name, item, new())?,
        table::put(
            table_name,
            keyed(&creds, user_email_pk(&user.email), USER_EMAIL_SK)?,
            new(),
        )?,
    ])
}

impl Store {
    /// Creates a user with a password (the operator's CLI); `None` if the e-mail is taken.
    pub async fn create_user(
        &self,
        user: &User,
        password_hash: String,
    ) -> StoreResult<Option<User>> {
        let writes = user_items(&self.table, user, Some(password_hash))?;
        match self.commit(writes).await? {
            Commit::Done => Ok(Some(user.clone())),
            c if c.condition_failed_at(1) => Ok(None),
            _ => Err(StoreError::Contention("create user")),
        }
    }

    pub async fn credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        self.get(&user_email_pk(email), USER_EMAIL_SK).await
    }

    pub async fn get_user(&self, user_id: &str) -> StoreResult<Option<User>> {
        self.get(&user_pk(user_id), USER_SK).await
    }

    /// Users oldest first, a page at a time.
    pub async fn list_users(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<User>, Option<String>)> {
        self.page(&Query::index(GSI1, USERS_GSI1PK), limit, cursor)
            .await
    }

    /// Sets a user's password and name (each when given); with `activate`, the invited
    /// membership in that tenant becomes active in the same transaction.
    pub async fn set_password_and_activate(
        &self,
        user: &User,
        password_hash: Option<&str>,
        name: Option<&str>,
        activate: Option<&str>,
    ) -> StoreResult<()> {
        let mut writes = Vec::new();
        // Both items exist already: the password is kept with the e-mail, the name with the user.
        let mut set = |pk: &str, sk: &str, expr: &str, cond: Cond| -> StoreResult<()> {
            writes.push(table::update(&self.table, pk, sk, expr, cond)?);
            Ok(())
        };
        if let Some(hash) = password_hash {
            let pk = user_email_pk(&user.email);
            set(
                &pk,
                USER_EMAIL_SK,
                "SET passwordHash = :h",
                Cond::exists().value(":h", s(hash)),
            )?;
        }
        if let Some(name) = name {
            let cond = Cond::exists().name("#n", "name").value(":n", s(name));
            set(&user_pk(&user.id), USER_SK, "SET #n = :n", cond)?;
        }
        if let Some(tenant_id) = activate {
            writes.push(self.activate_member(tenant_id, &user.id)?);
        }
        if self.commit(writes).await?.done_or_lost("set password")? {
            Ok(())
        } else {
            Err(StoreError::Contention("set password"))
        }
    }

    pub async fn put_auth_token(&self, token: &AuthToken) -> StoreResult<()> {
        self.put(token.item()?).await
    }

    /// A one-time token: `None` if it is unknown, of another kind, expired or used.
    pub async fn auth_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AuthToken>> {
        let token: Option<AuthToken> = self.get(&auth_token_pk(token_hash), AUTH_TOKEN_SK).await?;
        Ok(token.filter(|t| t.kind == kind && t.expires_at > now))
    }

    /// Uses up a one-time token: only the request that deletes it may use it.
    pub async fn use_auth_token(&self, token_hash: &str) -> StoreResult<bool> {
        self.delete_if(
            &auth_token_pk(token_hash),
            AUTH_TOKEN_SK,
            Some(Cond::exists()),
        )
        .await
    }

    /// Tenants by id (those that exist).
    pub async fn get_tenants(&self, ids: &[String]) -> StoreResult<Vec<Tenant>> {
        let keys = ids.iter().map(|id| (tenant_pk(id), TENANT_SK.to_string()));
        let items: Vec<TenantItem> = self.batch_get_as(keys).await?;
        Ok(items.iter().map(TenantItem::tenant).collect())
    }

    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let item = keyed(session, session_pk(&session.id), SESSION_SK)?;
        let item = on_gsi1(item, sessions_gsi1pk(&session.user_id), &session.id);
        self.put(item).await
    }

    /// Replaces the session's refresh token if `presented_hash` is its current one. The token
    /// the last rotation replaced, within the grace time and while that rotation's token is
    /// still current, repeats it; any other token of the session ends it.
    pub async fn rotate_session(
        &self,
        session_id: &str,
        presented_hash: &str,
        new_hash: &str,
        tenant_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let pk = session_pk(session_id);
        let mut cond = Cond::new("refreshHash = :old")
            .value(":old", s(presented_hash))
            .value(":new", s(new_hash))
            .value(":now", s(time::iso(now)))
            .value(":exp", n((now + SESSION_TTL).timestamp()))
            .returning_old();
        let mut expr =
            "SET refreshHash = :new, previousHash = :old, rotatedAt = :now, expiresAt = :exp"
                .to_string();
        if let Some(t) = tenant_id {
            expr.push_str(", tenantId = :t");
            cond = cond.value(":t", s(t));
        }
        match self
            .update_if(&pk, SESSION_SK, &expr, cond, Returns::NEW)
            .await?
        {
            Written::Applied(new) => Ok(Rotation::Rotated(from_item(new)?)),
            Written::Refused(None) => Ok(Rotation::Gone),
            Written::Refused(Some(item)) => {
                let session: Session = from_item(item)?;
                if repeats_last_rotation(
                    session.previous_hash.as_deref(),
                    &session.refresh_hash,
                    session.rotated_at,
                    presented_hash,
                    new_hash,
                    now,
                ) {
                    return Ok(Rotation::Repeated(session));
                }
                self.delete_if(&pk, SESSION_SK, None).await?;
                Ok(Rotation::Reused)
            }
        }
    }

    pub async fn end_session(&self, session_id: &str) -> StoreResult<()> {
        self.delete_if(&session_pk(session_id), SESSION_SK, None)
            .await
            .map(|_| ())
    }

    /// Ends every session of a user but `keep`.
    pub async fn end_sessions_of(&self, user_id: &str, keep: Option<&str>) -> StoreResult<()> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        let q = Query::index(GSI1, sessions_gsi1pk(user_id));
        let ids: Vec<Id> = self.query_all(q).await?;
        let keys: Vec<(String, String)> = ids
            .into_iter()
            .filter(|i| Some(i.id.as_str()) != keep)
            .map(|i| (session_pk(&i.id), SESSION_SK.to_string()))
            .collect();
        self.batch_delete(&keys).await
    }

    /// The session, and the membership and tenant it is signed in to (or the user, for a
    /// session without a tenant), in one `BatchGetItem`.
    pub async fn session_state(
        &self,
        session_id: &str,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> StoreResult<SessionState> {
        let mut keys = vec![(session_pk(session_id), SESSION_SK.to_string())];
        match tenant_id {
            Some(t) => {
                keys.push((tenant_pk(t), member_sk(user_id)));
                keys.push((tenant_pk(t), TENANT_SK.to_string()));
            }
            None => keys.push((user_pk(user_id), USER_SK.to_string())),
        }
        let mut state = SessionState::default();
        for item in self.batch_get(&keys, true).await? {
            let sk = item.get(SK).and_then(|v| v.as_s().ok()).cloned();
            match sk.as_deref() {
                Some(SESSION_SK) => state.session = Some(from_item(item)?),
                Some(TENANT_SK) => state.tenant = Some(from_item::<TenantItem>(item)?.tenant()),
                Some(USER_SK) => state.user = Some(from_item(item)?),
                Some(_) => state.member = Some(from_item(item)?),
                None => {}
            }
        }
        // A session for one user is no session for another.
        state.session = state.session.filter(|s| s.user_id == user_id);
        Ok(state)
    }

    /// Failures counted for an e-mail: how many, and when the window began.
    pub async fn login_failures(&self, email: &str) -> StoreResult<Option<(u32, DateTime<Utc>)>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Failures {
            failures: u32,
            #[serde(with = "time::secs")]
            window_start: DateTime<Utc>,
        }
        let f: Option<Failures> = self
            .get(&login_failures_pk(email), LOGIN_FAILURES_SK)
            .await?;
        Ok(f.map(|f| (f.failures, f.window_start)))
    }

    /// Counts a failure in the open window, or opens a new one; the count after it.
    pub async fn record_login_failure(
        &self,
        email: &str,
        window_opened_after: DateTime<Utc>,
        now: DateTime<Utc>,
        forget_at: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let pk = login_failures_pk(email);
        let counted = self
            .update_if(
                &pk,
                LOGIN_FAILURES_SK,
                "ADD failures :one",
                Cond::new("windowStart > :after")
                    .value(":one", n(1))
                    .value(":after", s(time::iso(window_opened_after))),
                Returns::UPDATED,
            )
            .await?;
        if let Written::Applied(new) = counted {
            return Ok(count_of(&new));
        }
        let opened = self
            .update_if(
                &pk,
                LOGIN_FAILURES_SK,
                "SET failures = :one, windowStart = :now, expiresAt = :exp",
                Cond::none()
                    .value(":one", n(1))
                    .value(":now", s(time::iso(now)))
                    .value(":exp", n(forget_at.timestamp())),
                Returns::UPDATED,
            )
            .await?;
        Ok(match opened {
            Written::Applied(new) => count_of(&new),
            Written::Refused(_) => 1,
        })
    }

    pub async fn clear_login_failures(&self, email: &str) -> StoreResult<()> {
        self.delete_if(&login_failures_pk(email), LOGIN_FAILURES_SK, None)
            .await
            .map(|_| ())
    }
}

fn count_of(item: &Item) -> u32 {
    match item.get("failures") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(1),
        _ => 1,
    }
}
