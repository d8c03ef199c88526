//! Contacts and tags. Per contact (see `docs/data-model.md`):
//! - the contact `TENANT#<t>#CONTACTS` / `CONTACT#<id>`: the source of truth (name, phone,
//!   tags, the lists it is in, `version`), on GSI1 by folded name for name search;
//! - its phone claim `TENANT#<t>#PHONES` / `PHONE#<digits>`: one per phone, which is what
//!   makes phones unique per tenant; a copy of the contact, read by phone search;
//! - per tag, a copy `TENANT#<t>#TAG#<tag>` / `CONTACT#<id>`: contacts by tag are one Query
//!   that reads only the contacts returned;
//! - per list, a member item holding its name and phone (see `contact_lists`).
//!
//! Every change to a contact rewrites all of these in one transaction, guarded by the
//! contact's `version`: a reader never sees a phone claim without its contact or a stale copy.
//! The bounds on tags (20) and lists (25) per contact keep each transaction under
//! DynamoDB's 100 items.

use super::contact_lists::{counter_update, member_key};
use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Query, CONCURRENCY};
use super::{n, s, to_item, Store, StoreError, StoreResult, MAX_ATTEMPTS};
use crate::domain::consent::ConsentSource;
use crate::domain::contacts::{self as rules, ConsentChange, Group, TagChange};
use crate::domain::time;
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::ToSchema;

/// A contact as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[schema(example = "0193a6f2-7c1e-7d4b-9a51-3f0c2b8e4d11")]
    pub id: String,
    /// Empty when the contact has no name.
    #[schema(example = "Ali")]
    pub name: String,
    /// Digits only, as normalised on the way in.
    #[schema(example = "923001234567")]
    pub phone: String,
    /// Lower case, sorted.
    #[schema(example = json!(["jan26", "lead"]))]
    pub tags: Vec<String>,
    /// The customer asked not to be messaged (STOP), or was opted out by the API or an
    /// import: campaigns skip it, automatic replies never go to it, and direct sends are
    /// refused unless the tenant's `blockDirectSends` is off.
    #[serde(default)]
    pub opted_out: bool,
    /// When it opted out (only while opted out).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub opted_out_at: Option<DateTime<Utc>>,
    /// How it opted out: `message` (the customer wrote an opt-out word), `api` or `import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_source: Option<ConsentSource>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
}

/// One recipient of an audience (a tag or a contact list), as campaigns read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudienceMember {
    pub contact_id: String,
    pub name: String,
    pub phone: String,
}

/// A page of an audience and the cursor of the next one (`None`: that was the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudiencePage {
    pub members: Vec<AudienceMember>,
    pub next_cursor: Option<String>,
}

/// The contact item: the source of truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContactItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) phone: String,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    /// Ids of the lists the contact is in (a string set). Invariant: every id here has its
    /// member item (they are written and removed together); a deleted list's id stays until
    /// its clean-up reaches the contact, so readers check that a list exists.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "serde_dynamo::string_set"
    )]
    pub(crate) lists: Vec<String>,
    #[serde(default)]
    pub(crate) opted_out: bool,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub(crate) opted_out_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) opt_out_source: Option<ConsentSource>,
    /// What made the last consent change (a customer message's id), so a retried job can
    /// tell its own change from an earlier one. Not shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) consent_ref: Option<String>,
    #[serde(with = "time::secs")]
    pub(crate) created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) version: u64,
}

impl ContactItem {
    fn new(tenant_id: &str, id: String, phone: String, now: DateTime<Utc>) -> Self {
        ContactItem {
            pk: contacts_pk(tenant_id),
            sk: contact_sk(&id),
            gsi1pk: None,
            gsi1sk: None,
            id,
            name: String::new(),
            phone,
            tags: Vec::new(),
            lists: Vec::new(),
            opted_out: false,
            opted_out_at: None,
            opt_out_source: None,
            consent_ref: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// Applies a consent change made at `now`.
    fn set_consent(&mut self, change: &ConsentChange, now: DateTime<Utc>) {
        self.opted_out = change.opted_out;
        if change.opted_out {
            self.opted_out_at = Some(now);
            self.opt_out_source = Some(change.source);
        } else {
            self.opted_out_at = None;
            self.opt_out_source = None;
        }
        self.consent_ref.clone_from(&change.reference);
    }

    /// Sets the name and its place in the name index (none without a name).
    fn set_name(&mut self, tenant_id: &str, name: String) {
        let folded = rules::fold_name(&name);
        if folded.is_empty() {
            self.gsi1pk = None;
            self.gsi1sk = None;
        } else {
            self.gsi1pk = Some(contact_names_gsi1pk(tenant_id));
            self.gsi1sk = Some(contact_name_gsi1sk(&folded, &self.id));
        }
        self.name = name;
    }

    pub(crate) fn contact(&self) -> Contact {
        Contact {
            id: self.id.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            tags: self.tags.clone(),
            opted_out: self.opted_out,
            opted_out_at: self.opted_out_at,
            opt_out_source: self.opt_out_source,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A phone claim (or another copy) must belong to this contact.
fn held_by(contact_id: &str) -> Cond {
    Cond::new("#id = :id")
        .name("#id", "id")
        .value(":id", s(contact_id))
}

/// Removes a contact's copy under a tag.
fn untag(
    table: &str,
    tenant_id: &str,
    tag: &str,
    contact_id: &str,
) -> StoreResult<TransactWriteItem> {
    table::delete(
        table,
        &tag_pk(tenant_id, tag),
        &contact_sk(contact_id),
        None,
    )
}

/// What `GET /api/contacts` reads: everything, one tag, or a phone or name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactFilter {
    All,
    Tag(String),
    /// Opted out (`true`) or not (`false`), newest first.
    OptedOut(bool),
    PhonePrefix(String),
    NamePrefix(String),
}

/// What a consent backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillReport {
    /// Contacts read.
    pub contacts: u64,
    /// Copies written (rewriting an existing copy writes the same item).
    pub written: u64,
    /// Contacts changed while the backfill ran: their own change wrote the copy.
    pub changed_meanwhile: u64,
}

/// How a bulk upsert went for one group of entries (one phone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created(Contact),
    Updated(Contact),
    Unchanged(Contact),
    Failed(String),
}

/// `PATCH /api/contacts/{id}`: each field is optional.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    /// Already validated; empty clears the name.
    pub name: Option<String>,
    /// Already normalised.
    pub phone: Option<String>,
    pub tags: Option<TagChange>,
    pub consent: Option<ConsentChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOutcome {
    Updated(Contact),
    /// The patch changed nothing (nothing was written).
    Unchanged(Contact),
    NotFound,
    /// The new phone belongs to another contact.
    PhoneTaken {
        contact_id: String,
    },
    /// The change breaks a rule (e.g. too many tags); the message names the field.
    Invalid(String),
}

/// How a consent change by phone went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// Written (the contact created if it was new).
    Changed(Contact),
    /// The contact already had that consent; `same_reference`: the change that put it
    /// there had the same reference (a retried job's own earlier change).
    Unchanged {
        contact: Contact,
        same_reference: bool,
    },
    /// An opt-in for a phone without a contact: nothing to do.
    NoContact,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteReport {
    pub deleted: Vec<String>,
    pub not_found: Vec<String>,
}

/// A contact's state as read before a write: `Torn` when two reads disagreed because a
/// write landed between them (read again).
enum Read {
    Found(Option<Box<ContactItem>>),
    Torn,
}

/// The transaction items of one contact write, and where the new phone claim is in them.
struct WritePlan {
    items: Vec<TransactWriteItem>,
    phone_claim: Option<usize>,
}

/// One contact's deletion: its items, and the lists whose counters go down by one.
struct DeleteGroup {
    id: String,
    items: Vec<TransactWriteItem>,
    counted_lists: Vec<String>,
}

const SAVE_FAILED: &str = "Could not save this contact: try again";
const CONTENDED: &str = "Too many concurrent changes to this contact: try again";

impl Store {
    /// The contact item, read consistently. `None` also for ids that are not UUIDs.
    pub(crate) async fn contact_item(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<ContactItem>> {
        if !super::is_id(id) {
            return Ok(None);
        }
        self.get(&contacts_pk(tenant_id), &contact_sk(id)).await
    }

    /// Contact items by id (ids that are not UUIDs or not found are absent).
    pub(crate) async fn contact_items(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<HashMap<String, ContactItem>> {
        let keys = ids.iter().filter(|id| super::is_id(id));
        let keys = keys.map(|id| (contacts_pk(tenant_id), contact_sk(id)));
        let found: Vec<ContactItem> = self.batch_get_as(keys).await?;
        Ok(found.into_iter().map(|c| (c.id.clone(), c)).collect())
    }

    /// Contact ids by phone claim, for normalised phones.
    pub(crate) async fn contact_ids_by_phone(
        &self,
        tenant_id: &str,
        phones: &[String],
    ) -> StoreResult<HashMap<String, String>> {
        let keys = phones.iter().map(|p| (phones_pk(tenant_id), phone_sk(p)));
        let claims: Vec<Contact> = self.batch_get_as(keys).await?;
        Ok(claims.into_iter().map(|c| (c.phone, c.id)).collect())
    }

    /// Contacts by id, in the order given (ids not found are left out).
    pub async fn contacts_by_ids(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Contact>> {
        let found = self.contact_items(tenant_id, ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.get(id).map(ContactItem::contact))
            .collect())
    }

    pub async fn get_contact(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Contact>> {
        Ok(self.contact_item(tenant_id, id).await?.map(|c| c.contact()))
    }

    /// A page of contacts: all of them or one tag newest first, phone or name matches in
    /// phone or name order. Each is one `Query` reading only the page (no filter).
    pub async fn list_contacts(
        &self,
        tenant_id: &str,
        filter: &ContactFilter,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<Contact>, Option<String>)> {
        let q = match filter {
            ContactFilter::All => {
                Query::prefix(contacts_pk(tenant_id), CONTACT_PREFIX).newest_first()
            }
            ContactFilter::Tag(tag) => {
                Query::prefix(tag_pk(tenant_id, tag), CONTACT_PREFIX).newest_first()
            }
            ContactFilter::OptedOut(out) => {
                Query::prefix(consent_pk(tenant_id, *out), CONTACT_PREFIX).newest_first()
            }
            ContactFilter::PhonePrefix(digits) => {
                Query::prefix(phones_pk(tenant_id), phone_sk(digits))
            }
            ContactFilter::NamePrefix(folded) => {
                let by_name = Query::index(GSI1, contact_names_gsi1pk(tenant_id))
                    .starting(folded)
                    .cursor_also(PK, contacts_pk(tenant_id), false)
                    .cursor_also(SK, CONTACT_PREFIX, true);
                // An index cannot be read strongly consistent.
                return self.page(&by_name, limit, cursor).await;
            }
        };
        self.page(&q.consistent(), limit, cursor).await
    }

    /// **For campaigns**: one page of the contacts carrying `tag` (normalised, see
    /// `domain::contacts::tag`), oldest first, so contacts tagged while a campaign runs are
    /// still reached. One strongly consistent `Query` on `TENANT#<t>#TAG#<tag>` reading only
    /// `limit` items; pass the returned cursor to get the next page. A cursor from another
    /// tenant or tag is `StoreError::BadCursor`.
    pub async fn contacts_page_by_tag(
        &self,
        tenant_id: &str,
        tag: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<AudiencePage> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            name: String,
            phone: String,
        }
        let q = Query::prefix(tag_pk(tenant_id, tag), CONTACT_PREFIX)
            .project("id, #name, phone", &[("#name", "name")])
            .consistent();
        let (rows, next_cursor) = self.page::<Row>(&q, limit, cursor).await?;
        let members = rows
            .into_iter()
            .map(|r| AudienceMember {
                contact_id: r.id,
                name: r.name,
                phone: r.phone,
            })
            .collect();
        Ok(AudiencePage {
            members,
            next_cursor,
        })
    }

    /// Bulk upsert of groups of entries that share a phone (`domain::contacts::group_by_phone`),
    /// one outcome per group in the same order. Stored state is read in batches first; then
    /// each contact is one transaction, at most `CONCURRENCY` in flight. A failure of one
    /// contact (a rule, contention, an AWS error after the reads) is its outcome, not the
    /// request's: the others are saved. An AWS error while reading fails the whole call
    /// before anything is written.
    pub async fn upsert_contacts(
        &self,
        tenant_id: &str,
        groups: &[Group],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<UpsertOutcome>> {
        let phones: Vec<String> = groups.iter().map(|g| g.phone.clone()).collect();
        let claims = self.contact_ids_by_phone(tenant_id, &phones).await?;
        let ids: Vec<String> = claims.values().cloned().collect();
        let stored = self.contact_items(tenant_id, &ids).await?;
        let known = |g: &Group| match claims.get(&g.phone) {
            None => Read::Found(None),
            Some(id) => match stored.get(id) {
                Some(c) if c.phone == g.phone => Read::Found(Some(Box::new(c.clone()))),
                _ => Read::Torn,
            },
        };
        // Futures collected first: a lazy `map` in the stream trips up `Send` inference.
        let upserts: Vec<_> = groups
            .iter()
            .map(|g| {
                let first = known(g);
                async move {
                    match self.upsert_group(tenant_id, g, first, now).await {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::error!(error = %e, phone = %g.phone, "contact upsert failed");
                            UpsertOutcome::Failed(SAVE_FAILED.into())
                        }
                    }
                }
            })
            .collect();
        let outcomes = stream::iter(upserts)
            .buffered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        Ok(outcomes)
    }

    /// The contact of a customer who wrote in (the inbound pipeline): created when the
    /// phone is new, named with the WhatsApp profile name when it has no name yet. A name
    /// the business gave the contact is kept. Tags and lists are untouched.
    pub async fn contact_from_profile(
        &self,
        tenant_id: &str,
        phone: &str,
        profile_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<UpsertOutcome> {
        let current = self.contact_by_phone(tenant_id, phone).await?;
        let has_name = matches!(&current, Read::Found(Some(c)) if !c.name.is_empty());
        let name = profile_name
            .filter(|_| !has_name)
            .and_then(|n| rules::name("name", n).ok())
            .filter(|n| !n.is_empty());
        if let Read::Found(Some(c)) = &current {
            if name.is_none() {
                return Ok(UpsertOutcome::Unchanged(c.contact()));
            }
        }
        let group = Group {
            phone: phone.to_string(),
            indices: vec![0],
            name,
            tags: Vec::new(),
            consent: None,
        };
        self.upsert_group(tenant_id, &group, current, now).await
    }

    /// Opts the contact holding `phone` out or in. An opt-out creates the contact when the
    /// phone has none (a customer who wrote STOP before anything else); an opt-in of an
    /// unknown phone changes nothing.
    pub async fn set_consent_by_phone(
        &self,
        tenant_id: &str,
        phone: &str,
        change: &ConsentChange,
        now: DateTime<Utc>,
    ) -> StoreResult<ConsentOutcome> {
        let current = self.contact_by_phone(tenant_id, phone).await?;
        match &current {
            Read::Found(Some(c)) if c.opted_out == change.opted_out => {
                return Ok(ConsentOutcome::Unchanged {
                    contact: c.contact(),
                    same_reference: change.reference.is_some() && c.consent_ref == change.reference,
                });
            }
            Read::Found(None) if !change.opted_out => return Ok(ConsentOutcome::NoContact),
            _ => {}
        }
        let group = Group {
            phone: phone.to_string(),
            indices: vec![0],
            name: None,
            tags: Vec::new(),
            consent: Some(change.clone()),
        };
        match self.upsert_group(tenant_id, &group, current, now).await? {
            UpsertOutcome::Created(c) | UpsertOutcome::Updated(c) => Ok(ConsentOutcome::Changed(c)),
            UpsertOutcome::Unchanged(c) => Ok(ConsentOutcome::Unchanged {
                contact: c,
                same_reference: false,
            }),
            UpsertOutcome::Failed(_) => Err(StoreError::Contention("contact consent")),
        }
    }

    /// The contact holding `phone`, read again after a lost race.
    async fn contact_by_phone(&self, tenant_id: &str, phone: &str) -> StoreResult<Read> {
        #[derive(Deserialize)]
        struct Claim {
            id: String,
        }
        let claim = self
            .get_with::<Claim>(&phones_pk(tenant_id), &phone_sk(phone), true, Some("id"))
            .await?;
        let Some(Claim { id }) = claim else {
            return Ok(Read::Found(None));
        };
        Ok(match self.contact_item(tenant_id, &id).await? {
            Some(c) if c.phone == phone => Read::Found(Some(Box::new(c))),
            _ => Read::Torn,
        })
    }

    async fn upsert_group(
        &self,
        tenant_id: &str,
        group: &Group,
        first: Read,
        now: DateTime<Utc>,
    ) -> StoreResult<UpsertOutcome> {
        let mut read = first;
        for attempt in 0..MAX_ATTEMPTS as u32 {
            if attempt > 0 {
                table::backoff(attempt).await;
                read = self.contact_by_phone(tenant_id, &group.phone).await?;
            }
            let Read::Found(stored) = read else {
                read = Read::Torn;
                continue;
            };
            let stored = stored.map(|c| *c);
            let merged = match rules::merge(
                stored
                    .as_ref()
                    .map(|c| (c.name.as_str(), c.tags.as_slice())),
                group,
            ) {
                Ok(m) => m,
                Err(msg) => return Ok(UpsertOutcome::Failed(msg)),
            };
            let consent = group
                .consent
                .as_ref()
                .and_then(|c| c.needed(stored.as_ref().is_some_and(|s| s.opted_out)));
            if !merged.changed && consent.is_none() {
                if let Some(c) = &stored {
                    return Ok(UpsertOutcome::Unchanged(c.contact()));
                }
            }
            let mut next = match &stored {
                Some(c) => c.clone(),
                None => ContactItem::new(
                    tenant_id,
                    uuid::Uuid::now_v7().to_string(),
                    group.phone.clone(),
                    now,
                ),
            };
            next.set_name(tenant_id, merged.name);
            next.tags = merged.tags;
            if let Some(c) = consent {
                next.set_consent(c, now);
            }
            next.updated_at = now;
            next.version += 1;
            let plan = self.write_plan(tenant_id, stored.as_ref(), &next)?;
            match self.commit(plan.items).await? {
                Commit::Done => {
                    return Ok(match stored {
                        None => UpsertOutcome::Created(next.contact()),
                        Some(_) => UpsertOutcome::Updated(next.contact()),
                    })
                }
                // Someone else wrote this contact or claimed this phone first: read again.
                Commit::Cancelled(_) => read = Read::Torn,
            }
        }
        Ok(UpsertOutcome::Failed(CONTENDED.into()))
    }

    /// Every item a contact write changes: the contact (guarded by its version, or new), its
    /// phone claim (a new phone must be free), its tag copies, and the name and phone copied
    /// on its list memberships.
    fn write_plan(
        &self,
        tenant_id: &str,
        old: Option<&ContactItem>,
        new: &ContactItem,
    ) -> StoreResult<WritePlan> {
        let t = self.table.as_str();
        let mut items = Vec::new();
        let contact_cond = match old {
            None => Cond::absent(),
            Some(o) => Cond::new("version = :v").value(":v", n(o.version)),
        };
        items.push(table::put(t, to_item(new)?, Some(contact_cond))?);
        let view = new.contact();
        let claim = keyed(&view, phones_pk(tenant_id), phone_sk(&new.phone))?;
        let mut phone_claim = None;
        match old {
            Some(o) if o.phone == new.phone => {
                items.push(table::put(t, claim, Some(held_by(&new.id)))?);
            }
            _ => {
                phone_claim = Some(items.len());
                items.push(table::put(t, claim, Some(Cond::absent()))?);
                if let Some(o) = old {
                    items.push(table::delete(
                        t,
                        &phones_pk(tenant_id),
                        &phone_sk(&o.phone),
                        Some(held_by(&o.id)),
                    )?);
                }
            }
        }
        if let Some(o) = old {
            for tag in o.tags.iter().filter(|tag| !new.tags.contains(tag)) {
                items.push(untag(t, tenant_id, tag, &o.id)?);
            }
        }
        for tag in &new.tags {
            let copy = keyed(&view, tag_pk(tenant_id, tag), contact_sk(&new.id))?;
            items.push(table::put(t, copy, None)?);
        }
        // The consent copy: the contact under `CONSENT#IN` or `CONSENT#OUT`, never both.
        if let Some(o) = old {
            if o.opted_out != new.opted_out {
                items.push(table::delete(
                    t,
                    &consent_pk(tenant_id, o.opted_out),
                    &contact_sk(&o.id),
                    None,
                )?);
            }
        }
        let copy = keyed(
            &view,
            consent_pk(tenant_id, new.opted_out),
            contact_sk(&new.id),
        )?;
        items.push(table::put(t, copy, None)?);
        if let Some(o) = old {
            if o.name != new.name || o.phone != new.phone {
                for list_id in &o.lists {
                    let (pk, sk) = member_key(tenant_id, list_id, &o.id);
                    items.push(table::update(
                        t,
                        &pk,
                        &sk,
                        "SET #name = :name, phone = :phone",
                        Cond::exists()
                            .name("#name", "name")
                            .value(":name", s(&new.name))
                            .value(":phone", s(&new.phone)),
                    )?);
                }
            }
        }
        Ok(WritePlan { items, phone_claim })
    }

    /// Gives every contact of a tenant its consent copy (`CONSENT#IN` or `CONSENT#OUT`):
    /// contacts saved before consent existed have none until their next change. Each copy is
    /// written in a transaction that checks the contact's `version`, so a contact changed
    /// meanwhile keeps the copy its own change wrote. Safe to run again and while the tenant
    /// works; reads the contacts a page at a time.
    pub async fn backfill_consent_copies(&self, tenant_id: &str) -> StoreResult<BackfillReport> {
        let q = Query::prefix(contacts_pk(tenant_id), CONTACT_PREFIX);
        let mut report = BackfillReport::default();
        let mut start = None;
        loop {
            let (page, last): (Vec<ContactItem>, _) = self.query_page(&q, 100, start).await?;
            let writes = page.iter().map(|c| self.write_consent_copy(tenant_id, c));
            let done: Vec<StoreResult<bool>> = stream::iter(writes)
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for written in done {
                report.contacts += 1;
                if written? {
                    report.written += 1;
                } else {
                    report.changed_meanwhile += 1;
                }
            }
            start = last;
            if start.is_none() {
                return Ok(report);
            }
        }
    }

    /// The contact's consent copy, unless the contact has changed since it was read.
    async fn write_consent_copy(&self, tenant_id: &str, c: &ContactItem) -> StoreResult<bool> {
        let t = self.table.as_str();
        let version = Cond::new("version = :v").value(":v", n(c.version));
        let copy = keyed(
            &c.contact(),
            consent_pk(tenant_id, c.opted_out),
            contact_sk(&c.id),
        )?;
        let items = vec![
            table::check(t, &c.pk, &c.sk, version)?,
            table::put(t, copy, None)?,
        ];
        self.commit(items)
            .await?
            .done_or_lost("backfill consent copy")
    }

    /// Edits one contact. A new phone must not belong to another contact.
    pub async fn update_contact(
        &self,
        tenant_id: &str,
        id: &str,
        patch: &ContactPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<PatchOutcome> {
        table::retry("update contact", |_| async move {
            let Some(old) = self.contact_item(tenant_id, id).await? else {
                return Ok(Some(PatchOutcome::NotFound));
            };
            let mut next = old.clone();
            if let Some(name) = &patch.name {
                next.set_name(tenant_id, name.clone());
            }
            if let Some(phone) = &patch.phone {
                next.phone = phone.clone();
            }
            if let Some(change) = &patch.tags {
                match change.apply(&old.tags) {
                    Ok(tags) => next.tags = tags,
                    Err(msg) => return Ok(Some(PatchOutcome::Invalid(msg))),
                }
            }
            if let Some(c) = patch.consent.as_ref().and_then(|c| c.needed(old.opted_out)) {
                next.set_consent(c, now);
            }
            if next == old {
                return Ok(Some(PatchOutcome::Unchanged(old.contact())));
            }
            next.updated_at = now;
            next.version += 1;
            let plan = self.write_plan(tenant_id, Some(&old), &next)?;
            let commit = self.commit(plan.items).await?;
            if commit == Commit::Done {
                return Ok(Some(PatchOutcome::Updated(next.contact())));
            }
            if plan
                .phone_claim
                .is_some_and(|i| commit.condition_failed_at(i))
            {
                if let Read::Found(Some(holder)) =
                    self.contact_by_phone(tenant_id, &next.phone).await?
                {
                    if holder.id != id {
                        return Ok(Some(PatchOutcome::PhoneTaken {
                            contact_id: holder.id,
                        }));
                    }
                }
            }
            Ok(None)
        })
        .await
    }

    /// Deletes contacts with everything that refers to them: phone claim, tag copies, list
    /// memberships (and the lists' member counts). Contacts are packed into as few
    /// transactions as fit; a pack that loses a race is retried one contact at a time.
    pub async fn delete_contacts(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<DeleteReport> {
        let mut report = DeleteReport::default();
        let mut seen = HashSet::new();
        let ids: Vec<String> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        let found = self.contact_items(tenant_id, &ids).await?;
        let mut targets = Vec::new();
        for id in &ids {
            match found.get(id) {
                Some(c) => targets.push(c.clone()),
                None => report.not_found.push(id.clone()),
            }
        }
        let list_ids: Vec<String> = targets.iter().flat_map(|c| c.lists.clone()).collect();
        let live_lists = self.existing_lists(tenant_id, &list_ids).await?;
        let groups = targets
            .iter()
            .map(|c| self.delete_group(tenant_id, c, &live_lists))
            .collect::<StoreResult<Vec<_>>>()?;
        let distinct_lists = |p: &[DeleteGroup]| {
            p.iter()
                .flat_map(|g| g.counted_lists.iter())
                .collect::<HashSet<_>>()
                .len()
        };
        for pack in table::pack(groups, |g| g.items.len(), distinct_lists) {
            let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
            for list_id in pack.iter().flat_map(|g| g.counted_lists.iter()) {
                *counts.entry(list_id.as_str()).or_default() -= 1;
            }
            let mut items: Vec<TransactWriteItem> = Vec::new();
            for (list_id, delta) in counts {
                items.push(counter_update(
                    &self.table,
                    tenant_id,
                    list_id,
                    delta,
                    None,
                )?);
            }
            let ids: Vec<String> = pack.iter().map(|g| g.id.clone()).collect();
            items.extend(pack.into_iter().flat_map(|g| g.items));
            if self.commit(items).await? == Commit::Done {
                report.deleted.extend(ids);
                continue;
            }
            for id in ids {
                if self.delete_one(tenant_id, &id).await? {
                    report.deleted.push(id);
                } else {
                    report.not_found.push(id);
                }
            }
        }
        Ok(report)
    }

    /// Deletes one contact on its own (after its pack lost a race). False if it is gone.
    async fn delete_one(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        // Its pack just lost a race: give the winner a moment first.
        table::backoff(1).await;
        table::retry("delete contact", |_| async move {
            let Some(c) = self.contact_item(tenant_id, id).await? else {
                return Ok(Some(false));
            };
            let live_lists = self.existing_lists(tenant_id, &c.lists).await?;
            let group = self.delete_group(tenant_id, &c, &live_lists)?;
            let mut items = group.items;
            for list_id in &group.counted_lists {
                items.push(counter_update(&self.table, tenant_id, list_id, -1, None)?);
            }
            Ok((self.commit(items).await? == Commit::Done).then_some(true))
        })
        .await
    }

    fn delete_group(
        &self,
        tenant_id: &str,
        c: &ContactItem,
        live_lists: &HashSet<String>,
    ) -> StoreResult<DeleteGroup> {
        let t = self.table.as_str();
        let mut items = vec![
            table::delete(
                t,
                &contacts_pk(tenant_id),
                &contact_sk(&c.id),
                Some(Cond::new("version = :v").value(":v", n(c.version))),
            )?,
            table::delete(
                t,
                &phones_pk(tenant_id),
                &phone_sk(&c.phone),
                Some(held_by(&c.id)),
            )?,
        ];
        for tag in &c.tags {
            items.push(untag(t, tenant_id, tag, &c.id)?);
        }
        items.push(table::delete(
            t,
            &consent_pk(tenant_id, c.opted_out),
            &contact_sk(&c.id),
            None,
        )?);
        for list_id in &c.lists {
            let (pk, sk) = member_key(tenant_id, list_id, &c.id);
            items.push(table::delete(t, &pk, &sk, Some(Cond::exists()))?);
        }
        Ok(DeleteGroup {
            id: c.id.clone(),
            items,
            counted_lists: c
                .lists
                .iter()
                .filter(|l| live_lists.contains(*l))
                .cloned()
                .collect(),
        })
    }
}
