//! A tenant's team: memberships of users, one role each. Each member is one seat of the
//! plan, taken in the transaction that invites and given back in the one that removes.
//!
//! The member item `TENANT#<t>` / `MEMBER#<userId>` is also on GSI1 under its user, so the
//! tenants a user may sign in to are one query.

use super::keys::*;
use super::table::{self, keyed, on_gsi1, Commit, Cond, Query, Returns, Written};
use super::usage::{release_in_transaction, reserve_in_transaction};
use super::users::{new_user_items, AuthToken};
use super::{from_item, s, Store, StoreError, StoreResult};
use crate::domain::quota::Limit;
pub use crate::domain::roles::Role;
use crate::domain::time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `invited` until the user accepts the invitation (and so has a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Invited,
    #[default]
    Active,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The user's id (the same in every tenant the user belongs to).
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub status: MemberStatus,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
}

/// One tenant a user belongs to, as the membership index lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub tenant_id: String,
    pub role: Role,
}

/// Who is invited: an existing user (by id) or a new one.
pub struct Invitee {
    pub existing_user: Option<String>,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
}

pub enum Invite {
    Invited(Member),
    SeatLimitReached { cap: u32 },
    AlreadyMember,
}

impl Store {
    /// Adds a member, taking one seat, with the invitation token, atomically; a new e-mail
    /// also becomes a user (without a password until the invitation is accepted).
    pub async fn invite_member(
        &self,
        tenant_id: &str,
        invitee: &Invitee,
        invitation: &AuthToken,
        cap: Option<u32>,
        now: DateTime<Utc>,
    ) -> StoreResult<Invite> {
        let user_id = invitee
            .existing_user
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let member = Member {
            id: user_id.clone(),
            email: invitee.email.clone(),
            name: invitee.name.clone(),
            role: invitee.role,
            status: if invitee.existing_user.is_some() {
                MemberStatus::Active
            } else {
                MemberStatus::Invited
            },
            created_at: now,
        };
        let pk = tenant_pk(tenant_id);
        let mut item = keyed(&member, &pk, member_sk(&user_id))?;
        item.insert("tenantId".into(), s(tenant_id));
        let item = on_gsi1(item, memberships_gsi1pk(&user_id), tenant_id);
        let mut token = invitation.clone();
        token.user_id = user_id.clone();
        let mut writes = vec![
            reserve_in_transaction(&self.table, tenant_id, Limit::Seats, cap, now)?,
            table::put(&self.table, item, Some(Cond::absent()))?,
            table::put(&self.table, token.item()?, Some(Cond::absent()))?,
        ];
        if invitee.existing_user.is_none() {
            writes.extend(new_user_items(
                &self.table,
                &user_id,
                &invitee.email,
                invitee.name.as_deref(),
                now,
            )?);
        }
        let commit = self.commit(writes).await?;
        if commit == Commit::Done {
            return Ok(Invite::Invited(member));
        }
        if commit.condition_failed_at(1) {
            return Ok(Invite::AlreadyMember);
        }
        match (commit.condition_failed_at(0), cap) {
            (true, Some(cap)) => Ok(Invite::SeatLimitReached { cap }),
            _ => Err(StoreError::Contention("invite team member")),
        }
    }

    /// Every member, in id (creation) order.
    pub async fn list_team_members(&self, tenant_id: &str) -> StoreResult<Vec<Member>> {
        self.query_prefix_all(tenant_pk(tenant_id), MEMBER_PREFIX)
            .await
    }

    pub async fn get_team_member(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<Member>> {
        self.get(&tenant_pk(tenant_id), &member_sk(user_id)).await
    }

    /// The tenants a user belongs to, and the role in each.
    pub async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        self.query_all(Query::index(GSI1, memberships_gsi1pk(user_id)))
            .await
    }

    /// Changes a member's role; `None` if there is no such member.
    pub async fn set_member_role(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: Role,
    ) -> StoreResult<Option<(Role, Member)>> {
        let cond = Cond::exists()
            .value(":r", s(role.as_str()))
            .name("#r", "role")
            .returning_old();
        let written = self
            .update_if(
                &tenant_pk(tenant_id),
                &member_sk(user_id),
                "SET #r = :r",
                cond,
                Returns::OLD,
            )
            .await?;
        let Written::Applied(old) = written else {
            return Ok(None);
        };
        let mut member: Member = from_item(old)?;
        let before = member.role;
        member.role = role;
        Ok(Some((before, member)))
    }

    /// Marks an invited member active (the invitation was accepted).
    pub(crate) fn activate_member(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> StoreResult<aws_sdk_dynamodb::types::TransactWriteItem> {
        table::update(
            &self.table,
            &tenant_pk(tenant_id),
            &member_sk(user_id),
            "SET #st = :active",
            Cond::exists()
                .name("#st", "status")
                .value(":active", s("active")),
        )
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
        let writes = vec![
            table::delete(
                &self.table,
                &pk,
                &member_sk(member_id),
                Some(Cond::exists()),
            )?,
            release_in_transaction(&self.table, tenant_id, Limit::Seats, now)?,
            // Members added before users existed kept their e-mail unique with this item.
            table::delete(&self.table, &pk, &member_email_sk(&member.email), None)?,
        ];
        match self.commit(writes).await? {
            Commit::Done => Ok(Some(member)),
            // Removed meanwhile by another request.
            c if c.condition_failed_at(0) => Ok(None),
            _ => Err(StoreError::Contention("remove team member")),
        }
    }
}
