//! Canned responses and the inbox settings (auto-assignment).

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{required, ApiError, ApiJson, ApiPath};
use wati_shared::services::inbox;
use wati_shared::store::inbox::{AutoAssign, CannedResponse, InboxSettings};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CannedList {
    pub canned_responses: Vec<CannedResponse>,
}

wati_shared::envelope!(CannedEnvelope, canned_response: CannedResponse);

/// The canned responses, by shortcut.
#[utoipa::path(get, path = "/api/inbox/canned-responses", tag = "inbox",
    responses((status = 200, body = CannedList)))]
pub async fn list_canned(Authed { state, caller }: Authed) -> ApiResult<Json<CannedList>> {
    let mut all = state.store.list_canned(&caller.tenant_id).await?;
    all.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
    Ok(Json(CannedList {
        canned_responses: all,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedRequest {
    /// 1–40 characters without spaces (a leading `/` dropped), unique.
    #[schema(example = "thanks")]
    pub shortcut: Option<String>,
    /// 1–4096 characters; `{{name}}` and `{{phone}}` are filled when used.
    #[schema(example = "Thank you {{name}}!")]
    pub text: Option<String>,
}

/// Create a canned response.
#[utoipa::path(post, path = "/api/inbox/canned-responses", tag = "inbox",
    request_body = CannedRequest,
    responses((status = 201, body = CannedEnvelope), (status = 400, body = ErrorBody),
        (status = 409, description = "The shortcut is taken, or too many", body = ErrorBody)))]
pub async fn create_canned(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<CannedRequest>,
) -> ApiResult<(StatusCode, Json<CannedEnvelope>)> {
    let c = inbox::create_canned(
        &state,
        &caller.tenant_id,
        required("shortcut", &req.shortcut)?,
        required("text", &req.text)?,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CannedEnvelope { canned_response: c }),
    ))
}

/// Change a canned response.
#[utoipa::path(patch, path = "/api/inbox/canned-responses/{id}", tag = "inbox",
    params(("id" = String, Path, description = "Canned response id")),
    request_body = CannedRequest,
    responses((status = 200, body = CannedEnvelope), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_canned(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CannedRequest>,
) -> ApiResult<Json<CannedEnvelope>> {
    let c = inbox::update_canned(
        &state,
        &caller.tenant_id,
        &id,
        req.shortcut.as_deref(),
        req.text.as_deref(),
    )
    .await?;
    Ok(Json(CannedEnvelope { canned_response: c }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: String,
}

/// Delete a canned response.
#[utoipa::path(delete, path = "/api/inbox/canned-responses/{id}", tag = "inbox",
    params(("id" = String, Path, description = "Canned response id")),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)))]
pub async fn delete_canned(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Deleted>> {
    if state.store.delete_canned(&caller.tenant_id, &id).await? {
        Ok(Json(Deleted { deleted: id }))
    } else {
        Err(ApiError::not_found("Canned response not found"))
    }
}

wati_shared::envelope!(SettingsEnvelope, settings: InboxSettings);

/// The inbox settings.
#[utoipa::path(get, path = "/api/inbox/settings", tag = "inbox",
    responses((status = 200, body = SettingsEnvelope)))]
pub async fn get_settings(Authed { state, caller }: Authed) -> ApiResult<Json<SettingsEnvelope>> {
    Ok(Json(SettingsEnvelope {
        settings: state.store.inbox_settings(&caller.tenant_id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsRequest {
    /// Required: `off`, or `round_robin` (a new conversation goes to the next agent under
    /// `maxOpenPerAgent` open conversations).
    pub auto_assign: Option<AutoAssign>,
    /// 1–10000; none: no limit.
    pub max_open_per_agent: Option<u32>,
}

/// Set the inbox settings (auto-assignment).
#[utoipa::path(put, path = "/api/inbox/settings", tag = "inbox",
    request_body = SettingsRequest,
    responses((status = 200, body = SettingsEnvelope), (status = 400, body = ErrorBody)))]
pub async fn put_settings(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<SettingsRequest>,
) -> ApiResult<Json<SettingsEnvelope>> {
    let auto = req
        .auto_assign
        .ok_or_else(|| ApiError::bad_request("\"autoAssign\" is required: off or round_robin"))?;
    let settings =
        inbox::put_settings(&state, &caller.tenant_id, auto, req.max_open_per_agent).await?;
    Ok(Json(SettingsEnvelope { settings }))
}
