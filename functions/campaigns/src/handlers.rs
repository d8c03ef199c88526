//! The routes: each checks the caller, hands over to [`wati_shared::services::campaigns`]
//! and shapes its answer.

use crate::dto::*;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::routes;
use wati_shared::services::campaigns::{self as engine, Advance, BatchInfo, Cancel};
use wati_shared::store::campaigns::Campaign;
use wati_shared::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    use wati_shared::domain::roles::Role::Manager;
    use wati_shared::http::needs;
    OpenApiRouter::new()
        .routes(needs(Manager, routes!(create_campaign, list_campaigns)))
        .routes(needs(Manager, routes!(get_campaign)))
        .routes(needs(Manager, routes!(list_recipients)))
        .routes(needs(Manager, routes!(run_campaign)))
        .routes(needs(Manager, routes!(cancel_campaign)))
}

fn not_found() -> ApiError {
    ApiError::not_found("Campaign not found")
}

/// Create a campaign that delivers in batches.
///
/// Returns at once with the campaign's id and status (`running`, or `scheduled` with a
/// future `scheduledAt`). Batches are sent by `POST …/{id}/run` or by the every-minute
/// scheduler; consecutive messages go out `delaySeconds` apart. `{{name}}` and `{{phone}}`
/// are replaced per recipient. Provide exactly one of `recipients`, `contactListId` or
/// `tag`; a tag is resolved at run time, batch by batch.
#[utoipa::path(post, path = "/api/public/v1/campaigns", tag = "campaigns",
    request_body = CreateCampaignRequest,
    responses(
        (status = 201, body = CreatedCampaign),
        (status = 400, description = "Invalid input (the message names the field), not exactly one audience, a template on a WhatsApp Web device, or the wrong number of template variables", body = ErrorBody),
        (status = 404, description = "deviceId or contactListId not found", body = ErrorBody),
        (status = 409, description = "The plan has no REST API access", body = ErrorBody),
        (status = 422, description = "No connected device, the device is not connected, or the template is unknown or not approved", body = ErrorBody)))]
async fn create_campaign(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<CreateCampaignRequest>,
) -> ApiResult<(StatusCode, Json<CreatedCampaign>)> {
    let campaign = engine::create(&state, &caller.tenant_id, &caller.key_id, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedCampaign {
            ok: true,
            id: campaign.id.clone(),
            status: campaign.status,
            campaign: campaign.into(),
        }),
    ))
}

/// The tenant's campaigns, newest first, with their counts.
#[utoipa::path(get, path = "/api/public/v1/campaigns", tag = "campaigns",
    params(PageParams),
    responses((status = 200, body = CampaignPage), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn list_campaigns(
    Authed { state, caller }: Authed,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<CampaignPage>> {
    let (campaigns, next_cursor) = state
        .store
        .list_campaigns(&caller.tenant_id, page.cursor.as_deref(), page.limit()?)
        .await?;
    Ok(Json(CampaignPage {
        campaigns: campaigns.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

async fn load(state: &AppState, tenant_id: &str, id: &str) -> ApiResult<Campaign> {
    state
        .store
        .get_campaign(tenant_id, id.trim())
        .await?
        .ok_or_else(not_found)
}

/// A campaign with its status and counts (total, pending, queued, sent, failed, cancelled,
/// skipped).
#[utoipa::path(get, path = "/api/public/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignEnvelope),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn get_campaign(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CampaignEnvelope>> {
    let c = load(&state, &caller.tenant_id, &id).await?;
    Ok(Json(CampaignEnvelope { campaign: c.into() }))
}

/// A campaign's recipients, a page at a time, each with its status and error: the
/// recipients queued so far in order, then the array's entries not queued yet (`pending`).
/// A tag or list audience shows its members as their batches are queued.
#[utoipa::path(get, path = "/api/public/v1/campaigns/{id}/recipients", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), PageParams),
    responses((status = 200, body = RecipientPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn list_recipients(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<RecipientPage>> {
    let limit = page.limit()? as usize;
    let c = load(&state, &caller.tenant_id, &id).await?;
    let (rows, next_cursor) =
        engine::recipients_page(&state, &c, page.cursor.as_deref(), limit).await?;
    Ok(Json(RecipientPage {
        recipients: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

fn refusal(
    status: StatusCode,
    error: String,
    in_flight: Option<BatchInfo>,
    c: Option<Campaign>,
) -> Response {
    (
        status,
        Json(RunRefusal {
            error,
            in_flight,
            campaign: c.map(Into::into),
        }),
    )
        .into_response()
}

/// Trigger the next batch.
///
/// Queues the next batch when none is in flight (and starts a campaign whose `scheduledAt`
/// has passed, resumes one paused on a device problem, or queues the leftovers of a stalled
/// batch). While a batch is in flight nothing is queued (no recipient is ever sent twice)
/// and the answer is a 409 that describes the batch. Later batches follow by themselves.
#[utoipa::path(post, path = "/api/public/v1/campaigns/{id}/run", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, body = RunResult), (status = 404, body = ErrorBody),
        (status = 409, description = "A batch is in flight, or the campaign is scheduled for later, paused on the daily limit, completed or cancelled", body = RunRefusal)))]
async fn run_campaign(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let tenant = caller.tenant_id.as_str();
    let id = load(&state, tenant, &id).await?.id;
    let outcome = engine::advance(&state, tenant, &id, engine::Trigger::Run).await?;
    let campaign = state.store.get_campaign(tenant, &id).await?;
    let ok =
        |result: &str, batch: Option<BatchInfo>, requeued: Option<usize>| -> ApiResult<Response> {
            let c = campaign.clone().ok_or_else(not_found)?;
            Ok((
                StatusCode::OK,
                Json(RunResult {
                    ok: true,
                    result: result.to_string(),
                    batch,
                    requeued,
                    campaign: c.into(),
                }),
            )
                .into_response())
        };
    let conflict = |error: String, in_flight: Option<BatchInfo>| {
        Ok(refusal(
            StatusCode::CONFLICT,
            error,
            in_flight,
            campaign.clone(),
        ))
    };
    match outcome {
        Advance::Queued(b) => ok("queued", Some(b), None),
        Advance::Requeued { batch, requeued } => ok("requeued", Some(batch), Some(requeued)),
        Advance::Completed => ok("completed", None, None),
        Advance::InFlight(b) => {
            let last = b
                .last_send_at
                .map(|t| format!(", the last due at {}", wati_shared::domain::time::iso(t)))
                .unwrap_or_default();
            conflict(
                format!(
                    "Batch {} is in flight: {} of {} recipients are still queued or being sent{last}. The next batch is queued by itself when this one is done",
                    b.number, b.queued, b.size
                ),
                Some(b),
            )
        }
        Advance::Waiting { next_send_at } => conflict(
            format!("The next message is due at {next_send_at}: it is queued when that is within 15 minutes"),
            None,
        ),
        Advance::NotDue { scheduled_at } => conflict(
            format!("Campaign is scheduled for {scheduled_at}: it starts by itself then (cancel it to stop it)"),
            None,
        ),
        Advance::Paused {
            message, resumes_at, ..
        } => conflict(
            match resumes_at {
                Some(at) => format!("Campaign is paused: {message} (resumes at {at})"),
                None => format!("Campaign is paused: {message}"),
            },
            None,
        ),
        Advance::Finished(status) => conflict(
            format!("Campaign is {status}: there is nothing left to send"),
            None,
        ),
        Advance::Suspended => conflict(
            "This account is suspended: the campaign sends nothing".to_string(),
            None,
        ),
        Advance::NotFound => Err(not_found()),
    }
}

/// Cancel a scheduled, running or paused campaign.
///
/// Nothing more is queued or sent; recipients not yet sent become `cancelled` (one already
/// handed to the provider finishes as `sent` or `failed`). Its counts stay.
#[utoipa::path(post, path = "/api/public/v1/campaigns/{id}/cancel", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignEnvelope),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already completed or cancelled", body = ErrorBody)))]
async fn cancel_campaign(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CampaignEnvelope>> {
    match engine::cancel(&state, &caller.tenant_id, id.trim()).await? {
        Cancel::Cancelled(c) => Ok(Json(CampaignEnvelope {
            campaign: (*c).into(),
        })),
        Cancel::AlreadyFinished(status) => {
            Err(ApiError::conflict(format!("Campaign is already {status}")))
        }
        Cancel::NotFound => Err(not_found()),
    }
}
