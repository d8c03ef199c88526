//! Contacts in bulk: `POST /api/contacts` (upsert up to 1,000, merged by phone) and
//! `DELETE /api/contacts`.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::consent::ConsentSource;
use wati_shared::domain::contacts::{
    self as rules, ContactInput, MAX_CONTACTS_PER_REQUEST, MAX_IDS_PER_REQUEST,
};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::services::phones;
use wati_shared::store::contacts::UpsertOutcome;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertContactsRequest {
    /// 1 to 1,000 contacts. An entry that is not valid is reported in `results` and the
    /// others are saved.
    #[schema(value_type = Vec<ContactInput>)]
    pub contacts: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpsertContactStatus {
    /// A new contact.
    Created,
    /// An existing contact (same phone): name replaced if given, tags merged.
    Updated,
    /// An existing contact that this entry would not change (nothing written).
    Unchanged,
    /// The same phone as an earlier entry (`duplicateOf`), merged into it.
    Duplicate,
    Error,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsertContactResult {
    /// Position in the request's `contacts`.
    pub index: usize,
    pub status: UpsertContactStatus,
    pub id: Option<String>,
    /// The phone as stored (digits only).
    pub phone: Option<String>,
    pub duplicate_of: Option<usize>,
    pub error: Option<String>,
}

/// One result per entry; the counts add up to the number of entries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsertContactsReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub duplicates: usize,
    pub failed: usize,
    pub results: Vec<UpsertContactResult>,
}

/// Bulk upsert by phone. Phones are normalised to digits; entries with the same phone are
/// merged (the last non-empty name wins, tags are united); an existing contact with that
/// phone keeps its tags and gains the new ones, and its name is replaced only by a non-empty
/// one. Invalid entries are reported per entry without failing the rest.
#[utoipa::path(post, path = "/api/contacts", tag = "contacts",
    request_body = UpsertContactsRequest,
    responses((status = 200, body = UpsertContactsReport),
        (status = 400, description = "Not a list of contacts, empty, or more than 1,000", body = ErrorBody)))]
pub async fn upsert_contacts(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<UpsertContactsRequest>,
) -> ApiResult<Json<UpsertContactsReport>> {
    let n = req.contacts.len();
    if n == 0 {
        return Err(ApiError::bad_request("\"contacts\" must not be empty"));
    }
    if n > MAX_CONTACTS_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "\"contacts\" must hold at most {MAX_CONTACTS_PER_REQUEST} contacts per request (got {n}): split the import"
        )));
    }
    let country = phones::rules(&state, &caller.tenant_id).await?.country();
    let mut results: Vec<Option<UpsertContactResult>> = (0..n).map(|_| None).collect();
    let mut valid = Vec::with_capacity(n);
    for (index, value) in req.contacts.into_iter().enumerate() {
        let checked = serde_path_to_error::deserialize::<_, ContactInput>(value)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path.is_empty() || path == "." {
                    format!("contacts[{index}]")
                } else {
                    format!("contacts[{index}].{path}")
                };
                format!("Invalid \"{field}\": {}", e.into_inner())
            })
            .and_then(|input| rules::entry(index, &input, country));
        match checked {
            Ok(entry) => valid.push((index, entry)),
            Err(error) => results[index] = Some(error_result(index, error)),
        }
    }
    let groups = rules::group_by_phone(&valid, ConsentSource::Api);
    let now = state.clock.now();
    let outcomes = state
        .store
        .upsert_contacts(&caller.tenant_id, &groups, now)
        .await?;
    for (group, outcome) in groups.iter().zip(outcomes) {
        let first = group.indices.first().copied().unwrap_or(0);
        let (status, contact, error) = match outcome {
            UpsertOutcome::Created(c) => (UpsertContactStatus::Created, Some(c), None),
            UpsertOutcome::Updated(c) => (UpsertContactStatus::Updated, Some(c), None),
            UpsertOutcome::Unchanged(c) => (UpsertContactStatus::Unchanged, Some(c), None),
            UpsertOutcome::Failed(e) => (UpsertContactStatus::Error, None, Some(e)),
        };
        for &index in &group.indices {
            let duplicate = index != first;
            results[index] = Some(UpsertContactResult {
                index,
                status: match (duplicate, status) {
                    (true, UpsertContactStatus::Error) | (false, _) => status,
                    (true, _) => UpsertContactStatus::Duplicate,
                },
                id: contact.as_ref().map(|c| c.id.clone()),
                phone: contact
                    .as_ref()
                    .map(|c| c.phone.clone())
                    .or_else(|| Some(group.phone.clone())),
                duplicate_of: duplicate.then_some(first),
                error: error.clone(),
            });
        }
    }
    let results: Vec<UpsertContactResult> = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|| error_result(i, "Not processed".into())))
        .collect();
    let count = |s: UpsertContactStatus| results.iter().filter(|r| r.status == s).count();
    Ok(Json(UpsertContactsReport {
        created: count(UpsertContactStatus::Created),
        updated: count(UpsertContactStatus::Updated),
        unchanged: count(UpsertContactStatus::Unchanged),
        duplicates: count(UpsertContactStatus::Duplicate),
        failed: count(UpsertContactStatus::Error),
        results,
    }))
}

pub(crate) fn error_result(index: usize, error: String) -> UpsertContactResult {
    UpsertContactResult {
        index,
        status: UpsertContactStatus::Error,
        id: None,
        phone: None,
        duplicate_of: None,
        error: Some(error),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteContactsRequest {
    /// 1 to 1,000 contact ids.
    pub ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteContactsReport {
    /// Deleted, with their phone claims, tags and list memberships.
    pub deleted: Vec<String>,
    /// No such contact (for this tenant).
    pub not_found: Vec<String>,
}

/// Delete contacts by id. Each goes with everything that refers to it: its tags and its
/// memberships (list counts go down).
#[utoipa::path(delete, path = "/api/contacts", tag = "contacts",
    request_body = DeleteContactsRequest,
    responses((status = 200, body = DeleteContactsReport), (status = 400, body = ErrorBody)))]
pub async fn delete_contacts(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<DeleteContactsRequest>,
) -> ApiResult<Json<DeleteContactsReport>> {
    check_count("ids", req.ids.len())?;
    let report = state
        .store
        .delete_contacts(&caller.tenant_id, &req.ids)
        .await?;
    Ok(Json(DeleteContactsReport {
        deleted: report.deleted,
        not_found: report.not_found,
    }))
}

/// 1 to 1,000 entries in `field`.
pub fn check_count(field: &str, n: usize) -> ApiResult<()> {
    if n == 0 {
        return Err(ApiError::bad_request(format!(
            "\"{field}\" must not be empty"
        )));
    }
    if n > MAX_IDS_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "\"{field}\" must hold at most {MAX_IDS_PER_REQUEST} entries per request (got {n})"
        )));
    }
    Ok(())
}
