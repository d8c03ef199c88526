//! The Team Inbox's items around conversations (docs/inbox.md):
//!
//! - **Listing entries**: one small item per listing partition the conversation is in
//!   (`domain::inbox::partitions_of`: status, assignee, device and label, each its value or
//!   "any"), sorted by last activity. Any combination of filters is one partition, so a page
//!   is one `Query` of exactly that many entries and one `BatchGetItem` of their
//!   conversations.
//! - **Search entries** (`q`): by phone and by folded name, per status × assignee × device
//!   (× label); their keys change only with status, assignee, labels or name, never with a
//!   message.
//! - Entries are written right after the conversation's transaction, each a single
//!   conditional write carrying the conversation version that wrote it (a slow writer never
//!   overwrites or deletes a newer one's); a page shows an entry only if its conversation,
//!   as the page read it, is still there (`domain::inbox::entry_verdict`) and removes the
//!   leftovers of races.
//! - **Counters**: one item per tenant, `<status>_all`, `<status>_none` (unassigned) and
//!   `<status>_u_<userId>`, moved by `ADD` in the conversation's transaction when its
//!   status or assignee changes.
//! - **Snoozes**: a global partition by end time for the minute job.
//! - A **pointer** by conversation id (device and peer), written once.

use super::conversations::{conversation_item, Conversation, ConversationStatus};
use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Query, CONCURRENCY};
use super::{from_item, n, s, Item, Store, StoreError, StoreResult};
use crate::domain::inbox::{self as rules, EntryVerdict, Search};
use crate::domain::time;
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use utoipa::ToSchema;

/// The conversation a pointer stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryRef {
    peer: String,
    device_id: String,
}

/// A listing or search entry: its conversation and the conversation version that wrote it
/// (none on entries written before entries had one).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "PK", default, skip_serializing)]
    pk: String,
    #[serde(rename = "SK", default, skip_serializing)]
    sk: String,
    peer: String,
    device_id: String,
    #[serde(default)]
    version: Option<u64>,
}

type Key = (String, String);

fn entry_keys(c: &Conversation) -> BTreeSet<Key> {
    let sk = rules::activity_sk(c.listed(), &c.id);
    rules::partitions_of(
        c.status.as_str(),
        c.assigned_to.as_deref(),
        &c.device_id,
        &c.labels,
    )
    .into_iter()
    .map(|p| (inbox_pk(&c.tenant_id, &p), sk.clone()))
    .collect()
}

fn search_keys(c: &Conversation) -> BTreeSet<Key> {
    let name = c.search_name();
    let mut out = BTreeSet::new();
    for p in rules::search_partitions_of(
        c.status.as_str(),
        c.assigned_to.as_deref(),
        &c.device_id,
        &c.labels,
    ) {
        let pk = inbox_search_pk(&c.tenant_id, &p);
        out.insert((pk.clone(), inbox_phone_sk(&c.peer, &c.id)));
        if let Some(name) = &name {
            out.insert((pk, inbox_name_sk(name, &c.id)));
        }
    }
    out
}

/// Every entry (listing and search) of a conversation's state.
fn all_entry_keys(c: &Conversation) -> BTreeSet<Key> {
    let mut keys = entry_keys(c);
    keys.extend(search_keys(c));
    keys
}

/// The search entries of the earlier form, per status × assignee only (before search had a
/// device dimension): what a reindex removes.
fn earlier_search_keys(c: &Conversation) -> BTreeSet<Key> {
    let assignee = c.assigned_to.as_deref().unwrap_or(rules::UNASSIGNED);
    let name = c.search_name();
    let mut out = BTreeSet::new();
    for status in [c.status.as_str(), rules::ANY] {
        for a in [assignee, rules::ANY] {
            let pk = inbox_search_pk(&c.tenant_id, &format!("{status}#{a}"));
            out.insert((pk.clone(), inbox_phone_sk(&c.peer, &c.id)));
            if let Some(name) = &name {
                out.insert((pk, inbox_name_sk(name, &c.id)));
            }
        }
    }
    out
}

/// Runs single writes `CONCURRENCY` at a time: how many were applied (not refused by
/// their condition); the first error.
async fn count_done(
    writes: Vec<impl std::future::Future<Output = StoreResult<bool>>>,
) -> StoreResult<u64> {
    let done: Vec<bool> = stream::iter(writes)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(done.into_iter().filter(|d| *d).count() as u64)
}

/// What a reindex did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReindexReport {
    /// Conversations read.
    pub conversations: u64,
    /// Conversations whose entries were written.
    pub written: u64,
    /// Entries of older states removed on the way.
    pub removed: u64,
}

/// The counter attributes a conversation counts in.
fn counter_names(status: ConversationStatus, assignee: Option<&str>) -> Vec<String> {
    let s = status.as_str();
    vec![
        format!("{s}_all"),
        match assignee {
            None => format!("{s}_none"),
            Some(u) => format!("{s}_u_{u}"),
        },
    ]
}

fn snooze_key(c: &Conversation) -> Option<Key> {
    match (c.status, c.snoozed_until) {
        (ConversationStatus::Snoozed, Some(until)) => Some((
            SNOOZES_PK.to_string(),
            snooze_sk(until.timestamp(), &c.tenant_id, &c.id),
        )),
        _ => None,
    }
}

/// The inbox counts of one status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusCounts {
    pub mine: u64,
    pub unassigned: u64,
    pub all: u64,
}

/// A snooze that is due.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueSnooze {
    pub tenant_id: String,
    pub peer: String,
    pub device_id: String,
}

/// Who wrote a note or sent a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Author {
    /// `user` or `key`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A private note: never sent to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: String,
    pub tenant_id: String,
    pub conversation_id: String,
    pub peer: String,
    pub device_id: String,
    pub text: String,
    pub author: Author,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
}

/// One entry of a conversation's thread.
#[derive(Debug, Clone)]
pub enum ThreadItem {
    Message(Box<super::messages::Message>),
    Note(Note),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CannedResponse {
    pub id: String,
    #[schema(example = "thanks")]
    pub shortcut: String,
    #[schema(example = "Thank you {{name}}, we are on it.")]
    pub text: String,
    #[schema(value_type = String)]
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String)]
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoAssign {
    #[default]
    Off,
    RoundRobin,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboxSettings {
    #[serde(default)]
    pub auto_assign: AutoAssign,
    /// Agents with this many open conversations are skipped (none: no limit).
    #[serde(default)]
    pub max_open_per_agent: Option<u32>,
    /// The member the last automatic assignment went to (round robin goes on after them).
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    pub last_assigned: Option<String>,
}

impl Store {
    /// The writes that store `next` (the conversation as `prev` was read: `None` for a new
    /// one, guarded by its version) with its counters and snooze, for one transaction (at
    /// most 6 items). The conversation's put is the first write. Its listing and search
    /// entries follow with [`Store::write_entries`] once the transaction is done.
    pub(crate) fn conversation_writes(
        &self,
        prev: Option<&Conversation>,
        next: &Conversation,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let t = &self.table;
        let cond = match prev {
            None => Cond::absent(),
            Some(p) => Cond::new("version = :v").value(":v", n(p.version)),
        };
        let mut w = vec![table::put(t, conversation_item(next)?, Some(cond))?];
        if prev.is_none() {
            let pointer = EntryRef {
                peer: next.peer.clone(),
                device_id: next.device_id.clone(),
            };
            let pk = conversation_id_pk(&next.tenant_id, &next.id);
            w.push(table::put(
                t,
                keyed(&pointer, pk, CONVERSATION_ID_SK)?,
                None,
            )?);
        }
        // Counters: the net change per attribute (an attribute may appear once in `ADD`).
        let mut delta: BTreeMap<String, i64> = BTreeMap::new();
        if let Some(p) = prev {
            for a in counter_names(p.status, p.assigned_to.as_deref()) {
                *delta.entry(a).or_default() -= 1;
            }
        }
        for a in counter_names(next.status, next.assigned_to.as_deref()) {
            *delta.entry(a).or_default() += 1;
        }
        delta.retain(|_, d| *d != 0);
        if !delta.is_empty() {
            let mut cond = Cond::none();
            let mut parts = Vec::new();
            for (i, (attr, d)) in delta.iter().enumerate() {
                parts.push(format!("#c{i} :c{i}"));
                cond = cond
                    .name(&format!("#c{i}"), attr)
                    .value(&format!(":c{i}"), n(d));
            }
            let expr = format!("ADD {}", parts.join(", "));
            let pk = tenant_pk(&next.tenant_id);
            w.push(table::update(t, &pk, INBOX_COUNTS_SK, &expr, cond)?);
        }
        let (old, new) = (prev.and_then(snooze_key), snooze_key(next));
        if old != new {
            if let Some((pk, sk)) = old {
                w.push(table::delete(t, &pk, &sk, None)?);
            }
            if let Some((pk, sk)) = new {
                let due = serde_json::json!({
                    "tenantId": next.tenant_id, "peer": next.peer, "deviceId": next.device_id,
                });
                w.push(table::put(t, keyed(&due, pk, sk)?, None)?);
            }
        }
        Ok(w)
    }

    /// Writes the listing and search entries of `next` (stored) that `prev` (the state it
    /// replaced; `None`: every entry of `next`, to repair) did not have, then deletes those
    /// of `prev` that `next` does not have: single writes in parallel, 1 WCU each. Each put
    /// carries `next`'s version and yields to an entry a newer version wrote; each delete
    /// takes only an entry written by `prev`'s version or before. Puts go first, so a
    /// writer that stops half way leaves the conversation findable (by `reindex`).
    pub async fn write_entries(
        &self,
        prev: Option<&Conversation>,
        next: &Conversation,
    ) -> StoreResult<()> {
        let new = all_entry_keys(next);
        let old = prev.map(all_entry_keys).unwrap_or_default();
        self.put_entries(next, new.difference(&old).cloned().collect())
            .await?;
        if let Some(p) = prev {
            let gone = old.difference(&new).cloned().collect();
            self.delete_entries(gone, p.version).await?;
        }
        Ok(())
    }

    /// Puts `keys` as entries of `c`, unless a newer version wrote them (`rules::put_wins`).
    /// How many were written.
    async fn put_entries(&self, c: &Conversation, keys: Vec<Key>) -> StoreResult<u64> {
        let writes: Vec<_> = keys.into_iter().map(|k| self.put_entry(c, k)).collect();
        count_done(writes).await
    }

    async fn put_entry(&self, c: &Conversation, (pk, sk): Key) -> StoreResult<bool> {
        let entry = Entry {
            pk: String::new(),
            sk: String::new(),
            peer: c.peer.clone(),
            device_id: c.device_id.clone(),
            version: Some(c.version),
        };
        let cond =
            Cond::new("attribute_not_exists(version) OR version < :v").value(":v", n(c.version));
        self.put_if(keyed(&entry, pk, sk)?, cond).await
    }

    /// Deletes the entries at `keys` that version `up_to` or an earlier one wrote
    /// (`rules::delete_wins`). How many went.
    async fn delete_entries(&self, keys: Vec<Key>, up_to: u64) -> StoreResult<u64> {
        let deletes: Vec<_> = keys
            .into_iter()
            .map(|(pk, sk)| {
                let cond = Cond::new(
                    "attribute_exists(PK) AND (attribute_not_exists(version) OR version <= :v)",
                )
                .value(":v", n(up_to));
                self.delete_owned(pk, sk, cond)
            })
            .collect();
        count_done(deletes).await
    }

    async fn delete_owned(&self, pk: String, sk: String, cond: Cond) -> StoreResult<bool> {
        self.delete_if(&pk, &sk, Some(cond)).await
    }

    /// Stores `next` over `prev` (as read), then its entries. `false`: the conversation
    /// changed since (nothing written). An error after the transaction leaves the entries
    /// behind: the caller answers it, and a retry (which finds nothing to change) rewrites
    /// them with [`Store::write_entries`] from `None`.
    pub async fn save_conversation(
        &self,
        prev: &Conversation,
        next: &Conversation,
    ) -> StoreResult<bool> {
        if !self.commit_conversation(prev, next).await? {
            return Ok(false);
        }
        self.write_entries(Some(prev), next).await?;
        Ok(true)
    }

    /// The conversation's transaction alone (no entries): `false` if it changed since.
    pub async fn commit_conversation(
        &self,
        prev: &Conversation,
        next: &Conversation,
    ) -> StoreResult<bool> {
        let writes = self.conversation_writes(Some(prev), next)?;
        let commit = self.commit(writes).await?;
        if commit == Commit::Done {
            return Ok(true);
        }
        commit.done_or_lost("save conversation")?;
        Ok(false)
    }

    /// Reads a conversation, changes it with `change` and stores it with its entries and
    /// counters, again from a fresh read when something else changed it meanwhile. `None` if
    /// there is no such conversation.
    async fn change_conversation(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        what: &'static str,
        change: impl Fn(&Conversation) -> Conversation,
    ) -> StoreResult<Option<Conversation>> {
        for _ in 0..5 {
            let Some(prev) = self.get_conversation(tenant_id, device_id, peer).await? else {
                return Ok(None);
            };
            let next = Conversation {
                version: prev.version + 1,
                ..change(&prev)
            };
            if self.save_conversation(&prev, &next).await? {
                return Ok(Some(next));
            }
        }
        Err(StoreError::Contention(what))
    }

    /// Sets a conversation's status (read, then stored with its entries and counters).
    /// `None` if there is no such conversation.
    pub async fn set_conversation_status(
        &self,
        tenant_id: &str,
        device_id: &str,
        peer: &str,
        status: ConversationStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Conversation>> {
        self.change_conversation(tenant_id, device_id, peer, "conversation status", |c| {
            Conversation {
                status,
                updated_at: now,
                ..c.clone()
            }
        })
        .await
    }

    /// A conversation by its id: the pointer, then the conversation (two reads).
    pub async fn conversation_by_id(
        &self,
        tenant_id: &str,
        conversation_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        if !super::is_id(conversation_id) {
            return Ok(None);
        }
        let pk = conversation_id_pk(tenant_id, conversation_id);
        let Some(r) = self.get::<EntryRef>(&pk, CONVERSATION_ID_SK).await? else {
            return Ok(None);
        };
        self.get_conversation(tenant_id, &r.device_id, &r.peer)
            .await
    }

    /// Conversations by their entries' keys (one `BatchGetItem`).
    async fn conversations_of(
        &self,
        tenant_id: &str,
        entries: &[Entry],
    ) -> StoreResult<HashMap<Key, Conversation>> {
        let keys: BTreeSet<Key> = entries
            .iter()
            .map(|e| (e.peer.clone(), e.device_id.clone()))
            .collect();
        let keys: Vec<Key> = keys
            .iter()
            .map(|(peer, device)| (peer_pk(tenant_id, peer), conversation_sk(device)))
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get(&keys, false).await? {
            let c: Conversation = from_item(item)?;
            found.insert((c.peer.clone(), c.device_id.clone()), c);
        }
        Ok(found)
    }

    /// The conversations of a page of entries, in the entries' order: one `BatchGetItem`.
    /// Only entries their conversation (as read) still has are shown; the leftovers of an
    /// older state are deleted (if still the version read), so a race answers a short page
    /// (with its `nextCursor`) once, and no later page sees them again.
    async fn shown(&self, tenant_id: &str, entries: Vec<Entry>) -> StoreResult<Vec<Conversation>> {
        let mut found = self.conversations_of(tenant_id, &entries).await?;
        let mut shown = Vec::new();
        let mut stale = Vec::new();
        for e in entries {
            // Not found: an eventually consistent read may miss a conversation just made.
            let Some(c) = found.get(&(e.peer.clone(), e.device_id.clone())) else {
                continue;
            };
            let belongs = all_entry_keys(c).contains(&(e.pk.clone(), e.sk.clone()));
            match rules::entry_verdict(belongs, e.version.unwrap_or(0), c.version) {
                EntryVerdict::Show => shown.push((e.peer, e.device_id)),
                EntryVerdict::Remove => stale.push(e),
                EntryVerdict::Skip => {}
            }
        }
        self.remove_stale(stale).await?;
        Ok(shown.into_iter().filter_map(|k| found.remove(&k)).collect())
    }

    /// Deletes entries a page found stale, each only if it is still the version read.
    async fn remove_stale(&self, stale: Vec<Entry>) -> StoreResult<u64> {
        if !stale.is_empty() {
            tracing::info!(count = stale.len(), "stale inbox entries removed");
        }
        let deletes: Vec<_> = stale
            .into_iter()
            .map(|e| {
                let cond = match e.version {
                    Some(v) => Cond::new("version = :v").value(":v", n(v)),
                    None => Cond::new("attribute_exists(PK) AND attribute_not_exists(version)"),
                };
                self.delete_owned(e.pk, e.sk, cond)
            })
            .collect();
        count_done(deletes).await
    }

    /// A page of one listing partition, most recent activity first: one `Query` of `limit`
    /// entries and one `BatchGetItem` of their conversations.
    pub async fn list_inbox(
        &self,
        tenant_id: &str,
        partition: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<Conversation>, Option<String>)> {
        let q = Query::partition(inbox_pk(tenant_id, partition)).newest_first();
        let (entries, next) = self.page::<Entry>(&q, limit, cursor).await?;
        Ok((self.shown(tenant_id, entries).await?, next))
    }

    /// A page of the conversations whose phone or name starts with the search, in phone or
    /// name order, within a status × assignee × device (× label) search partition.
    pub async fn search_inbox(
        &self,
        tenant_id: &str,
        partition: &str,
        search: &Search,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<Conversation>, Option<String>)> {
        let prefix = match search {
            Search::Phone(d) => format!("P#{d}"),
            Search::Name(n) => format!("N#{n}"),
        };
        let q = Query::prefix(inbox_search_pk(tenant_id, partition), prefix);
        let (entries, next) = self.page::<Entry>(&q, limit, cursor).await?;
        Ok((self.shown(tenant_id, entries).await?, next))
    }

    /// Rewrites every conversation's listing and search entries from the conversations
    /// (found through the "any" listing partition and the "any" phone search partition,
    /// stale entries included), removes the entries of older states it walks past and the
    /// search entries of the earlier form (before search had its device dimension). Entry
    /// writes are guarded by version as every writer's are; safe to run again.
    pub async fn reindex_inbox(&self, tenant_id: &str) -> StoreResult<ReindexReport> {
        let any = rules::ANY;
        let walks = [
            Query::partition(inbox_pk(tenant_id, &rules::partition(any, any, any, any))),
            Query::prefix(
                inbox_search_pk(tenant_id, &rules::search_partition(any, any, any, any)),
                "P#",
            ),
        ];
        let mut report = ReindexReport::default();
        let mut seen: HashSet<Key> = HashSet::new();
        for q in walks {
            let mut cursor = None;
            loop {
                let (entries, next) = self.page::<Entry>(&q, 100, cursor.as_deref()).await?;
                let found = self.conversations_of(tenant_id, &entries).await?;
                let mut stale = Vec::new();
                for e in entries {
                    let key = (e.peer.clone(), e.device_id.clone());
                    let Some(c) = found.get(&key) else {
                        continue;
                    };
                    let belongs = all_entry_keys(c).contains(&(e.pk.clone(), e.sk.clone()));
                    let verdict = rules::entry_verdict(belongs, e.version.unwrap_or(0), c.version);
                    if verdict == EntryVerdict::Remove {
                        stale.push(e);
                    }
                    if seen.insert(key) {
                        report.conversations += 1;
                        let all = all_entry_keys(c).into_iter().collect();
                        self.put_entries(c, all).await?;
                        let earlier = earlier_search_keys(c).into_iter().collect();
                        report.removed += self.delete_entries(earlier, c.version).await?;
                        report.written += 1;
                    }
                }
                report.removed += self.remove_stale(stale).await?;
                cursor = next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        Ok(report)
    }

    /// The counters, for `me` (a member's id) if there is one: one `GetItem`.
    pub async fn inbox_counts(
        &self,
        tenant_id: &str,
        me: Option<&str>,
    ) -> StoreResult<Vec<(ConversationStatus, StatusCounts)>> {
        let item: Option<HashMap<String, serde_json::Value>> =
            self.get(&tenant_pk(tenant_id), INBOX_COUNTS_SK).await?;
        let item = item.unwrap_or_default();
        let count = |k: String| {
            item.get(&k)
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0)
                .max(0) as u64
        };
        Ok(ConversationStatus::ALL
            .into_iter()
            .map(|st| {
                let s = st.as_str();
                (
                    st,
                    StatusCounts {
                        mine: me.map_or(0, |u| count(format!("{s}_u_{u}"))),
                        unassigned: count(format!("{s}_none")),
                        all: count(format!("{s}_all")),
                    },
                )
            })
            .collect())
    }

    /// Open conversations per member (the counters item): for auto-assignment.
    pub async fn open_per_member(&self, tenant_id: &str) -> StoreResult<HashMap<String, u64>> {
        let item: Option<HashMap<String, serde_json::Value>> =
            self.get(&tenant_pk(tenant_id), INBOX_COUNTS_SK).await?;
        Ok(item
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| {
                let u = k.strip_prefix("open_u_")?;
                Some((u.to_string(), v.as_i64().unwrap_or(0).max(0) as u64))
            })
            .collect())
    }

    /// Snoozes ending at or before `now`, oldest first, at most `limit`.
    pub async fn due_snoozes(&self, now: DateTime<Utc>, limit: i32) -> StoreResult<Vec<DueSnooze>> {
        let q = Query::partition(SNOOZES_PK).at_most(format!("{:012}#~", now.timestamp()));
        Ok(self.query_page::<DueSnooze>(&q, limit, None).await?.0)
    }

    /// Stores a private note in its conversation's history.
    pub async fn add_note(&self, note: &Note) -> StoreResult<()> {
        let mut item = keyed(note, note_pk(&note.tenant_id, &note.id), NOTE_SK)?;
        item.insert(
            "private".into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(true),
        );
        // In the history like an outbound message without a WhatsApp id: AI Smart Reply's
        // context leaves such entries out.
        item.insert("direction".into(), s("out"));
        item.insert(
            GSI2PK.into(),
            s(history_gsi2pk(&note.tenant_id, &note.peer)),
        );
        item.insert(GSI2SK.into(), s(&note.id));
        self.put(item).await
    }

    /// A page of the history with a customer, newest first: one `Query` on GSI2 and one
    /// `BatchGetItem` of the messages and notes it names.
    pub async fn thread(
        &self,
        tenant_id: &str,
        peer: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> StoreResult<(Vec<ThreadItem>, Option<String>)> {
        #[derive(Deserialize)]
        struct Keys {
            #[serde(rename = "PK")]
            pk: String,
            #[serde(rename = "SK")]
            sk: String,
        }
        let q = Query::index(GSI2, history_gsi2pk(tenant_id, peer))
            .newest_first()
            .project("PK, SK, GSI2PK, GSI2SK", &[]);
        let (keys, next) = self.page::<Keys>(&q, limit, cursor).await?;
        let keys: Vec<Key> = keys.into_iter().map(|k| (k.pk, k.sk)).collect();
        let mut found: HashMap<Key, Item> = HashMap::new();
        for item in self.batch_get(&keys, false).await? {
            let text = |a: &str| {
                item.get(a)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            found.insert((text(PK), text(SK)), item);
        }
        let mut out = Vec::new();
        for k in keys {
            let Some(item) = found.remove(&k) else {
                continue;
            };
            out.push(if k.1 == NOTE_SK {
                ThreadItem::Note(from_item(item)?)
            } else {
                ThreadItem::Message(Box::new(from_item(item)?))
            });
        }
        Ok((out, next))
    }

    pub async fn list_canned(&self, tenant_id: &str) -> StoreResult<Vec<CannedResponse>> {
        self.query_prefix_all(tenant_pk(tenant_id), CANNED_PREFIX)
            .await
    }

    pub async fn get_canned(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<CannedResponse>> {
        if !super::is_id(id) {
            return Ok(None);
        }
        self.get(&tenant_pk(tenant_id), &canned_sk(id)).await
    }

    /// Creates or replaces a canned response (`must_exist`: only a replacement).
    pub async fn put_canned(
        &self,
        tenant_id: &str,
        c: &CannedResponse,
        must_exist: bool,
    ) -> StoreResult<bool> {
        let item = keyed(c, tenant_pk(tenant_id), canned_sk(&c.id))?;
        let cond = if must_exist {
            Cond::exists()
        } else {
            Cond::absent()
        };
        self.put_if(item, cond).await
    }

    pub async fn delete_canned(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        if !super::is_id(id) {
            return Ok(false);
        }
        self.delete_if(&tenant_pk(tenant_id), &canned_sk(id), Some(Cond::exists()))
            .await
    }

    pub async fn inbox_settings(&self, tenant_id: &str) -> StoreResult<InboxSettings> {
        Ok(self
            .get(&tenant_pk(tenant_id), INBOX_SETTINGS_SK)
            .await?
            .unwrap_or_default())
    }

    pub async fn put_inbox_settings(
        &self,
        tenant_id: &str,
        settings: &InboxSettings,
    ) -> StoreResult<()> {
        let mut item = keyed(settings, tenant_pk(tenant_id), INBOX_SETTINGS_SK)?;
        if let Some(l) = &settings.last_assigned {
            item.insert("lastAssigned".into(), s(l));
        }
        self.put(item).await
    }

    /// Records who round robin assigned last.
    pub async fn set_last_assigned(&self, tenant_id: &str, user_id: &str) -> StoreResult<()> {
        self.update_if(
            &tenant_pk(tenant_id),
            INBOX_SETTINGS_SK,
            "SET lastAssigned = :u",
            Cond::none().value(":u", s(user_id)),
            table::Returns::NOTHING,
        )
        .await
        .map(|_| ())
    }
}
