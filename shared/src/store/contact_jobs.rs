//! Contact imports and exports: the job items a client polls, an import's chunks of rows
//! and their done-markers. Keys: `keys.rs`; the flow: `services::contact_jobs`.

use super::keys::*;
use super::table::{self, keyed, Commit, Cond, Returns};
use super::{n, s, to_item, Store, StoreResult};
use crate::domain::time;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Errors an import keeps (the first ones by row).
pub const MAX_IMPORT_ERRORS: usize = 100;
/// How long job items and chunks are kept (TTL).
const JOB_DAYS: i64 = 30;
const CHUNK_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// The row's number in the file (the header is row 1).
    pub row: usize,
    pub error: String,
}

/// An import as stored and shown. `rows = created + updated + unchanged + duplicates +
/// failed` once it is completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactImport {
    pub id: String,
    pub tenant_id: String,
    pub status: JobStatus,
    /// Data rows read from the file.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows whose phone came earlier in the file (merged into that row).
    pub duplicates: u64,
    pub failed: u64,
    #[serde(default)]
    pub errors: Vec<RowError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    pub chunks: u32,
    #[serde(default)]
    pub chunks_done: u32,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
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
}

/// One group of rows of an import that share a phone, as a chunk stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportEntry {
    /// The first row with this phone (it carries the result).
    #[serde(rename = "r")]
    pub row: usize,
    #[serde(rename = "p")]
    pub phone: String,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(rename = "o", default, skip_serializing_if = "std::ops::Not::not")]
    pub opt_out: bool,
}

/// What one chunk came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
}

/// What an export reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out: Option<bool>,
}

/// An export as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactExport {
    pub id: String,
    pub tenant_id: String,
    pub status: JobStatus,
    pub filter: ExportFilter,
    /// Contacts written so far (all of them once completed).
    #[serde(default)]
    pub rows: u64,
    /// Where the file is (the object key in the exports bucket), once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::secs_opt"
    )]
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct ChunkItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entries: Vec<ImportEntry>,
    #[serde(rename = "expiresAt")]
    expires_at: i64,
}

fn expiring(mut item: super::Item, at: DateTime<Utc>, days: i64) -> super::Item {
    item.insert(
        "expiresAt".into(),
        n((at + chrono::Duration::days(days)).timestamp()),
    );
    item
}

impl Store {
    /// Writes an import's chunks (each its own partition, 16 in flight), then the import.
    pub async fn create_import(
        &self,
        import: &ContactImport,
        chunks: Vec<Vec<ImportEntry>>,
    ) -> StoreResult<()> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let expires_at = (import.created_at + chrono::Duration::days(CHUNK_DAYS)).timestamp();
        let writes = chunks.into_iter().enumerate().map(|(i, entries)| {
            let item = ChunkItem {
                pk: import_chunk_pk(&import.tenant_id, &import.id, i as u32),
                sk: IMPORT_CHUNK_SK.to_string(),
                entries,
                expires_at,
            };
            async move { self.put(to_item(&item)?).await }
        });
        stream::iter(writes)
            .buffer_unordered(table::CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        let sk = import_sk(&import.id);
        self.put_job(import, &import.tenant_id, &sk, import.created_at)
            .await
    }

    pub async fn get_import(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<ContactImport>> {
        self.get_job(tenant_id, id, import_sk).await
    }

    /// An import or export, under the tenant's jobs, expiring `JOB_DAYS` after `created_at`.
    async fn put_job<T: Serialize>(
        &self,
        job: &T,
        tenant_id: &str,
        sk: &str,
        created_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let item = keyed(job, contact_jobs_pk(tenant_id), sk)?;
        self.put(expiring(item, created_at, JOB_DAYS)).await
    }

    /// An import or export by id (`None` also for ids that are not UUIDs).
    async fn get_job<T: serde::de::DeserializeOwned>(
        &self,
        tenant_id: &str,
        id: &str,
        sk_of: fn(&str) -> String,
    ) -> StoreResult<Option<T>> {
        if !super::is_id(id) {
            return Ok(None);
        }
        self.get(&contact_jobs_pk(tenant_id), &sk_of(id)).await
    }

    /// A chunk's rows (`None`: gone, e.g. expired).
    pub async fn import_chunk(
        &self,
        tenant_id: &str,
        import_id: &str,
        chunk: u32,
    ) -> StoreResult<Option<Vec<ImportEntry>>> {
        let pk = import_chunk_pk(tenant_id, import_id, chunk);
        let item: Option<ChunkItem> = self.get(&pk, IMPORT_CHUNK_SK).await?;
        Ok(item.map(|c| c.entries))
    }

    /// Whether a chunk's counts are recorded already (a redelivered chunk does nothing).
    pub async fn import_chunk_done(
        &self,
        tenant_id: &str,
        import_id: &str,
        chunk: u32,
    ) -> StoreResult<bool> {
        let pk = import_chunk_pk(tenant_id, import_id, chunk);
        let done: Option<serde_json::Value> = self.get(&pk, IMPORT_CHUNK_DONE_SK).await?;
        Ok(done.is_some())
    }

    /// `queued → running`, and when it started (a no-op after the first chunk).
    pub async fn start_import(
        &self,
        tenant_id: &str,
        import_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.update_if(
            &contact_jobs_pk(tenant_id),
            &import_sk(import_id),
            "SET #st = :running, #sat = :now",
            Cond::new("#st = :queued")
                .name("#st", "status")
                .name("#sat", "startedAt")
                .value(":running", s(JobStatus::Running.as_str()))
                .value(":queued", s(JobStatus::Queued.as_str()))
                .value(":now", s(time::iso(now))),
            Returns::NOTHING,
        )
        .await
        .map(drop)
    }

    /// Records a chunk's counts once: its done-marker (which must be new) and the import's
    /// counters in one transaction; the chunk's errors are kept while the import has fewer
    /// than [`MAX_IMPORT_ERRORS`] (`seen_errors`: how many it had when the chunk began).
    /// `false`: the chunk was recorded before (nothing written).
    pub async fn record_import_chunk(
        &self,
        tenant_id: &str,
        import_id: &str,
        chunk: u32,
        counts: &ChunkCounts,
        seen_errors: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let marker = table::put(
            &self.table,
            to_item(&serde_json::json!({
                "PK": import_chunk_pk(tenant_id, import_id, chunk),
                "SK": IMPORT_CHUNK_DONE_SK,
                "expiresAt": (now + chrono::Duration::days(CHUNK_DAYS)).timestamp(),
            }))?,
            Some(Cond::absent()),
        )?;
        let keep: Vec<AttributeValue> = counts
            .errors
            .iter()
            .take(MAX_IMPORT_ERRORS.saturating_sub(seen_errors))
            .map(|e| to_item(e).map(AttributeValue::M))
            .collect::<StoreResult<_>>()?;
        let mut expr = String::from(
            "ADD #created :c, #updated :u, #unchanged :n, #failed :f, #done :one SET #upd = :now",
        );
        let mut cond = Cond::exists()
            .name("#created", "created")
            .name("#updated", "updated")
            .name("#unchanged", "unchanged")
            .name("#failed", "failed")
            .name("#done", "chunksDone")
            .name("#upd", "updatedAt")
            .value(":c", n(counts.created))
            .value(":u", n(counts.updated))
            .value(":n", n(counts.unchanged))
            .value(":f", n(counts.failed))
            .value(":one", n(1))
            .value(":now", s(time::iso(now)));
        if !keep.is_empty() {
            expr.push_str(", #errors = list_append(if_not_exists(#errors, :none), :errs)");
            cond = cond
                .name("#errors", "errors")
                .value(":none", AttributeValue::L(Vec::new()))
                .value(":errs", AttributeValue::L(keep));
        }
        let update = table::update(
            &self.table,
            &contact_jobs_pk(tenant_id),
            &import_sk(import_id),
            &expr,
            cond,
        )?;
        Ok(self.commit(vec![marker, update]).await? == Commit::Done)
    }

    /// `completed` once every chunk is recorded (only the last chunk's call changes it).
    pub async fn complete_import(
        &self,
        tenant_id: &str,
        import_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let written = self
            .update_if(
                &contact_jobs_pk(tenant_id),
                &import_sk(import_id),
                "SET #st = :completed, #cat = :now",
                Cond::new("#done = #chunks AND #st <> :completed")
                    .name("#st", "status")
                    .name("#cat", "completedAt")
                    .name("#done", "chunksDone")
                    .name("#chunks", "chunks")
                    .value(":completed", s(JobStatus::Completed.as_str()))
                    .value(":now", s(time::iso(now))),
                Returns::NOTHING,
            )
            .await?;
        Ok(written.applied())
    }

    /// Marks an import `failed` (its rows could not be read back).
    pub async fn fail_import(&self, tenant_id: &str, import_id: &str) -> StoreResult<()> {
        self.update_if(
            &contact_jobs_pk(tenant_id),
            &import_sk(import_id),
            "SET #st = :failed",
            Cond::exists()
                .name("#st", "status")
                .value(":failed", s(JobStatus::Failed.as_str())),
            Returns::NOTHING,
        )
        .await
        .map(drop)
    }

    pub async fn create_export(&self, export: &ContactExport) -> StoreResult<()> {
        let sk = export_sk(&export.id);
        self.put_job(export, &export.tenant_id, &sk, export.created_at)
            .await
    }

    pub async fn get_export(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<ContactExport>> {
        self.get_job(tenant_id, id, export_sk).await
    }

    /// Writes an export's new state (the worker owns it; a redelivered job writes the same).
    pub async fn save_export(&self, export: &ContactExport) -> StoreResult<()> {
        self.create_export(export).await
    }
}
