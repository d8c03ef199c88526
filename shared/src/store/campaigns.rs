//! Campaigns, their recipients, their stored recipients arrays and their scheduler entries.
//! Every state change is a conditional write (most are transactions with the campaign's
//! counters), so concurrent runs, schedulers and workers cannot send a recipient twice, and
//! `total = pending + queued + sent + failed + cancelled + skipped` holds after every write.
//! Keys: `keys.rs`; design: `docs/campaigns.md`; access patterns: `docs/data-model.md`.

use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Query, Returns};
use super::{n, s, to_item, Item, Store, StoreError, StoreResult};
use crate::domain::campaigns::{CampaignStatus, Entry, PauseReason, RecipientStatus};
use crate::domain::time;
use crate::domain::time::iso;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who a campaign sends to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Audience {
    /// The request's `recipients` array, stored in chunks.
    Recipients,
    /// A contact list's members, read a page per batch.
    #[serde(rename_all = "camelCase")]
    ContactList { contact_list_id: String },
    /// The contacts carrying a tag, read a page per batch at run time.
    Tag { tag: String },
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The text, with `{{name}}` / `{{phone}}` (a template campaign's optional `message`:
    /// recorded on each message, not sent; `""` when left out).
    pub message: String,
    /// A template campaign's Cloud API template; its variables may hold `{{name}}` /
    /// `{{phone}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<crate::domain::messages::TemplateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub delay_seconds: u32,
    pub audience: Audience,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub scheduled_at: Option<DateTime<Utc>>,
    pub status: CampaignStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<PauseReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_message: Option<String>,
    /// The UTC day a `daily_limit` pause happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_day: Option<String>,
    // Counters: total = pending + queued + sent + failed + cancelled + skipped, always.
    pub total: u64,
    /// Known but not queued yet (the stored array's entries beyond the cursor).
    pub pending: u64,
    /// Queued for a worker (in flight: `queued` and `sending` recipients).
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Opted out when their turn came: not sent (campaigns saved before this counter
    /// existed read 0).
    #[serde(default)]
    pub skipped: u64,
    /// Entries of the array dropped because their phone came earlier.
    #[serde(default)]
    pub duplicates: u64,
    /// How many chunks the stored array has.
    #[serde(default)]
    pub chunks: u32,
    /// Where the next batch reads from: a chunk position, or the audience's page cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The audience has been read to its end.
    pub source_done: bool,
    /// The last batch queued (0: none yet); its recipients are `R#<batch>#…`.
    pub batch: u32,
    #[serde(default)]
    pub batch_size: u32,
    /// Bumped each time the batch's leftovers are queued again (recovery, resume).
    #[serde(default)]
    pub batch_round: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub batch_queued_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_first_due_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_last_due_ms: Option<i64>,
    /// When the next message may go out (Unix ms): batches continue each other's pacing.
    #[serde(default)]
    pub next_send_at_ms: i64,
    /// The key that created it (recorded on its messages).
    pub api_key_id: String,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// One recipient as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub batch: u32,
    pub index: u32,
    pub phone: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    pub status: RecipientStatus,
    /// Our message id, chosen when the recipient is claimed (before the provider is called).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at_ms: Option<i64>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// When its message is due (Unix ms), as last queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<i64>,
    #[serde(with = "time::secs")]
    pub queued_at: DateTime<Utc>,
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub failed_at: Option<DateTime<Utc>>,
}

impl Recipient {
    pub fn sk(&self) -> String {
        recipient_sk(self.batch, self.index)
    }
}

/// A campaign that needs the scheduler at `due_at` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueEntry {
    pub tenant_id: String,
    pub campaign_id: String,
    pub due_at: i64,
}

/// What happens to a campaign's scheduler entry in a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// (Re)write it, due at this Unix second.
    At(i64),
    Remove,
    Keep,
}

/// How a claim ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The recipient is ours (`sending`): the provider may be called.
    Claimed,
    /// The recipient is not `queued` (a redelivered or duplicate message): do nothing.
    NotQueued,
    /// The campaign is not running (paused, cancelled…): the recipient stays `queued`.
    CampaignNotRunning,
    /// The recipient's phone is opted out: skip it (nothing was claimed).
    OptedOut,
    /// Another transaction held an item; try again.
    Contended,
}

/// The provider's answer, as recorded on a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent { wa_message_id: Option<String> },
    Failed { error: String, code: Option<i64> },
}

/// A batch to commit: the campaign as it was read (its `batch` guards the write), what
/// changes on it, and the recipients to create.
#[derive(Debug, Clone)]
pub struct NewBatch<'a> {
    pub campaign: &'a Campaign,
    pub recipients: Vec<Recipient>,
    /// The audience position after this batch (`None`: the end, or no cursor).
    pub cursor: Option<String>,
    pub source_done: bool,
    /// Recipients that were not known before (tag and list audiences grow `total`).
    pub new_total: u64,
    /// Taken from `pending` (a stored array).
    pub from_pending: u64,
    pub first_due_ms: i64,
    pub last_due_ms: i64,
    pub next_send_at_ms: i64,
    pub due_at: i64,
    pub now: DateTime<Utc>,
}

/// The error of a recipient skipped because it opted out.
pub const OPTED_OUT_ERROR: &str = "opted_out";

#[derive(Serialize, Deserialize)]
struct ChunkItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entries: Vec<Entry>,
}

fn campaign_item(c: &Campaign) -> StoreResult<Item> {
    keyed(c, campaigns_pk(&c.tenant_id), campaign_sk(&c.id))
}

fn recipient_item(tenant_id: &str, campaign_id: &str, r: &Recipient) -> StoreResult<Item> {
    keyed(r, campaign_recipients_pk(tenant_id, campaign_id), r.sk())
}

fn due_item(tenant_id: &str, campaign_id: &str, at: i64) -> StoreResult<Item> {
    let entry = DueEntry {
        tenant_id: tenant_id.to_string(),
        campaign_id: campaign_id.to_string(),
        due_at: at,
    };
    let mut item = keyed(
        &entry,
        campaigns_pk(tenant_id),
        campaign_due_sk(campaign_id),
    )?;
    item.insert(GSI1PK.into(), s(CAMPAIGNS_DUE_GSI1PK));
    item.insert(
        GSI1SK.into(),
        s(campaign_due_gsi1sk(at, tenant_id, campaign_id)),
    );
    Ok(item)
}

/// The transaction item that writes or removes the campaign's scheduler entry.
fn due_write(
    table: &str,
    tenant_id: &str,
    campaign_id: &str,
    due: Due,
) -> StoreResult<Option<TransactWriteItem>> {
    match due {
        Due::Keep => Ok(None),
        Due::Remove => table::delete(
            table,
            &campaigns_pk(tenant_id),
            &campaign_due_sk(campaign_id),
            None,
        )
        .map(Some),
        Due::At(at) => table::put(table, due_item(tenant_id, campaign_id, at)?, None).map(Some),
    }
}

impl Store {
    /// Creates a campaign: first the chunks of its recipients array (each its own item and
    /// partition, 16 writes in flight), then the campaign and its scheduler entry in one
    /// transaction, so a campaign is never visible without its recipients.
    pub async fn create_campaign(
        &self,
        campaign: &Campaign,
        chunks: Vec<Vec<Entry>>,
        due_at: i64,
    ) -> StoreResult<()> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let writes = chunks.into_iter().enumerate().map(|(i, entries)| {
            let item = ChunkItem {
                pk: campaign_chunk_pk(&campaign.tenant_id, &campaign.id, i as u32),
                sk: CAMPAIGN_CHUNK_SK.to_string(),
                entries,
            };
            async move { self.put(to_item(&item)?).await }
        });
        stream::iter(writes)
            .buffer_unordered(table::CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        let mut items = vec![table::put(
            &self.table,
            campaign_item(campaign)?,
            Some(Cond::absent()),
        )?];
        items.extend(due_write(
            &self.table,
            &campaign.tenant_id,
            &campaign.id,
            Due::At(due_at),
        )?);
        match self.commit(items).await? {
            Commit::Done => Ok(()),
            Commit::Cancelled(_) => Err(StoreError::Contention("create campaign")),
        }
    }

    /// A tenant's campaign (strongly consistent); `None` for ids that are not ours.
    pub async fn get_campaign(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Campaign>> {
        if !super::is_id(id) {
            return Ok(None);
        }
        self.get(&campaigns_pk(tenant_id), &campaign_sk(id)).await
    }

    /// A tenant's campaigns, newest first, a page at a time.
    pub async fn list_campaigns(
        &self,
        tenant_id: &str,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<Campaign>, Option<String>)> {
        let q = Query::prefix(campaigns_pk(tenant_id), CAMPAIGN_PREFIX)
            .newest_first()
            .consistent();
        self.page(&q, limit, cursor).await
    }

    /// One chunk of a stored recipients array (empty if there is no such chunk).
    pub async fn campaign_chunk(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        chunk: u32,
    ) -> StoreResult<Vec<Entry>> {
        let pk = campaign_chunk_pk(tenant_id, campaign_id, chunk);
        let chunk = self.get::<ChunkItem>(&pk, CAMPAIGN_CHUNK_SK).await?;
        Ok(chunk.map(|c| c.entries).unwrap_or_default())
    }

    /// Commits a batch: its recipients (new items), the campaign's counters, cursor and
    /// pacing, and its scheduler entry, in one transaction guarded by the campaign being
    /// `running` with no batch in flight and still at the batch it was read at. `false`:
    /// someone else moved the campaign first (nothing was written).
    pub async fn commit_batch(&self, b: NewBatch<'_>) -> StoreResult<bool> {
        let c = b.campaign;
        let k = b.recipients.len() as u64;
        let failed = b
            .recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Failed)
            .count() as u64;
        let queued = k - failed;
        let mut sets = vec![
            "#batch = :nb",
            "#bsize = :bsize",
            "#bround = :zero",
            "#bqat = :now",
            "#bfirst = :first",
            "#blast = :last",
            "#next = :next",
            "#done = :done",
            "#upd = :now",
            "#started = if_not_exists(#started, :now)",
        ];
        let mut cond = Cond::new("#st = :running AND #batch = :b AND #queued = :zero")
            .name("#st", "status")
            .name("#batch", "batch")
            .name("#bsize", "batchSize")
            .name("#bround", "batchRound")
            .name("#bqat", "batchQueuedAt")
            .name("#bfirst", "batchFirstDueMs")
            .name("#blast", "batchLastDueMs")
            .name("#next", "nextSendAtMs")
            .name("#done", "sourceDone")
            .name("#upd", "updatedAt")
            .name("#started", "startedAt")
            .name("#cursor", "cursor")
            .name("#queued", "queued")
            .name("#failed", "failed")
            .name("#total", "total")
            .name("#pending", "pending")
            .value(":running", s(CampaignStatus::Running.as_str()))
            .value(":b", n(c.batch))
            .value(":nb", n(c.batch + 1))
            .value(":bsize", n(k))
            .value(":zero", n(0))
            .value(":now", s(iso(b.now)))
            .value(":first", n(b.first_due_ms))
            .value(":last", n(b.last_due_ms))
            .value(":next", n(b.next_send_at_ms))
            .value(":done", AttributeValue::Bool(b.source_done))
            .value(":q", n(queued))
            .value(":f", n(failed))
            .value(":t", n(b.new_total))
            .value(":p", n(-(b.from_pending as i64)));
        let cursor_clause = match &b.cursor {
            Some(cur) => {
                sets.push("#cursor = :cursor");
                cond = cond.value(":cursor", s(cur));
                String::new()
            }
            None => " REMOVE #cursor".to_string(),
        };
        let expr = format!(
            "SET {}{cursor_clause} ADD #queued :q, #failed :f, #total :t, #pending :p",
            sets.join(", ")
        );
        let mut items = vec![self.campaign_update(&c.tenant_id, &c.id, &expr, cond)?];
        items.extend(due_write(
            &self.table,
            &c.tenant_id,
            &c.id,
            Due::At(b.due_at),
        )?);
        for r in &b.recipients {
            items.push(table::put(
                &self.table,
                recipient_item(&c.tenant_id, &c.id, r)?,
                Some(Cond::absent()),
            )?);
        }
        Ok(self.commit(items).await? == Commit::Done)
    }

    /// An update of the campaign's own item, for a transaction.
    fn campaign_update(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        expr: &str,
        cond: Cond,
    ) -> StoreResult<TransactWriteItem> {
        let (pk, sk) = (campaigns_pk(tenant_id), campaign_sk(campaign_id));
        table::update(&self.table, &pk, &sk, expr, cond)
    }

    /// An update of one of the campaign's recipients, for a transaction.
    fn recipient_update(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sk: &str,
        expr: &str,
        cond: Cond,
    ) -> StoreResult<TransactWriteItem> {
        let pk = campaign_recipients_pk(tenant_id, campaign_id);
        table::update(&self.table, &pk, sk, expr, cond)
    }

    /// The campaign's counters as one recipient leaves `queued` for `counter` (`sent`,
    /// `failed` or `skipped`), for the transaction that moves the recipient.
    fn queued_to(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        counter: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<TransactWriteItem> {
        self.campaign_update(
            tenant_id,
            campaign_id,
            "ADD #queued :minus, #outcome :one SET #upd = :now",
            Cond::exists()
                .name("#queued", "queued")
                .name("#outcome", counter)
                .name("#upd", "updatedAt")
                .value(":minus", n(-1))
                .value(":one", n(1))
                .value(":now", s(iso(now))),
        )
    }

    /// Changes a campaign's state with one conditional update (and its scheduler entry in
    /// the same transaction). `expr` is the update expression, `cond` its condition and
    /// placeholders. `false`: the condition did not hold.
    pub async fn transition_campaign(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        expr: &str,
        cond: Cond,
        due: Due,
    ) -> StoreResult<bool> {
        let mut items = vec![self.campaign_update(tenant_id, campaign_id, expr, cond)?];
        items.extend(due_write(&self.table, tenant_id, campaign_id, due)?);
        Ok(self.commit(items).await? == Commit::Done)
    }

    /// Writes or removes a campaign's scheduler entry on its own.
    pub async fn set_campaign_due(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        due: Due,
    ) -> StoreResult<()> {
        match due {
            Due::Keep => Ok(()),
            Due::Remove => self
                .delete_if(
                    &campaigns_pk(tenant_id),
                    &campaign_due_sk(campaign_id),
                    None,
                )
                .await
                .map(|_| ()),
            Due::At(at) => self.put(due_item(tenant_id, campaign_id, at)?).await,
        }
    }

    /// Campaigns whose scheduler entry is due at or before `now` (Unix seconds), oldest
    /// first: one query on GSI1 (eventually consistent: every action re-reads the campaign
    /// and writes conditionally).
    pub async fn due_campaigns(
        &self,
        now: i64,
        cursor: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<DueEntry>, Option<String>)> {
        let q = Query::index(GSI1, CAMPAIGNS_DUE_GSI1PK).at_most(format!("{:012}#~", now.max(0)));
        self.page(&q, limit, cursor).await
    }

    /// A campaign's scheduler entry, if it has one.
    pub async fn campaign_due(
        &self,
        tenant_id: &str,
        campaign_id: &str,
    ) -> StoreResult<Option<DueEntry>> {
        self.get(&campaigns_pk(tenant_id), &campaign_due_sk(campaign_id))
            .await
    }

    /// Claims a recipient for sending: `queued → sending` with our message id, only while
    /// the campaign is `running` and the phone is not opted out (one transaction: condition
    /// checks on the campaign and on the phone's claim, which carries the contact's consent,
    /// and a conditional update of the recipient). The claim comes before the provider
    /// call, so a redelivered message finds the recipient taken and sends nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_recipient(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sk: &str,
        phone: &str,
        message_id: &str,
        now_ms: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        let check = table::check(
            &self.table,
            &campaigns_pk(tenant_id),
            &campaign_sk(campaign_id),
            Cond::new("#st = :running")
                .name("#st", "status")
                .value(":running", s(CampaignStatus::Running.as_str())),
        )?;
        let claim = self.recipient_update(
            tenant_id,
            campaign_id,
            sk,
            "SET #st = :sending, #mid = :mid, #cat = :ms, #upd = :now ADD #att :one",
            Cond::new("#st = :queued")
                .name("#st", "status")
                .name("#mid", "messageId")
                .name("#cat", "claimedAtMs")
                .name("#upd", "updatedAt")
                .name("#att", "attempts")
                .value(":sending", s(RecipientStatus::Sending.as_str()))
                .value(":queued", s(RecipientStatus::Queued.as_str()))
                .value(":mid", s(message_id))
                .value(":ms", n(now_ms))
                .value(":now", s(iso(now)))
                .value(":one", n(1)),
        )?;
        // A phone without a contact has no claim: the check passes.
        let consent = table::check(
            &self.table,
            &phones_pk(tenant_id),
            &phone_sk(phone),
            Cond::new("attribute_not_exists(PK) OR attribute_not_exists(#out) OR #out = :no")
                .name("#out", "optedOut")
                .value(":no", AttributeValue::Bool(false)),
        )?;
        let items = vec![check, claim, consent];
        Ok(match self.commit(items).await? {
            Commit::Done => Claim::Claimed,
            c if c.condition_failed_at(1) => Claim::NotQueued,
            c if c.condition_failed_at(0) => Claim::CampaignNotRunning,
            c if c.condition_failed_at(2) => Claim::OptedOut,
            _ => Claim::Contended,
        })
    }

    /// Marks a recipient `skipped` with error `opted_out` (not sent, no daily unit) and
    /// moves the campaign's counters (`queued - 1`, `skipped + 1`) in the same transaction:
    /// a `queued` recipient (`claimed_by` none), or one we claimed with that message id.
    /// `false`: it was not in that state (nothing written).
    pub async fn skip_recipient(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sk: &str,
        claimed_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut cond = Cond::new(match claimed_by {
            None => "#st = :queued",
            Some(_) => "#st = :sending AND #mid = :mid",
        })
        .name("#st", "status")
        .name("#err", "error")
        .name("#upd", "updatedAt")
        .name("#mid", "messageId")
        .name("#cat", "claimedAtMs")
        .value(":skipped", s(RecipientStatus::Skipped.as_str()))
        .value(":err", s(OPTED_OUT_ERROR))
        .value(":now", s(iso(now)));
        cond = match claimed_by {
            None => cond.value(":queued", s(RecipientStatus::Queued.as_str())),
            Some(mid) => cond
                .value(":sending", s(RecipientStatus::Sending.as_str()))
                .value(":mid", s(mid)),
        };
        let recipient = self.recipient_update(
            tenant_id,
            campaign_id,
            sk,
            "SET #st = :skipped, #err = :err, #upd = :now REMOVE #mid, #cat",
            cond,
        )?;
        let campaign = self.queued_to(tenant_id, campaign_id, "skipped", now)?;
        Ok(self.commit(vec![recipient, campaign]).await? == Commit::Done)
    }

    /// Records the provider's answer: the recipient `sending → sent | failed` (only under
    /// our claim) and the campaign's counters, in one transaction. `false`: the claim is
    /// not ours any more (nothing written) or another transaction was in the way.
    pub async fn record_recipient_outcome(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sk: &str,
        message_id: &str,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut cond = Cond::new("#st = :sending AND #mid = :mid")
            .name("#st", "status")
            .name("#mid", "messageId")
            .name("#upd", "updatedAt")
            .value(":sending", s(RecipientStatus::Sending.as_str()))
            .value(":mid", s(message_id))
            .value(":now", s(iso(now)));
        let (expr, counter) = match outcome {
            Outcome::Sent { wa_message_id } => {
                cond = cond
                    .name("#at", "sentAt")
                    .value(":new", s(RecipientStatus::Sent.as_str()));
                let expr = match wa_message_id {
                    Some(w) => {
                        cond = cond.name("#wa", "waMessageId").value(":wa", s(w));
                        "SET #st = :new, #at = :now, #upd = :now, #wa = :wa"
                    }
                    None => "SET #st = :new, #at = :now, #upd = :now",
                };
                (expr.to_string(), "sent")
            }
            Outcome::Failed { error, code } => {
                cond = cond
                    .name("#at", "failedAt")
                    .name("#err", "error")
                    .value(":new", s(RecipientStatus::Failed.as_str()))
                    .value(":err", s(error));
                let expr = match code {
                    Some(code) => {
                        cond = cond.name("#code", "errorCode").value(":code", n(code));
                        "SET #st = :new, #at = :now, #upd = :now, #err = :err, #code = :code"
                    }
                    None => "SET #st = :new, #at = :now, #upd = :now, #err = :err",
                };
                (expr.to_string(), "failed")
            }
        };
        let recipient = self.recipient_update(tenant_id, campaign_id, sk, &expr, cond)?;
        let campaign = self.queued_to(tenant_id, campaign_id, counter, now)?;
        Ok(self.commit(vec![recipient, campaign]).await? == Commit::Done)
    }

    /// Gives a claim back (`sending → queued`) when the send stopped before the provider.
    pub async fn release_recipient(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sk: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let released = self
            .update_if(
                &campaign_recipients_pk(tenant_id, campaign_id),
                sk,
                "SET #st = :queued, #upd = :now REMOVE #mid, #cat",
                Cond::new("#st = :sending AND #mid = :mid")
                    .name("#st", "status")
                    .name("#upd", "updatedAt")
                    .name("#mid", "messageId")
                    .name("#cat", "claimedAtMs")
                    .value(":queued", s(RecipientStatus::Queued.as_str()))
                    .value(":sending", s(RecipientStatus::Sending.as_str()))
                    .value(":mid", s(message_id))
                    .value(":now", s(iso(now))),
                Returns::NOTHING,
            )
            .await?;
        Ok(released.applied())
    }

    /// Marks `queued` recipients of a cancelled campaign `cancelled`, moving its counters
    /// in the same transaction (at most a batch: ≤ 98 recipients + the campaign). `false`:
    /// one of them was no longer `queued`; read again and retry with the rest.
    pub async fn cancel_recipients(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sks: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        if sks.is_empty() {
            return Ok(true);
        }
        let mut items = Vec::with_capacity(sks.len() + 1);
        let expr = "SET #st = :cancelled, #upd = :now";
        for sk in sks {
            let queued = Cond::new("#st = :queued")
                .name("#st", "status")
                .name("#upd", "updatedAt")
                .value(":cancelled", s(RecipientStatus::Cancelled.as_str()))
                .value(":queued", s(RecipientStatus::Queued.as_str()))
                .value(":now", s(iso(now)));
            items.push(self.recipient_update(tenant_id, campaign_id, sk, expr, queued)?);
        }
        let k = sks.len() as i64;
        items.push(
            self.campaign_update(
                tenant_id,
                campaign_id,
                "ADD #queued :minus, #cancelled :k SET #upd = :now",
                Cond::new("#st = :cancelled")
                    .name("#st", "status")
                    .name("#queued", "queued")
                    .name("#cancelled", "cancelled")
                    .name("#upd", "updatedAt")
                    .value(":cancelled", s(CampaignStatus::Cancelled.as_str()))
                    .value(":minus", n(-k))
                    .value(":k", n(k))
                    .value(":now", s(iso(now))),
            )?,
        );
        Ok(self.commit(items).await? == Commit::Done)
    }

    /// The recipients of one batch (one query on its key range; at most 98 items).
    pub async fn batch_recipients(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        batch_no: u32,
    ) -> StoreResult<Vec<Recipient>> {
        let q = Query::prefix(
            campaign_recipients_pk(tenant_id, campaign_id),
            batch_prefix(batch_no),
        )
        .consistent();
        self.query_all(q).await
    }

    /// One recipient.
    pub async fn get_recipient(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        sk: &str,
    ) -> StoreResult<Option<Recipient>> {
        self.get(&campaign_recipients_pk(tenant_id, campaign_id), sk)
            .await
    }

    /// A campaign's recipients in queueing order, after `after_sk` (exclusive), a page at a
    /// time; the second value is the last key read when more may follow.
    pub async fn list_recipients(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        after_sk: Option<&str>,
        limit: i32,
    ) -> StoreResult<(Vec<Recipient>, Option<String>)> {
        let pk = campaign_recipients_pk(tenant_id, campaign_id);
        let q = match after_sk {
            Some(after) => Query::partition(pk)
                .between(format!("{after}\u{1}"), format!("{RECIPIENT_PREFIX}~")),
            None => Query::prefix(pk, RECIPIENT_PREFIX),
        };
        let (recipients, last) = self.query_page(&q.consistent(), limit, None).await?;
        let last = last
            .as_ref()
            .and_then(|k| k.get(SK))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok((recipients, last))
    }
}

/// The campaign's state changes, one conditional update each (with its scheduler entry in
/// the same transaction). `false`: the condition did not hold (someone else moved the
/// campaign first, or another transaction held it); nothing was written.
impl Store {
    /// `scheduled → running`, due for the scheduler at `due_at`.
    pub async fn start_campaign(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        now: DateTime<Utc>,
        due_at: i64,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            tenant_id,
            campaign_id,
            "SET #st = :to, #upd = :now",
            status_cond("#st = :scheduled", CampaignStatus::Running, now)
                .value(":scheduled", s(CampaignStatus::Scheduled.as_str())),
            Due::At(due_at),
        )
        .await
    }

    /// `paused → running`, only if it is still paused for `reason`. The pause is cleared and
    /// `batchLastDueMs = 0` makes the batch in flight stale, so its leftovers (their messages
    /// were dropped while paused) are queued again at once.
    pub async fn resume_campaign(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        reason: PauseReason,
        now: DateTime<Utc>,
        due_at: i64,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            tenant_id,
            campaign_id,
            "SET #st = :to, #upd = :now, #blast = :zero REMOVE #pr, #pm, #pd",
            status_cond(
                "#st = :paused AND #pr = :reason",
                CampaignStatus::Running,
                now,
            )
            .name("#blast", "batchLastDueMs")
            .name("#pr", "pauseReason")
            .name("#pm", "pauseMessage")
            .name("#pd", "pausedDay")
            .value(":paused", s(CampaignStatus::Paused.as_str()))
            .value(":reason", s(reason.as_str()))
            .value(":zero", n(0)),
            Due::At(due_at),
        )
        .await
    }

    /// `running → paused` with its reason, message and the UTC day it happened.
    pub async fn pause_campaign(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        reason: PauseReason,
        message: &str,
        now: chrono::DateTime<chrono::Utc>,
        due: Due,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            tenant_id,
            campaign_id,
            "SET #st = :paused, #pr = :reason, #pm = :message, #pd = :day, #upd = :now",
            status_cond("#st = :to", CampaignStatus::Running, now)
                .name("#pr", "pauseReason")
                .name("#pm", "pauseMessage")
                .name("#pd", "pausedDay")
                .value(":paused", s(CampaignStatus::Paused.as_str()))
                .value(":reason", s(reason.as_str()))
                .value(":message", s(message))
                .value(":day", s(crate::domain::quota::day_of(now))),
            due,
        )
        .await
    }

    /// Records that the audience ended exactly at batch `batch` (running, nothing in flight):
    /// `sourceDone`, and no cursor.
    pub async fn end_campaign_audience(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        batch: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            tenant_id,
            campaign_id,
            "SET #done = :true, #upd = :now REMOVE #cursor",
            status_cond(
                "#st = :to AND #batch = :b AND #queued = :zero",
                CampaignStatus::Running,
                now,
            )
            .name("#done", "sourceDone")
            .name("#cursor", "cursor")
            .name("#batch", "batch")
            .name("#queued", "queued")
            .value(":true", AttributeValue::Bool(true))
            .value(":b", n(batch))
            .value(":zero", n(0)),
            Due::Keep,
        )
        .await
    }

    /// Takes the batch in flight for queueing its leftovers again: the next `batchRound`
    /// (guarded by the round `c` was read at, so two callers cannot both queue them) and the
    /// new pacing, due for the scheduler at `due_at`.
    pub async fn requeue_campaign_batch(
        &self,
        c: &Campaign,
        first_due_ms: i64,
        last_due_ms: i64,
        next_send_at_ms: i64,
        now: DateTime<Utc>,
        due_at: i64,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            &c.tenant_id,
            &c.id,
            "SET #bround = :nr, #bfirst = :first, #blast = :last, #next = :next, #upd = :now",
            status_cond(
                "#st = :to AND #batch = :b AND #bround = :r",
                CampaignStatus::Running,
                now,
            )
            .name("#bround", "batchRound")
            .name("#bfirst", "batchFirstDueMs")
            .name("#blast", "batchLastDueMs")
            .name("#next", "nextSendAtMs")
            .name("#batch", "batch")
            .value(":b", n(c.batch))
            .value(":r", n(c.batch_round))
            .value(":nr", n(c.batch_round + 1))
            .value(":first", n(first_due_ms))
            .value(":last", n(last_due_ms))
            .value(":next", n(next_send_at_ms)),
            Due::At(due_at),
        )
        .await
    }

    /// `running → completed`, only with nothing queued or pending and the audience read to
    /// its end. The scheduler entry is due at `due_at` (it stays until the completion event
    /// is published).
    pub async fn complete_campaign(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        now: DateTime<Utc>,
        due_at: i64,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            tenant_id,
            campaign_id,
            "SET #st = :to, #upd = :now, #cat = :now",
            status_cond(
                "#st = :was AND #queued = :zero AND #pending = :zero AND #done = :true",
                CampaignStatus::Completed,
                now,
            )
            .name("#cat", "completedAt")
            .name("#queued", "queued")
            .name("#pending", "pending")
            .name("#done", "sourceDone")
            .value(":was", s(CampaignStatus::Running.as_str()))
            .value(":zero", n(0))
            .value(":true", AttributeValue::Bool(true)),
            Due::At(due_at),
        )
        .await
    }

    /// `scheduled | running | paused → cancelled`: its pending recipients become cancelled
    /// (a count) and its scheduler entry goes.
    pub async fn cancel_campaign(
        &self,
        tenant_id: &str,
        campaign_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.transition_campaign(
            tenant_id,
            campaign_id,
            "SET #st = :to, #upd = :now, #cat = :now, #cancelled = #cancelled + #pending, #pending = :zero",
            status_cond("#st IN (:s1, :s2, :s3)", CampaignStatus::Cancelled, now)
                .name("#cat", "cancelledAt")
                .name("#cancelled", "cancelled")
                .name("#pending", "pending")
                .value(":s1", s(CampaignStatus::Scheduled.as_str()))
                .value(":s2", s(CampaignStatus::Running.as_str()))
                .value(":s3", s(CampaignStatus::Paused.as_str()))
                .value(":zero", n(0)),
            Due::Remove,
        )
        .await
    }
}

/// A condition on the campaign's status with the placeholders every transition uses:
/// `#st`, `#upd`, `:to` (the status to set, or to test) and `:now`.
fn status_cond(expr: &str, to: CampaignStatus, now: DateTime<Utc>) -> Cond {
    Cond::new(expr)
        .name("#st", "status")
        .name("#upd", "updatedAt")
        .value(":to", s(to.as_str()))
        .value(":now", s(iso(now)))
}
