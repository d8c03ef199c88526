//! Contacts at scale: `POST /api/contacts/import` (a CSV file, done by the contact-jobs
//! worker in chunks) and `GET /api/contacts/imports/{id}`; `POST /api/contacts/export` and
//! `GET /api/contacts/exports/{id}` (a CSV file in S3 behind a pre-signed link).

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wati_shared::domain::contact_csv::MAX_IMPORT_BYTES;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{ApiBody, ApiError, ApiPath, ApiQuery};
use wati_shared::services::contact_jobs;
use wati_shared::store::contact_jobs::{
    ContactExport, ContactImport, ExportFilter, JobStatus, RowError,
};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Also add every imported contact to this contact list.
    #[serde(rename = "listId")]
    #[param(rename = "listId")]
    pub list_id: Option<String>,
}

/// An import as the API shows it. The counts add up to `rows` once it is `completed`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    pub id: String,
    pub status: JobStatus,
    /// Data rows read (the header and blank lines are not rows).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows whose phone came earlier in the file (merged into that row: the last non-empty
    /// name wins, tags are united).
    pub duplicates: u64,
    pub failed: u64,
    /// The first 100 rows that failed, by row (the header is row 1).
    pub errors: Vec<RowError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl From<ContactImport> for ImportView {
    fn from(i: ContactImport) -> Self {
        ImportView {
            id: i.id,
            status: i.status,
            rows: i.rows,
            created: i.created,
            updated: i.updated,
            unchanged: i.unchanged,
            duplicates: i.duplicates,
            failed: i.failed,
            errors: i.errors,
            list_id: i.list_id,
            created_at: wati_shared::domain::time::iso(i.created_at),
            completed_at: i.completed_at.map(wati_shared::domain::time::iso),
        }
    }
}

wati_shared::envelope!(ImportEnvelope, import: ImportView);

/// Import contacts from a CSV file (the body itself, `Content-Type: text/csv`, up to 10 MB):
/// a header row naming `phone` (required), `name`, `tags` (separated by `;` or `|`) and
/// `optedOut`; UTF-8 with or without a BOM, comma or semicolon separated, quoted fields.
/// Each row follows the rules of `POST /api/contacts` (phones by the tenant's default
/// country). Answers at once; the work is done in the background: poll the import.
#[utoipa::path(post, path = "/api/contacts/import", tag = "contacts",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 202, body = ImportEnvelope),
        (status = 400, description = "Not a CSV file with a phone column, or over 10 MB", body = ErrorBody),
        (status = 404, description = "listId not found", body = ErrorBody)))]
pub async fn import_contacts(
    Authed { state, caller }: Authed,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportEnvelope>)> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json {
        return Err(ApiError::bad_request(
            "Send the CSV file itself as the body, with Content-Type: text/csv",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES + 1)
        .await
        .map_err(|_| {
            ApiError::bad_request(format!(
                "The file must be at most {MAX_IMPORT_BYTES} bytes (10 MB)"
            ))
        })?;
    let list_id = q
        .list_id
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let import = contact_jobs::start_import(&state, &caller.tenant_id, &bytes, list_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ImportEnvelope {
            import: import.into(),
        }),
    ))
}

/// An import's progress and result.
#[utoipa::path(get, path = "/api/contacts/imports/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Import id")),
    responses((status = 200, body = ImportEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get_import(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ImportEnvelope>> {
    match contact_jobs::get_import(&state, &caller.tenant_id, &id).await? {
        Some(import) => Ok(Json(ImportEnvelope {
            import: import.into(),
        })),
        None => Err(ApiError::not_found("Import not found")),
    }
}

/// What to export: at most one of these (none: every contact).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest {
    /// The contacts with this tag.
    pub tag: Option<String>,
    /// A contact list's members.
    pub list_id: Option<String>,
    /// Only opted-out (`true`) or only subscribed (`false`) contacts.
    pub opted_out: Option<bool>,
}

/// An export as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportView {
    pub id: String,
    pub status: JobStatus,
    /// Contacts in the file (once completed).
    pub rows: u64,
    /// Downloads the CSV (`phone,name,tags,optedOut`: an export imports back unchanged);
    /// valid for an hour from this answer. Only once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

wati_shared::envelope!(ExportEnvelope, export: ExportView);

fn export_view(e: ContactExport, url: Option<String>) -> ExportView {
    ExportView {
        id: e.id,
        status: e.status,
        rows: e.rows,
        url,
        created_at: wati_shared::domain::time::iso(e.created_at),
        completed_at: e.completed_at.map(wati_shared::domain::time::iso),
    }
}

/// Export contacts as CSV (the import's columns) to a file behind a download link. The
/// file is written in the background: poll the export.
#[utoipa::path(post, path = "/api/contacts/export", tag = "contacts",
    request_body = ExportRequest,
    responses((status = 202, body = ExportEnvelope),
        (status = 400, body = ErrorBody),
        (status = 404, description = "listId not found", body = ErrorBody)))]
pub async fn export_contacts(
    Authed { state, caller }: Authed,
    ApiBody(body): ApiBody,
) -> ApiResult<(StatusCode, Json<ExportEnvelope>)> {
    let req: ExportRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExportRequest::default()
    } else {
        wati_shared::http::parse_json(&body)?
    };
    let filter = ExportFilter {
        tag: req.tag,
        list_id: req.list_id,
        opted_out: req.opted_out,
    };
    let export = contact_jobs::start_export(&state, &caller.tenant_id, filter).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ExportEnvelope {
            export: export_view(export, None),
        }),
    ))
}

/// An export's progress; once `completed`, its `url`.
#[utoipa::path(get, path = "/api/contacts/exports/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Export id")),
    responses((status = 200, body = ExportEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get_export(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ExportEnvelope>> {
    let Some(export) = state.store.get_export(&caller.tenant_id, &id).await? else {
        return Err(ApiError::not_found("Export not found"));
    };
    let url = match export.status {
        JobStatus::Completed => contact_jobs::download_link(&state, &export).await,
        _ => None,
    };
    Ok(Json(ExportEnvelope {
        export: export_view(export, url),
    }))
}
