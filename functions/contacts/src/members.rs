//! A contact list's members: listing, adding and removing by contact id or phone.

use crate::bulk::check_count;
use crate::lists::*;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::services::phones::{self, PhoneRules};
use wati_shared::store::contact_lists::{
    ListMember, ListMemberStatus, MemberChange, MemberOutcome, MemberRef,
};
use wati_shared::AppState;

wati_shared::page!(ListMemberPage, members: ListMember);

/// A list's members, a page at a time (in contact order).
#[utoipa::path(get, path = "/api/contact-lists/{id}/members", tag = "contact lists",
    params(("id" = String, Path, description = "Contact list id"), PageParams),
    responses((status = 200, body = ListMemberPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<ListMemberPage>> {
    let limit = page.limit()?;
    match state
        .store
        .list_members(&caller.tenant_id, &id, page.cursor.as_deref(), limit)
        .await?
    {
        Some((members, next_cursor)) => Ok(Json(ListMemberPage {
            members,
            next_cursor,
        })),
        None => Err(not_found()),
    }
}

/// Who to add or remove: contact ids, or phones of existing contacts (exactly one of the two).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListMembersRequest {
    /// 1 to 1,000 contact ids.
    pub contact_ids: Option<Vec<String>>,
    /// 1 to 1,000 phones (E.164 or local digits) of existing contacts.
    #[schema(example = json!(["+923001234567"]))]
    pub phones: Option<Vec<String>>,
}

impl ListMembersRequest {
    fn refs(self, rules: PhoneRules) -> ApiResult<Vec<MemberRef>> {
        match (self.contact_ids, self.phones) {
            (Some(ids), None) => {
                check_count("contactIds", ids.len())?;
                Ok(ids.into_iter().map(MemberRef::Id).collect())
            }
            (None, Some(phones)) => {
                check_count("phones", phones.len())?;
                Ok(phones
                    .iter()
                    .enumerate()
                    .map(|(i, p)| match rules.normalize(&format!("phones[{i}]"), p) {
                        Ok(p) => MemberRef::Phone(p),
                        Err(e) => MemberRef::Invalid(e),
                    })
                    .collect())
            }
            _ => Err(ApiError::bad_request(
                "Send exactly one of \"contactIds\" or \"phones\"",
            )),
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMemberResult {
    /// Position in the request's `contactIds` or `phones`.
    pub index: usize,
    pub status: ListMemberStatus,
    pub contact_id: Option<String>,
    pub error: Option<String>,
}

/// One result per entry; the counts add up to the number of entries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMembersReport {
    /// `added` (add) or `removed` (remove).
    pub changed: usize,
    /// `already_member` (add) or `not_member` (remove).
    pub unchanged: usize,
    pub not_found: usize,
    pub failed: usize,
    /// The list's member count afterwards.
    pub member_count: u64,
    pub results: Vec<ListMemberResult>,
}

pub(crate) async fn members_report(
    state: &AppState,
    tenant_id: &str,
    list_id: &str,
    outcomes: Option<Vec<MemberOutcome>>,
) -> ApiResult<Json<ListMembersReport>> {
    let outcomes = outcomes.ok_or_else(not_found)?;
    let count =
        |f: &dyn Fn(ListMemberStatus) -> bool| outcomes.iter().filter(|o| f(o.status)).count();
    let changed = count(&|s| matches!(s, ListMemberStatus::Added | ListMemberStatus::Removed));
    let unchanged = count(&|s| {
        matches!(
            s,
            ListMemberStatus::AlreadyMember | ListMemberStatus::NotMember
        )
    });
    let not_found_n = count(&|s| s == ListMemberStatus::NotFound);
    let failed = count(&|s| s == ListMemberStatus::Error);
    let member_count = state
        .store
        .get_contact_list(tenant_id, list_id)
        .await?
        .map(|l| l.member_count)
        .unwrap_or(0);
    Ok(Json(ListMembersReport {
        changed,
        unchanged,
        not_found: not_found_n,
        failed,
        member_count,
        results: outcomes
            .into_iter()
            .enumerate()
            .map(|(index, o)| ListMemberResult {
                index,
                status: o.status,
                contact_id: o.contact_id,
                error: o.error,
            })
            .collect(),
    }))
}

/// Add contacts to a list, by id or by phone. Per entry: `added`, `already_member`,
/// `not_found` or `error` (e.g. a contact already in 25 lists).
#[utoipa::path(post, path = "/api/contact-lists/{id}/members", tag = "contact lists",
    params(("id" = String, Path, description = "Contact list id")),
    request_body = ListMembersRequest,
    responses((status = 200, body = ListMembersReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_members(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ListMembersRequest>,
) -> ApiResult<Json<ListMembersReport>> {
    change_members(&state, &caller.tenant_id, &id, req, MemberChange::Add).await
}

/// Remove contacts from a list (the contacts stay). Per entry: `removed`, `not_member`,
/// `not_found` or `error`.
#[utoipa::path(delete, path = "/api/contact-lists/{id}/members", tag = "contact lists",
    params(("id" = String, Path, description = "Contact list id")),
    request_body = ListMembersRequest,
    responses((status = 200, body = ListMembersReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_members(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ListMembersRequest>,
) -> ApiResult<Json<ListMembersReport>> {
    change_members(&state, &caller.tenant_id, &id, req, MemberChange::Remove).await
}

/// Adds or removes the request's contacts, and reports on each entry.
async fn change_members(
    state: &AppState,
    tenant_id: &str,
    list_id: &str,
    req: ListMembersRequest,
    change: MemberChange,
) -> ApiResult<Json<ListMembersReport>> {
    let rules = match req.phones {
        Some(_) => phones::rules(state, tenant_id).await?,
        None => PhoneRules::default(),
    };
    let refs = req.refs(rules)?;
    let now = state.clock.now();
    let outcomes = state
        .store
        .change_list_members(tenant_id, list_id, change, &refs, now)
        .await?;
    members_report(state, tenant_id, list_id, outcomes).await
}
