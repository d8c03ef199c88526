//! Contacts at scale: CSV imports and exports, done by the contact-jobs worker through SQS
//! (`ContactJobsQueue`). See `docs/consent.md`, "CSV import and export".
//!
//! **Import.** The request reads the whole file (≤ 10 MB: 100,000 rows in well under a
//! second), checks every row with the rules of `POST /api/contacts` (the tenant's default
//! country included), merges rows that share a phone (`duplicates`), stores the merged
//! entries in chunks of [`CHUNK_ENTRIES`] (each its own item) and queues one job per chunk.
//! The worker upserts a chunk's contacts exactly as a bulk upsert does and records its
//! counts with a done-marker in the same transaction, so a redelivered chunk changes nothing
//! twice; the last chunk completes the import. `rows = created + updated + unchanged +
//! duplicates + failed`.
//!
//! **Export.** The worker reads the contacts a page at a time (all, a tag, a list or a
//! consent state), writes the CSV (the import's columns) and puts it in the exports bucket;
//! `GET` answers a pre-signed link to it.

use crate::adapters::queues::{self, Outgoing};
use crate::domain::consent::ConsentSource;
use crate::domain::contact_csv::{self, MAX_IMPORT_BYTES};
use crate::domain::contacts::{self as rules, ConsentChange, Group};
use crate::runtime::state::AppState;
use crate::services::phones;
use crate::store::contact_jobs::{
    ChunkCounts, ContactExport, ContactImport, ExportFilter, ImportEntry, JobStatus, RowError,
    MAX_IMPORT_ERRORS,
};
use crate::store::contact_lists::{MemberChange, MemberRef};
use crate::store::contacts::{ContactFilter, UpsertOutcome};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};

/// Merged entries per chunk (one SQS job, one bulk upsert).
pub const CHUNK_ENTRIES: usize = 250;

/// What the contact-jobs queue carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "camelCase")]
pub enum ContactJob {
    #[serde(rename_all = "camelCase")]
    ImportChunk {
        tenant_id: String,
        import_id: String,
        chunk: u32,
    },
    #[serde(rename_all = "camelCase")]
    Export {
        tenant_id: String,
        export_id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole cannot be read; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error("Contact list {0} not found")]
    ListNotFound(String),
    #[error("CONTACT_JOBS_QUEUE_URL is not configured")]
    NoQueue,
    #[error("EXPORTS_BUCKET is not configured")]
    NoBucket,
    #[error("queueing contact jobs failed: {0}")]
    Queue(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues jobs (ten per SQS call).
pub async fn enqueue(state: &AppState, jobs: &[ContactJob]) -> Result<(), ImportError> {
    let url = state
        .config
        .queues
        .contact_jobs
        .as_deref()
        .ok_or(ImportError::NoQueue)?;
    let outgoing: Vec<_> = jobs
        .iter()
        .map(|body| Outgoing {
            body,
            delay_secs: 0,
        })
        .collect();
    queues::send_all(&state.aws.sqs, url, &outgoing)
        .await
        .map_err(|e| ImportError::Queue(e.to_string()))
}

/// `POST /api/contacts/import`: reads and checks the file, stores its entries in chunks and
/// queues them. The import is `queued` (or `completed` at once when no row was valid).
pub async fn start_import(
    state: &AppState,
    tenant_id: &str,
    body: &[u8],
    list_id: Option<&str>,
) -> Result<ContactImport, ImportError> {
    if body.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::Invalid(format!(
            "The file is {} bytes: at most {MAX_IMPORT_BYTES} (10 MB) per import",
            body.len()
        )));
    }
    if let Some(list) = list_id {
        if state
            .store
            .get_contact_list(tenant_id, list)
            .await?
            .is_none()
        {
            return Err(ImportError::ListNotFound(list.to_string()));
        }
    }
    let country = phones::rules(state, tenant_id).await?.country();
    let parsed = contact_csv::parse(body, country).map_err(ImportError::Invalid)?;
    let groups = rules::group_by_phone(&parsed.entries, ConsentSource::Import);
    let duplicates: usize = groups.iter().map(|g| g.indices.len() - 1).sum();
    let entries: Vec<ImportEntry> = groups
        .into_iter()
        .map(|g| ImportEntry {
            row: g.indices.first().copied().unwrap_or_default(),
            phone: g.phone,
            name: g.name,
            tags: g.tags,
            opt_out: g.consent.is_some_and(|c| c.opted_out),
        })
        .collect();
    let chunks: Vec<Vec<ImportEntry>> = entries
        .chunks(CHUNK_ENTRIES)
        .map(<[ImportEntry]>::to_vec)
        .collect();
    let now = state.clock.now();
    let import = ContactImport {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant_id.to_string(),
        status: if chunks.is_empty() {
            JobStatus::Completed
        } else {
            JobStatus::Queued
        },
        rows: parsed.rows as u64,
        created: 0,
        updated: 0,
        unchanged: 0,
        duplicates: duplicates as u64,
        failed: parsed.errors.len() as u64,
        errors: parsed
            .errors
            .into_iter()
            .take(MAX_IMPORT_ERRORS)
            .map(|e| RowError {
                row: e.row,
                error: e.error,
            })
            .collect(),
        list_id: list_id.map(str::to_string),
        chunks: chunks.len() as u32,
        chunks_done: 0,
        created_at: now,
        started_at: None,
        completed_at: chunks.is_empty().then_some(now),
    };
    let jobs: Vec<ContactJob> = (0..chunks.len() as u32)
        .map(|chunk| ContactJob::ImportChunk {
            tenant_id: tenant_id.to_string(),
            import_id: import.id.clone(),
            chunk,
        })
        .collect();
    state.store.create_import(&import, chunks).await?;
    enqueue(state, &jobs).await?;
    tracing::info!(import_id = %import.id, rows = import.rows, chunks = import.chunks, failed = import.failed, duplicates = import.duplicates, "contact import queued");
    Ok(import)
}

/// The import, errors first by row.
pub async fn get_import(
    state: &AppState,
    tenant_id: &str,
    id: &str,
) -> Result<Option<ContactImport>, StoreError> {
    let mut import = state.store.get_import(tenant_id, id).await?;
    if let Some(i) = &mut import {
        i.errors.sort_by_key(|e| e.row);
        i.errors.truncate(MAX_IMPORT_ERRORS);
    }
    Ok(import)
}

/// The worker: one chunk of an import. `Err` leaves the job to SQS (nothing is counted
/// until the chunk's done-marker is written, so a retry counts it once).
pub async fn import_chunk(
    state: &AppState,
    tenant_id: &str,
    import_id: &str,
    chunk: u32,
) -> Result<(), StoreError> {
    let store = &state.store;
    if store.import_chunk_done(tenant_id, import_id, chunk).await? {
        tracing::info!(import_id, chunk, "import chunk already recorded");
        return Ok(());
    }
    let Some(import) = store.get_import(tenant_id, import_id).await? else {
        tracing::warn!(import_id, "import gone: chunk dropped");
        return Ok(());
    };
    let now = state.clock.now();
    store.start_import(tenant_id, import_id, now).await?;
    let Some(entries) = store.import_chunk(tenant_id, import_id, chunk).await? else {
        tracing::error!(import_id, chunk, "import chunk gone: import failed");
        store.fail_import(tenant_id, import_id).await?;
        return Ok(());
    };
    let groups: Vec<Group> = entries
        .iter()
        .map(|e| Group {
            phone: e.phone.clone(),
            indices: vec![e.row],
            name: e.name.clone(),
            tags: e.tags.clone(),
            consent: e
                .opt_out
                .then(|| ConsentChange::new(true, ConsentSource::Import)),
        })
        .collect();
    let outcomes = store.upsert_contacts(tenant_id, &groups, now).await?;
    let mut counts = ChunkCounts::default();
    let mut ids = Vec::new();
    for (entry, outcome) in entries.iter().zip(outcomes) {
        match outcome {
            UpsertOutcome::Created(c) => {
                counts.created += 1;
                ids.push(c.id);
            }
            UpsertOutcome::Updated(c) => {
                counts.updated += 1;
                ids.push(c.id);
            }
            UpsertOutcome::Unchanged(c) => {
                counts.unchanged += 1;
                ids.push(c.id);
            }
            UpsertOutcome::Failed(error) => {
                counts.failed += 1;
                counts.errors.push(RowError {
                    row: entry.row,
                    error: error
                        .replace("contacts[0].", "")
                        .replace(&format!("contacts[{}].", entry.row), ""),
                });
            }
        }
    }
    if let Some(list_id) = &import.list_id {
        let refs: Vec<MemberRef> = ids.into_iter().map(MemberRef::Id).collect();
        match store
            .change_list_members(tenant_id, list_id, MemberChange::Add, &refs, now)
            .await?
        {
            None => tracing::warn!(import_id, list_id, "the import's list is gone"),
            Some(outcomes) => tracing::info!(
                import_id,
                list_id,
                members = outcomes.len(),
                "imported contacts added to the list"
            ),
        }
    }
    let recorded = store
        .record_import_chunk(
            tenant_id,
            import_id,
            chunk,
            &counts,
            import.errors.len(),
            state.clock.now(),
        )
        .await?;
    if !recorded {
        tracing::info!(
            import_id,
            chunk,
            "import chunk recorded by another delivery"
        );
        return Ok(());
    }
    if store
        .complete_import(tenant_id, import_id, state.clock.now())
        .await?
    {
        tracing::info!(import_id, "contact import completed");
    }
    Ok(())
}

/// Contacts read per page by an export.
const EXPORT_PAGE: i32 = 500;
/// How long an export's download link works.
pub const LINK_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// `POST /api/contacts/export`: at most one of `tag`, `listId`, `optedOut` (none: every
/// contact). The export is `queued`; the worker writes it.
pub async fn start_export(
    state: &AppState,
    tenant_id: &str,
    filter: ExportFilter,
) -> Result<ContactExport, ImportError> {
    let given = [
        filter.tag.is_some(),
        filter.list_id.is_some(),
        filter.opted_out.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ImportError::Invalid(
            "Export by one of \"tag\", \"listId\" or \"optedOut\" (or none of them: every contact)"
                .into(),
        ));
    }
    let tag = filter
        .tag
        .as_deref()
        .map(|t| rules::tag("tag", t))
        .transpose()
        .map_err(ImportError::Invalid)?;
    if let Some(list) = &filter.list_id {
        if state
            .store
            .get_contact_list(tenant_id, list)
            .await?
            .is_none()
        {
            return Err(ImportError::ListNotFound(list.clone()));
        }
    }
    if state.config.exports_bucket.is_none() {
        return Err(ImportError::NoBucket);
    }
    let export = ContactExport {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant_id.to_string(),
        status: JobStatus::Queued,
        filter: ExportFilter { tag, ..filter },
        rows: 0,
        object_key: None,
        error: None,
        created_at: state.clock.now(),
        completed_at: None,
    };
    state.store.create_export(&export).await?;
    enqueue(
        state,
        &[ContactJob::Export {
            tenant_id: tenant_id.to_string(),
            export_id: export.id.clone(),
        }],
    )
    .await?;
    Ok(export)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("EXPORTS_BUCKET is not configured")]
    NoBucket,
    #[error("storing the export failed: {0}")]
    S3(String),
}

/// The worker: reads the contacts a page at a time, writes the CSV to the exports bucket
/// and completes the export. A redelivered job writes the same file again.
pub async fn export(state: &AppState, tenant_id: &str, export_id: &str) -> Result<(), ExportError> {
    let store = &state.store;
    let Some(mut export) = store.get_export(tenant_id, export_id).await? else {
        return Ok(());
    };
    if export.status == JobStatus::Completed {
        return Ok(());
    }
    let bucket = state
        .config
        .exports_bucket
        .clone()
        .ok_or(ExportError::NoBucket)?;
    export.status = JobStatus::Running;
    store.save_export(&export).await?;
    let filter = match (&export.filter.tag, export.filter.opted_out) {
        (Some(tag), _) => Some(ContactFilter::Tag(tag.clone())),
        (None, Some(out)) => Some(ContactFilter::OptedOut(out)),
        (None, None) => export
            .filter
            .list_id
            .is_none()
            .then_some(ContactFilter::All),
    };
    let mut file = contact_csv::header();
    let mut rows = 0u64;
    let mut cursor: Option<String> = None;
    loop {
        let (contacts, next) = match (&filter, &export.filter.list_id) {
            (Some(f), _) => {
                store
                    .list_contacts(tenant_id, f, cursor.as_deref(), EXPORT_PAGE)
                    .await?
            }
            (None, Some(list)) => {
                let page = store
                    .list_members_page(tenant_id, list, cursor.as_deref(), EXPORT_PAGE)
                    .await?;
                let ids: Vec<String> = page.members.into_iter().map(|m| m.contact_id).collect();
                (
                    store.contacts_by_ids(tenant_id, &ids).await?,
                    page.next_cursor,
                )
            }
            (None, None) => (Vec::new(), None),
        };
        for c in &contacts {
            file.extend(contact_csv::line(&c.phone, &c.name, &c.tags, c.opted_out));
            rows += 1;
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let key = format!("contact-exports/{tenant_id}/{export_id}.csv");
    let disposition = format!("attachment; filename=\"contacts-{export_id}.csv\"");
    let headers = crate::adapters::s3::ObjectHeaders {
        content_type: "text/csv; charset=utf-8",
        content_disposition: &disposition,
    };
    state
        .aws
        .s3()
        .put(&bucket, &key, headers, file)
        .await
        .map_err(|e| ExportError::S3(e.to_string()))?;
    export.status = JobStatus::Completed;
    export.rows = rows;
    export.object_key = Some(key);
    export.completed_at = Some(state.clock.now());
    store.save_export(&export).await?;
    tracing::info!(export_id, rows, "contact export written");
    Ok(())
}

/// A link that downloads the export's file for [`LINK_TTL`] (signed now, no AWS call).
pub async fn download_link(state: &AppState, export: &ContactExport) -> Option<String> {
    let key = export.object_key.as_deref()?;
    let bucket = state.config.exports_bucket.as_deref()?;
    match state.aws.s3().presigned_get(bucket, key, LINK_TTL).await {
        Ok(link) => Some(link),
        Err(e) => {
            tracing::error!(error = %e, "signing an export link failed");
            None
        }
    }
}
