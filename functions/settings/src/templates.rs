//! Message templates of Cloud API devices (`docs/templates.md`): synced from Meta, listed,
//! submitted and deleted. Handlers check the request and call `services::templates`.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wati_shared::domain::messages::device_id;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{required, ApiError, ApiJson, ApiPath, ApiQuery, PageParams};
use wati_shared::services::templates::{self, NewTemplate};
use wati_shared::store::templates::Template;

fn device(raw: &Option<String>) -> Result<String, ApiError> {
    device_id(required("deviceId", raw)?).map_err(ApiError::bad_request)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncRequest {
    /// A Cloud API device (its WhatsApp Business Account's templates are read).
    pub device_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncResponse {
    pub device_id: String,
    /// How many templates the account has (all of Meta's pages).
    pub templates: usize,
}

/// Read the device's WhatsApp Business Account templates from Meta (every page) and keep
/// them: from now on template sends through this device are checked against them.
#[utoipa::path(post, path = "/api/templates/sync", tag = "templates",
    request_body = SyncRequest,
    responses((status = 200, body = SyncResponse),
        (status = 400, description = "Invalid input, or not a Cloud API device", body = ErrorBody),
        (status = 404, description = "No such device", body = ErrorBody),
        (status = 422, description = "Meta refused the request", body = ErrorBody),
        (status = 502, description = "Meta failed or refused the device's credentials", body = ErrorBody),
        (status = 504, description = "Meta did not answer in time", body = ErrorBody)))]
pub async fn sync_templates(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<SyncRequest>,
) -> ApiResult<Json<SyncResponse>> {
    let device_id = device(&req.device_id)?;
    let n = templates::sync(&state, &caller.tenant_id, &device_id).await?;
    Ok(Json(SyncResponse {
        device_id,
        templates: n,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// The device whose templates to list (required).
    pub device_id: Option<String>,
    /// Only templates with this status (APPROVED, PENDING, REJECTED …).
    pub status: Option<String>,
    /// Items per page, 1–100 (default 50).
    pub limit: Option<i32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

wati_shared::page!(
    /// A page of templates, by name and language.
    TemplatePage, templates: Template
);

/// List a device's synced templates.
#[utoipa::path(get, path = "/api/templates", tag = "templates", params(ListParams),
    responses((status = 200, body = TemplatePage),
        (status = 400, body = ErrorBody)))]
pub async fn list_templates(
    Authed { state, caller }: Authed,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<TemplatePage>> {
    let device_id = device(&q.device_id)?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (templates, next_cursor) = templates::list(
        &state,
        &caller.tenant_id,
        &device_id,
        status,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(Json(TemplatePage {
        templates,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTemplateRequest {
    pub device_id: Option<String>,
    /// Lowercase letters, digits and underscores.
    #[schema(example = "order_update")]
    pub name: Option<String>,
    /// MARKETING, UTILITY or AUTHENTICATION.
    #[schema(example = "UTILITY")]
    pub category: Option<String>,
    #[schema(example = "en_US")]
    pub language: Option<String>,
    /// Meta's components: exactly one BODY (`{"type":"BODY","text":"Hi {{1}}"}`), and
    /// optionally HEADER, FOOTER, BUTTONS.
    #[schema(value_type = Option<Vec<Object>>)]
    pub components: Option<Vec<serde_json::Value>>,
}

wati_shared::envelope!(TemplateEnvelope, template: Template);

/// Submit a template to Meta for review; kept as `PENDING` until Meta's status webhook (or
/// the minute schedule's re-sync) says otherwise.
#[utoipa::path(post, path = "/api/templates", tag = "templates",
    request_body = CreateTemplateRequest,
    responses((status = 201, body = TemplateEnvelope),
        (status = 400, description = "Invalid input, or not a Cloud API device", body = ErrorBody),
        (status = 404, description = "No such device", body = ErrorBody),
        (status = 422, description = "Meta refused the template", body = ErrorBody),
        (status = 502, description = "Meta failed or refused the device's credentials", body = ErrorBody),
        (status = 504, description = "Meta did not answer in time", body = ErrorBody)))]
pub async fn create_template(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<CreateTemplateRequest>,
) -> ApiResult<(StatusCode, Json<TemplateEnvelope>)> {
    let new = NewTemplate {
        device_id: device(&req.device_id)?,
        name: required("name", &req.name)?.trim().to_string(),
        category: required("category", &req.category)?
            .trim()
            .to_ascii_uppercase(),
        language: required("language", &req.language)?.trim().to_string(),
        components: req
            .components
            .ok_or_else(|| ApiError::bad_request("\"components\" is required"))?,
    };
    let template = templates::create(&state, &caller.tenant_id, new).await?;
    Ok((StatusCode::CREATED, Json(TemplateEnvelope { template })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeleteParams {
    /// The device whose account holds the template (required).
    pub device_id: Option<String>,
}

// Its own schema name: the inbox's and auto-replies' `Deleted` ({"deleted": id}) share the
// merged OpenAPI document's components.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateDeleted {
    pub deleted: bool,
    pub name: String,
}

/// Delete a template (every language) at Meta and here.
#[utoipa::path(delete, path = "/api/templates/{name}", tag = "templates",
    params(("name" = String, Path, description = "The template's name"), DeleteParams),
    responses((status = 200, body = TemplateDeleted),
        (status = 400, description = "Invalid input, or not a Cloud API device", body = ErrorBody),
        (status = 404, description = "No such device or template", body = ErrorBody),
        (status = 422, description = "Meta refused the request", body = ErrorBody),
        (status = 502, description = "Meta failed or refused the device's credentials", body = ErrorBody),
        (status = 504, description = "Meta did not answer in time", body = ErrorBody)))]
pub async fn delete_template(
    Authed { state, caller }: Authed,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteParams>,
) -> ApiResult<Json<TemplateDeleted>> {
    let device_id = device(&q.device_id)?;
    let name = name.trim().to_string();
    templates::delete(&state, &caller.tenant_id, &device_id, &name).await?;
    Ok(Json(TemplateDeleted {
        deleted: true,
        name,
    }))
}
