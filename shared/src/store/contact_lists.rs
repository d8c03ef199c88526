//! Contact lists (the spec's `contactListId`). Items:
//! - the list `TENANT#<t>#LISTS` / `LIST#<listId>`: name and `memberCount`;
//! - its members `TENANT#<t>#LIST#<listId>` / `CONTACT#<contactId>`, each with a copy of the
//!   contact's name and phone, so a campaign reads a page of recipients with one `Query`;
//! - on the contact, the set of its lists (`lists`), so deleting or renaming a contact
//!   reaches its memberships without a search.
//!
//! Adding or removing a member writes the member item, the contact's `lists` (guarded by the
//! contact's `version`, which also keeps the copied name and phone current) and the list's
//! count in one transaction; many members are packed into few transactions.
//!
//! Deleting a list removes the list item and leaves a tombstone (`DELETEDLIST#<listId>`) in
//! one transaction; the members are then removed a page at a time, each contact's `lists`
//! first and the member item after, which keeps the invariant "a list id on a contact has
//! its member item" at every step. A large list is finished by later calls of
//! [`Store::sweep_deleted_lists`]; until then its leftovers are unreachable (the list is gone)
//! and contacts may still name it, which every reader of `lists` allows for.

use super::contacts::{AudienceMember, AudiencePage, ContactItem};
use super::is_id;
use super::keys::*;
use super::table::{self, keyed, on_gsi1, Commit, Cond, Query, Returns, CONCURRENCY};
use super::{n, s, to_item, Store, StoreError, StoreResult, MAX_ATTEMPTS};
use crate::domain::contacts::MAX_LISTS_PER_CONTACT;
use crate::domain::time;
use crate::domain::time::iso;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// Members removed from a deleted list within the `DELETE` request itself; the rest is left
/// to [`Store::sweep_deleted_lists`].
pub const CLEANUP_PER_REQUEST: usize = 1000;
const PAGE: i32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactList {
    #[schema(example = "0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11")]
    pub id: String,
    #[schema(example = "January promo")]
    pub name: String,
    pub member_count: u64,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
}

/// A member as `GET /api/contact-lists/{id}/members` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMember {
    pub contact_id: String,
    #[schema(example = "Ali")]
    pub name: String,
    #[schema(example = "923001234567")]
    pub phone: String,
    #[serde(with = "time::secs")]
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    id: String,
    name: String,
    member_count: i64,
    #[serde(with = "time::secs")]
    created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    updated_at: DateTime<Utc>,
}

impl ListItem {
    fn list(&self) -> ContactList {
        ContactList {
            id: self.id.clone(),
            name: self.name.clone(),
            member_count: u64::try_from(self.member_count).unwrap_or(0),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    member: ListMember,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tombstone {
    tenant_id: String,
    list_id: String,
    #[serde(with = "time::secs")]
    deleted_at: DateTime<Utc>,
}

/// Whether a request adds contacts to a list or removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Add,
    Remove,
}

/// Who to add or remove: a contact id, a normalised phone, or an entry already refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Id(String),
    Phone(String),
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListMemberStatus {
    Added,
    AlreadyMember,
    Removed,
    NotMember,
    NotFound,
    Error,
}

/// The outcome for one entry of an add or remove request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberOutcome {
    pub contact_id: Option<String>,
    pub status: ListMemberStatus,
    pub error: Option<String>,
}

impl MemberOutcome {
    fn of(contact_id: Option<&str>, status: ListMemberStatus) -> Self {
        MemberOutcome {
            contact_id: contact_id.map(str::to_string),
            status,
            error: None,
        }
    }
    fn error(contact_id: Option<&str>, msg: impl Into<String>) -> Self {
        MemberOutcome {
            contact_id: contact_id.map(str::to_string),
            status: ListMemberStatus::Error,
            error: Some(msg.into()),
        }
    }
}

/// What deleting a list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListDeletion {
    pub members_removed: u64,
    /// False when members are left for [`Store::sweep_deleted_lists`].
    pub cleanup_complete: bool,
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub lists_finished: u64,
    pub members_removed: u64,
    /// Deleted lists with members still to remove.
    pub lists_pending: u64,
}

/// The key of a list member item.
pub(crate) fn member_key(tenant_id: &str, list_id: &str, contact_id: &str) -> (String, String) {
    (list_members_pk(tenant_id, list_id), contact_sk(contact_id))
}

/// Moves a list's member count; the list must still exist (a deleted list is never
/// re-created by an update).
pub(crate) fn counter_update(
    table: &str,
    tenant_id: &str,
    list_id: &str,
    delta: i64,
    now: Option<DateTime<Utc>>,
) -> StoreResult<TransactWriteItem> {
    let mut cond = Cond::exists().value(":d", n(delta));
    let expr = match now {
        Some(now) => {
            cond = cond.value(":now", s(iso(now)));
            "ADD memberCount :d SET updatedAt = :now"
        }
        None => "ADD memberCount :d",
    };
    table::update(table, &lists_pk(tenant_id), &list_sk(list_id), expr, cond)
}

/// The contact's `lists` attribute after a change: a set, or removed when empty.
fn set_lists(
    table: &str,
    tenant_id: &str,
    c: &ContactItem,
    lists: &[String],
) -> StoreResult<TransactWriteItem> {
    let cond = Cond::new("version = :v")
        .value(":v", n(c.version))
        .value(":next", n(c.version + 1));
    let (expr, cond) = if lists.is_empty() {
        ("REMOVE lists SET version = :next", cond)
    } else {
        (
            "SET lists = :lists, version = :next",
            cond.value(":lists", AttributeValue::Ss(lists.to_vec())),
        )
    };
    table::update(
        table,
        &contacts_pk(tenant_id),
        &contact_sk(&c.id),
        expr,
        cond,
    )
}

/// Per contact, in request order: its membership change, or its outcome when there is
/// nothing to write.
type Planned = Vec<(String, Result<MemberGroup, MemberOutcome>)>;

/// Plans each contact with `one` (`Err`: nothing to write, this outcome); an unknown
/// contact is `not_found`.
fn plan_members(
    ids: &[String],
    contacts: &HashMap<String, ContactItem>,
    mut one: impl FnMut(
        &str,
        &ContactItem,
    ) -> StoreResult<Result<Vec<TransactWriteItem>, MemberOutcome>>,
) -> StoreResult<Planned> {
    ids.iter()
        .map(|id| {
            let planned = match contacts.get(id) {
                None => Err(MemberOutcome::of(Some(id), ListMemberStatus::NotFound)),
                Some(c) => one(id, c)?,
            };
            let group = |items| MemberGroup {
                contact_id: id.clone(),
                items,
            };
            Ok((id.clone(), planned.map(group)))
        })
        .collect()
}

/// One contact's membership change, ready to pack.
struct MemberGroup {
    contact_id: String,
    items: Vec<TransactWriteItem>,
}

impl Store {
    async fn list_item(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ListItem>> {
        if !is_id(id) {
            return Ok(None);
        }
        self.get(&lists_pk(tenant_id), &list_sk(id)).await
    }

    /// Which of these list ids still name a list.
    pub(crate) async fn existing_lists(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<HashSet<String>> {
        let keys = ids.iter().map(|id| (lists_pk(tenant_id), list_sk(id)));
        let lists: Vec<ListItem> = self.batch_get_as(keys).await?;
        Ok(lists.into_iter().map(|l| l.id).collect())
    }

    pub async fn create_contact_list(
        &self,
        tenant_id: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ContactList> {
        let id = uuid::Uuid::now_v7().to_string();
        let item = ListItem {
            pk: lists_pk(tenant_id),
            sk: list_sk(&id),
            id,
            name: name.to_string(),
            member_count: 0,
            created_at: now,
            updated_at: now,
        };
        let new = Cond::absent();
        if !self.put_if(to_item(&item)?, new).await? {
            return Err(StoreError::Contention("create contact list"));
        }
        Ok(item.list())
    }

    /// A list with its member count; `None` if there is no such list (ids that are not UUIDs
    /// included). **Campaigns** check a `contactListId` with this.
    pub async fn get_contact_list(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<ContactList>> {
        Ok(self.list_item(tenant_id, id).await?.map(|l| l.list()))
    }

    /// Lists newest first, a page at a time.
    pub async fn list_contact_lists(
        &self,
        tenant_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<ContactList>, Option<String>)> {
        let q = Query::prefix(lists_pk(tenant_id), LIST_PREFIX)
            .newest_first()
            .consistent();
        let (lists, next) = self.page::<ListItem>(&q, limit, cursor).await?;
        Ok((lists.iter().map(ListItem::list).collect(), next))
    }

    /// One page of a list's members in contact order (one `Query`).
    async fn members_query(
        &self,
        tenant_id: &str,
        list_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<ListMember>, Option<String>)> {
        let q = Query::prefix(list_members_pk(tenant_id, list_id), CONTACT_PREFIX).consistent();
        let (members, next) = self.page::<MemberItem>(&q, limit, cursor).await?;
        Ok((members.into_iter().map(|m| m.member).collect(), next))
    }

    /// A page of a list's members; `None` if the list does not exist.
    pub async fn list_members(
        &self,
        tenant_id: &str,
        list_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<Option<(Vec<ListMember>, Option<String>)>> {
        if self.list_item(tenant_id, list_id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            self.members_query(tenant_id, list_id, cursor, limit)
                .await?,
        ))
    }

    /// **For campaigns**: one page of a list's members (contact id, name, phone), in contact
    /// order. One strongly consistent `Query` on `TENANT#<t>#LIST#<listId>` reading only
    /// `limit` items; pass the returned cursor to get the next page. It does not check that
    /// the list still exists (use [`Store::get_contact_list`]): members of a list being
    /// deleted can still be returned until its clean-up ends.
    pub async fn list_members_page(
        &self,
        tenant_id: &str,
        list_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<AudiencePage> {
        let (members, next_cursor) = self
            .members_query(tenant_id, list_id, cursor, limit)
            .await?;
        Ok(AudiencePage {
            members: members
                .into_iter()
                .map(|m| AudienceMember {
                    contact_id: m.contact_id,
                    name: m.name,
                    phone: m.phone,
                })
                .collect(),
            next_cursor,
        })
    }

    /// Resolves entries to contact ids: ids as given, phones through their claims.
    async fn resolve_refs(
        &self,
        tenant_id: &str,
        refs: &[MemberRef],
    ) -> StoreResult<Vec<Result<String, MemberOutcome>>> {
        let phones: Vec<String> = refs
            .iter()
            .filter_map(|r| match r {
                MemberRef::Phone(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        let by_phone = if phones.is_empty() {
            HashMap::new()
        } else {
            self.contact_ids_by_phone(tenant_id, &phones).await?
        };
        Ok(refs
            .iter()
            .map(|r| match r {
                MemberRef::Id(id) => Ok(id.clone()),
                MemberRef::Phone(p) => by_phone
                    .get(p)
                    .cloned()
                    .ok_or_else(|| MemberOutcome::of(None, ListMemberStatus::NotFound)),
                MemberRef::Invalid(msg) => Err(MemberOutcome::error(None, msg.clone())),
            })
            .collect())
    }

    /// Adds contacts to a list or removes them from it. `None` if the list does not exist.
    /// One outcome per entry, in order: `added`, `already_member`, `removed`, `not_member`,
    /// `not_found`, or `error` (e.g. the contact is already in 25 lists).
    pub async fn change_list_members(
        &self,
        tenant_id: &str,
        list_id: &str,
        change: MemberChange,
        refs: &[MemberRef],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Vec<MemberOutcome>>> {
        let add = change == MemberChange::Add;
        if self.list_item(tenant_id, list_id).await?.is_none() {
            return Ok(None);
        }
        let resolved = self.resolve_refs(tenant_id, refs).await?;
        let mut pending: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for id in resolved.iter().flatten() {
            if seen.insert(id.clone()) {
                pending.push(id.clone());
            }
        }
        let mut outcomes: HashMap<String, MemberOutcome> = HashMap::new();
        for attempt in 0..MAX_ATTEMPTS as u32 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                table::backoff(attempt).await;
                if self.list_item(tenant_id, list_id).await?.is_none() {
                    for id in pending.drain(..) {
                        let o = MemberOutcome::error(Some(&id), "The contact list was deleted");
                        outcomes.insert(id, o);
                    }
                    break;
                }
            }
            let contacts = self.contact_items(tenant_id, &pending).await?;
            let mut groups = Vec::new();
            let plan = if add {
                self.plan_adds(tenant_id, list_id, &pending, &contacts, now)
                    .await?
            } else {
                self.plan_removals(tenant_id, list_id, &pending, &contacts)?
            };
            for (id, planned) in plan {
                match planned {
                    Ok(g) => groups.push(g),
                    Err(o) => {
                        outcomes.insert(id, o);
                    }
                }
            }
            let mut retry = Vec::new();
            for pack in table::pack(groups, |g| g.items.len(), |_| 1) {
                let delta = i64::try_from(pack.len()).unwrap_or(0);
                let mut items = vec![counter_update(
                    &self.table,
                    tenant_id,
                    list_id,
                    if add { delta } else { -delta },
                    Some(now),
                )?];
                let ids: Vec<String> = pack.iter().map(|g| g.contact_id.clone()).collect();
                items.extend(pack.into_iter().flat_map(|g| g.items));
                match self.commit(items).await? {
                    Commit::Done => {
                        let status = if add {
                            ListMemberStatus::Added
                        } else {
                            ListMemberStatus::Removed
                        };
                        for id in ids {
                            outcomes.insert(id.clone(), MemberOutcome::of(Some(&id), status));
                        }
                    }
                    Commit::Cancelled(_) => retry.extend(ids),
                }
            }
            pending = retry;
        }
        for id in pending {
            let o = MemberOutcome::error(
                Some(&id),
                "Too many concurrent changes to this contact: try again",
            );
            outcomes.insert(id, o);
        }
        // A repeated entry reads as if applied after the first: already in (add) or
        // already out (remove) of the list, unless the first one failed.
        let again = if add {
            ListMemberStatus::AlreadyMember
        } else {
            ListMemberStatus::NotMember
        };
        let mut answered = HashSet::new();
        Ok(Some(
            resolved
                .into_iter()
                .map(|r| match r {
                    Ok(id) => {
                        let first = answered.insert(id.clone());
                        match outcomes.get(&id) {
                            Some(o)
                                if !first
                                    && matches!(
                                        o.status,
                                        ListMemberStatus::Added | ListMemberStatus::Removed
                                    ) =>
                            {
                                MemberOutcome::of(Some(&id), again)
                            }
                            Some(o) => o.clone(),
                            None => MemberOutcome::error(Some(&id), "Not processed: try again"),
                        }
                    }
                    Err(o) => o,
                })
                .collect(),
        ))
    }

    /// Per contact: the items that add it to the list, or its outcome if there is nothing to
    /// write. A contact at the 25-list bound first sheds the ids of lists deleted meanwhile.
    async fn plan_adds(
        &self,
        tenant_id: &str,
        list_id: &str,
        ids: &[String],
        contacts: &HashMap<String, ContactItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Planned> {
        let full: Vec<String> = contacts
            .values()
            .filter(|c| c.lists.len() >= MAX_LISTS_PER_CONTACT)
            .flat_map(|c| c.lists.clone())
            .collect();
        let live = self.existing_lists(tenant_id, &full).await?;
        let t = self.table.as_str();
        plan_members(ids, contacts, |id, c| {
            if c.lists.iter().any(|l| l == list_id) {
                return Ok(Err(MemberOutcome::of(
                    Some(id),
                    ListMemberStatus::AlreadyMember,
                )));
            }
            let mut items = Vec::new();
            let mut lists = c.lists.clone();
            if lists.len() >= MAX_LISTS_PER_CONTACT {
                let (keep, stale): (Vec<String>, Vec<String>) =
                    lists.into_iter().partition(|l| live.contains(l));
                for gone in &stale {
                    let (pk, sk) = member_key(tenant_id, gone, id);
                    items.push(table::delete(t, &pk, &sk, None)?);
                }
                lists = keep;
            }
            if lists.len() >= MAX_LISTS_PER_CONTACT {
                let full = format!("The contact is already in {MAX_LISTS_PER_CONTACT} lists");
                return Ok(Err(MemberOutcome::error(Some(id), full)));
            }
            lists.push(list_id.to_string());
            let member = MemberItem {
                pk: list_members_pk(tenant_id, list_id),
                sk: contact_sk(id),
                member: ListMember {
                    contact_id: id.to_string(),
                    name: c.name.clone(),
                    phone: c.phone.clone(),
                    added_at: now,
                },
            };
            items.push(table::put(t, to_item(&member)?, Some(Cond::absent()))?);
            items.push(set_lists(t, tenant_id, c, &lists)?);
            Ok(Ok(items))
        })
    }

    fn plan_removals(
        &self,
        tenant_id: &str,
        list_id: &str,
        ids: &[String],
        contacts: &HashMap<String, ContactItem>,
    ) -> StoreResult<Planned> {
        let t = self.table.as_str();
        plan_members(ids, contacts, |id, c| {
            if !c.lists.iter().any(|l| l == list_id) {
                return Ok(Err(MemberOutcome::of(
                    Some(id),
                    ListMemberStatus::NotMember,
                )));
            }
            let lists: Vec<String> = c.lists.iter().filter(|l| *l != list_id).cloned().collect();
            let (pk, sk) = member_key(tenant_id, list_id, id);
            Ok(Ok(vec![
                table::delete(t, &pk, &sk, Some(Cond::exists()))?,
                set_lists(t, tenant_id, c, &lists)?,
            ]))
        })
    }

    /// Deletes a list: the list item goes and a tombstone comes in one transaction, then up
    /// to [`CLEANUP_PER_REQUEST`] members are removed at once. `None` if there is no such list.
    pub async fn delete_contact_list(
        &self,
        tenant_id: &str,
        list_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ListDeletion>> {
        self.delete_contact_list_within(tenant_id, list_id, now, CLEANUP_PER_REQUEST)
            .await
    }

    /// [`Store::delete_contact_list`] removing at most `budget` members at once.
    pub async fn delete_contact_list_within(
        &self,
        tenant_id: &str,
        list_id: &str,
        now: DateTime<Utc>,
        budget: usize,
    ) -> StoreResult<Option<ListDeletion>> {
        let found = table::retry("delete contact list", |_| async move {
            if self.list_item(tenant_id, list_id).await?.is_none() {
                return Ok(Some(false));
            }
            let tombstone = Tombstone {
                tenant_id: tenant_id.to_string(),
                list_id: list_id.to_string(),
                deleted_at: now,
            };
            // On GSI1 by deletion time, so the sweep finds every pending clean-up.
            let tombstone = on_gsi1(
                keyed(&tombstone, lists_pk(tenant_id), deleted_list_sk(list_id))?,
                DELETED_LISTS_GSI1PK,
                format!("{}#{tenant_id}#{list_id}", iso(now)),
            );
            let items = vec![
                table::delete(
                    &self.table,
                    &lists_pk(tenant_id),
                    &list_sk(list_id),
                    Some(Cond::exists()),
                )?,
                table::put(&self.table, tombstone, None)?,
            ];
            Ok((self.commit(items).await? == Commit::Done).then_some(true))
        })
        .await?;
        if !found {
            return Ok(None);
        }
        // The list is gone either way; a failed clean-up is left to the sweep.
        let (members_removed, cleanup_complete) =
            match self.clean_deleted_list(tenant_id, list_id, budget).await {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!(error = %e, list_id, "list clean-up left to the sweep");
                    (0, false)
                }
            };
        Ok(Some(ListDeletion {
            members_removed,
            cleanup_complete,
        }))
    }

    /// Removes up to `budget` members of a deleted list: each contact forgets the list, then
    /// the member items go. Idempotent; when nothing is left the tombstone goes too.
    /// Returns the members removed and whether the list is finished.
    async fn clean_deleted_list(
        &self,
        tenant_id: &str,
        list_id: &str,
        budget: usize,
    ) -> StoreResult<(u64, bool)> {
        let mut removed = 0usize;
        loop {
            let want = i32::try_from((budget - removed).min(PAGE as usize)).unwrap_or(PAGE);
            if want == 0 {
                return Ok((removed as u64, false));
            }
            let (page, next) = self.members_query(tenant_id, list_id, None, want).await?;
            // Futures collected first: a lazy `map` in the stream trips up `Send` inference.
            let forgets: Vec<_> = page
                .iter()
                .map(|m| self.forget_list(tenant_id, &m.contact_id, list_id))
                .collect();
            let results = stream::iter(forgets)
                .buffer_unordered(CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            results.into_iter().collect::<StoreResult<Vec<()>>>()?;
            let keys: Vec<(String, String)> = page
                .iter()
                .map(|m| member_key(tenant_id, list_id, &m.contact_id))
                .collect();
            self.batch_delete(&keys).await?;
            removed += page.len();
            if next.is_none() {
                self.delete_if(&lists_pk(tenant_id), &deleted_list_sk(list_id), None)
                    .await?;
                return Ok((removed as u64, true));
            }
        }
    }

    /// Takes a deleted list off a contact's `lists` (no-op if the contact is gone or has
    /// already forgotten it).
    async fn forget_list(
        &self,
        tenant_id: &str,
        contact_id: &str,
        list_id: &str,
    ) -> StoreResult<()> {
        // Refused: the contact is gone or has forgotten the list already.
        self.update_if(
            &contacts_pk(tenant_id),
            &contact_sk(contact_id),
            "DELETE lists :set ADD version :one",
            Cond::new("attribute_exists(PK) AND contains(lists, :id)")
                .value(":set", AttributeValue::Ss(vec![list_id.to_string()]))
                .value(":id", s(list_id))
                .value(":one", n(1)),
            Returns::NOTHING,
        )
        .await?;
        Ok(())
    }

    /// Continues the clean-up of deleted lists (all tenants), oldest first, removing up to
    /// `budget` members in all. Meant for a periodic job (e.g. the every-minute schedule);
    /// safe to run concurrently with anything, and with itself.
    pub async fn sweep_deleted_lists(&self, budget: usize) -> StoreResult<SweepReport> {
        let mut report = SweepReport::default();
        let q = Query::index(GSI1, DELETED_LISTS_GSI1PK);
        let (tombstones, _) = self.query_page::<Tombstone>(&q, 100, None).await?;
        let mut left = budget;
        for t in tombstones {
            if left == 0 {
                report.lists_pending += 1;
                continue;
            }
            let (removed, done) = self
                .clean_deleted_list(&t.tenant_id, &t.list_id, left)
                .await?;
            left = left.saturating_sub(removed as usize);
            report.members_removed += removed;
            if done {
                report.lists_finished += 1;
            } else {
                report.lists_pending += 1;
            }
        }
        Ok(report)
    }
}
