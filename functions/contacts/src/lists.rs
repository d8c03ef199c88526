//! `/api/contact-lists`: create, list, get (with member count), delete, and members (list,
//! add, remove).

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::contacts as rules;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::store::contact_lists::ContactList;

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("Contact list not found")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContactListRequest {
    #[schema(example = "January promo")]
    pub name: String,
}

wati_shared::envelope!(ContactListEnvelope, list: ContactList);

/// Create a contact list (its id is the spec's `contactListId`).
#[utoipa::path(post, path = "/api/contact-lists", tag = "contact lists",
    request_body = CreateContactListRequest,
    responses((status = 201, body = ContactListEnvelope), (status = 400, body = ErrorBody)))]
pub async fn create_list(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<CreateContactListRequest>,
) -> ApiResult<(StatusCode, Json<ContactListEnvelope>)> {
    let name = rules::list_name(&req.name).map_err(ApiError::bad_request)?;
    let now = state.clock.now();
    let list = state
        .store
        .create_contact_list(&caller.tenant_id, &name, now)
        .await?;
    Ok((StatusCode::CREATED, Json(ContactListEnvelope { list })))
}

wati_shared::page!(ContactListPage, lists: ContactList);

/// The tenant's contact lists, newest first, with their member counts.
#[utoipa::path(get, path = "/api/contact-lists", tag = "contact lists",
    params(PageParams),
    responses((status = 200, body = ContactListPage), (status = 400, body = ErrorBody)))]
pub async fn list_lists(
    Authed { state, caller }: Authed,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<ContactListPage>> {
    let (lists, next_cursor) = state
        .store
        .list_contact_lists(&caller.tenant_id, page.cursor.as_deref(), page.limit()?)
        .await?;
    Ok(Json(ContactListPage { lists, next_cursor }))
}

/// One contact list with its member count.
#[utoipa::path(get, path = "/api/contact-lists/{id}", tag = "contact lists",
    params(("id" = String, Path, description = "Contact list id")),
    responses((status = 200, body = ContactListEnvelope),
        (status = 404, body = ErrorBody)))]
pub async fn get_list(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ContactListEnvelope>> {
    match state.store.get_contact_list(&caller.tenant_id, &id).await? {
        Some(list) => Ok(Json(ContactListEnvelope { list })),
        None => Err(not_found()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactListDeleted {
    pub id: String,
    pub deleted: bool,
    /// Members removed by this request.
    pub members_removed: u64,
    /// False for a very large list: the list is gone at once, and the rest of its members
    /// are removed in the background.
    pub cleanup_complete: bool,
}

/// Delete a contact list. Its contacts stay; they just leave the list.
#[utoipa::path(delete, path = "/api/contact-lists/{id}", tag = "contact lists",
    params(("id" = String, Path, description = "Contact list id")),
    responses((status = 200, body = ContactListDeleted),
        (status = 404, body = ErrorBody)))]
pub async fn delete_list(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ContactListDeleted>> {
    let now = state.clock.now();
    match state
        .store
        .delete_contact_list(&caller.tenant_id, &id, now)
        .await?
    {
        Some(d) => Ok(Json(ContactListDeleted {
            id,
            deleted: true,
            members_removed: d.members_removed,
            cleanup_complete: d.cleanup_complete,
        })),
        None => Err(not_found()),
    }
}
