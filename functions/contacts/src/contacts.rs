//! `/api/contacts`: list (by tag, by phone or name prefix), bulk upsert, bulk delete, get
//! and edit one.

use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use wati_shared::domain::contacts::{self as rules, Search, TagChange};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::services::phones::{self, PhoneRules};
use wati_shared::store::contacts::{Contact, ContactFilter, ContactPatch, PatchOutcome};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Items per page, 1–100 (default 50).
    pub limit: Option<i32>,
    /// The `nextCursor` of the previous page (of the same query).
    pub cursor: Option<String>,
    /// Only contacts with this tag (case-insensitive), newest first.
    pub tag: Option<String>,
    /// A phone prefix (digits, optionally `+` and separators: `+92 300`) in phone order, or
    /// else a name prefix (case-insensitive) in name order. Not together with `tag`.
    pub search: Option<String>,
    /// Only opted-out (`true`) or only subscribed (`false`) contacts, newest first. Not
    /// together with `tag` or `search`.
    #[serde(rename = "optedOut")]
    #[param(rename = "optedOut")]
    pub opted_out: Option<bool>,
}

wati_shared::page!(ContactPage, contacts: Contact);

/// List contacts: all (newest first), by `tag`, by consent (`optedOut`), or by phone or
/// name prefix (`search`). Each page is one query that reads only that page.
#[utoipa::path(get, path = "/api/contacts", tag = "contacts",
    params(ContactQuery),
    responses((status = 200, body = ContactPage), (status = 400, body = ErrorBody)))]
pub async fn list_contacts(
    Authed { state, caller }: Authed,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> ApiResult<Json<ContactPage>> {
    let limit = PageParams {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let filter = match (&q.tag, &q.search) {
        _ if q.opted_out.is_some() && (q.tag.is_some() || q.search.is_some()) => {
            return Err(ApiError::bad_request(
                "Use \"optedOut\" on its own, not with \"tag\" or \"search\"",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Use either \"tag\" or \"search\", not both",
            ))
        }
        (Some(tag), None) => {
            ContactFilter::Tag(rules::tag("tag", tag).map_err(ApiError::bad_request)?)
        }
        (None, Some(search)) => match Search::parse(search).map_err(ApiError::bad_request)? {
            // With a default country, "0300" searches the numbers stored as "92300…".
            Search::PhonePrefix(p) => ContactFilter::PhonePrefix(
                match phones::rules(&state, &caller.tenant_id).await?.country() {
                    Some(c) => c.search_prefix(&p),
                    None => p,
                },
            ),
            Search::NamePrefix(p) => ContactFilter::NamePrefix(p),
        },
        (None, None) => match q.opted_out {
            Some(out) => ContactFilter::OptedOut(out),
            None => ContactFilter::All,
        },
    };
    let (contacts, next_cursor) = state
        .store
        .list_contacts(&caller.tenant_id, &filter, q.cursor.as_deref(), limit)
        .await?;
    Ok(Json(ContactPage {
        contacts,
        next_cursor,
    }))
}

wati_shared::envelope!(ContactEnvelope, contact: Contact);

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("Contact not found")
}

/// One contact.
#[utoipa::path(get, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    responses((status = 200, body = ContactEnvelope),
        (status = 404, body = ErrorBody)))]
pub async fn get_contact(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ContactEnvelope>> {
    match state.store.get_contact(&caller.tenant_id, &id).await? {
        Some(contact) => Ok(Json(ContactEnvelope { contact })),
        None => Err(not_found()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateContactRequest {
    /// New name; `""` removes it.
    pub name: Option<String>,
    /// New phone (E.164 or local digits); must not belong to another contact.
    pub phone: Option<String>,
    /// Replaces every tag (`[]` removes them all). Not with `addTags`/`removeTags`.
    pub tags: Option<Vec<String>>,
    /// Tags to add to the current ones.
    pub add_tags: Option<Vec<String>>,
    /// Tags to remove (absent ones are ignored).
    pub remove_tags: Option<Vec<String>>,
}

/// Edit a contact: name, phone (kept unique: 409 if another contact has it) and tags,
/// either replaced (`tags`) or changed (`addTags`, `removeTags`). Its tag and list
/// memberships follow in the same transaction.
#[utoipa::path(patch, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    request_body = UpdateContactRequest,
    responses((status = 200, body = ContactEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The phone belongs to another contact", body = ErrorBody)))]
pub async fn update_contact(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateContactRequest>,
) -> ApiResult<Json<ContactEnvelope>> {
    let bad = ApiError::bad_request;
    let phone_rules = match &req.phone {
        Some(_) => phones::rules(&state, &caller.tenant_id).await?,
        None => PhoneRules::default(),
    };
    let patch = ContactPatch {
        name: req
            .name
            .as_deref()
            .map(|n| rules::name("name", n))
            .transpose()
            .map_err(bad)?,
        phone: req
            .phone
            .as_deref()
            .map(|p| phone_rules.normalize("phone", p))
            .transpose()
            .map_err(bad)?,
        tags: TagChange::from_request(
            req.tags.as_deref(),
            req.add_tags.as_deref(),
            req.remove_tags.as_deref(),
        )
        .map_err(bad)?,
        consent: None,
    };
    if patch.name.is_none() && patch.phone.is_none() && patch.tags.is_none() {
        return Err(ApiError::bad_request(
            "Nothing to change: send \"name\", \"phone\", \"tags\", \"addTags\" or \"removeTags\"",
        ));
    }
    let now = state.clock.now();
    match state
        .store
        .update_contact(&caller.tenant_id, &id, &patch, now)
        .await?
    {
        PatchOutcome::Updated(contact) | PatchOutcome::Unchanged(contact) => {
            Ok(Json(ContactEnvelope { contact }))
        }
        PatchOutcome::NotFound => Err(not_found()),
        PatchOutcome::PhoneTaken { contact_id } => Err(ApiError::conflict(format!(
            "\"phone\" {} already belongs to contact {contact_id}",
            patch.phone.unwrap_or_default()
        ))),
        PatchOutcome::Invalid(msg) => Err(bad(msg)),
    }
}
