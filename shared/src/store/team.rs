//! Team Inbox members: each is one seat of the plan, taken in the same transaction that
//! creates the member and given back in the one that removes it.

use super::keys::*;
use super::table::{self, keyed, Commit, Cond};
use super::usage::{release_in_transaction, reserve_in_transaction};
use super::{s, Item, Store, StoreError, StoreResult};
use crate::domain::quota::Limit;
use crate::domain::time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The spec's roles: agents see and answer their conversations, managers see all and
/// assign, admins manage the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Manager,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: Role,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
}

pub enum AddMember {
    Added(Member),
    SeatLimitReached { cap: u32 },
    EmailTaken,
}

impl Store {
    /// Adds a member, taking one seat, atomically; the e-mail must be new to the tenant.
    pub async fn add_team_member(
        &self,
        tenant_id: &str,
        member: Member,
        cap: Option<u32>,
        now: DateTime<Utc>,
    ) -> StoreResult<AddMember> {
        let pk = tenant_pk(tenant_id);
        let item = keyed(&member, &pk, member_sk(&member.id))?;
        let email: Item = [
            (PK.to_string(), s(&pk)),
            (SK.to_string(), s(member_email_sk(&member.email))),
            ("memberId".to_string(), s(&member.id)),
        ]
        .into();
        let new = || Some(Cond::absent());
        let writes = vec![
            reserve_in_transaction(&self.table, tenant_id, Limit::Seats, cap, now)?,
            table::put(&self.table, item, new())?,
            table::put(&self.table, email, new())?,
        ];
        let commit = self.commit(writes).await?;
        if commit == Commit::Done {
            return Ok(AddMember::Added(member));
        }
        if commit.condition_failed_at(2) {
            return Ok(AddMember::EmailTaken);
        }
        match (commit.condition_failed_at(0), cap) {
            (true, Some(cap)) => Ok(AddMember::SeatLimitReached { cap }),
            _ => Err(StoreError::Contention("add team member")),
        }
    }

    /// Every member, in id (creation) order.
    pub async fn list_team_members(&self, tenant_id: &str) -> StoreResult<Vec<Member>> {
        self.query_prefix_all(tenant_pk(tenant_id), MEMBER_PREFIX)
            .await
    }

    /// Removes a member and gives its seat back. `None` if there was no such member.
    pub async fn remove_team_member(
        &self,
        tenant_id: &str,
        member_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Member>> {
        let pk = tenant_pk(tenant_id);
        let Some(member) = self.get::<Member>(&pk, &member_sk(member_id)).await? else {
            return Ok(None);
        };
        let delete = |sk: String| table::delete(&self.table, &pk, &sk, Some(Cond::exists()));
        let writes = vec![
            delete(member_sk(member_id))?,
            delete(member_email_sk(&member.email))?,
            release_in_transaction(&self.table, tenant_id, Limit::Seats, now)?,
        ];
        match self.commit(writes).await? {
            Commit::Done => Ok(Some(member)),
            // Removed meanwhile by another request.
            c if c.condition_failed_at(0) => Ok(None),
            _ => Err(StoreError::Contention("remove team member")),
        }
    }
}
