//! The spec's bulk campaigns: `POST /api/public/v1/campaigns` (create), listing, one
//! campaign with its counts, its recipients, `…/run` (the next batch) and `…/cancel`.
//! Handlers validate and hand over to [`wati_shared::services::campaigns`]; every route needs a
//! tenant API key and a plan with REST access (Pro, Agency).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::domain::campaigns::{
    self as rules, AudienceKind, CampaignStatus, PauseReason, RecipientStatus, MAX_RECIPIENTS,
};
use wati_shared::domain::{contacts, messages};
use wati_shared::http::auth::Caller;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{guarded, Access};
use wati_shared::http::{parse_json, ApiQuery, PageParams};
use wati_shared::runtime::clock::iso;
use wati_shared::services::campaigns::{self as engine, Advance, BatchInfo, Cancel, Listed};
use wati_shared::store::campaigns::{Audience, Campaign, Recipient};
use wati_shared::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(get_campaign))
        .routes(routes!(list_recipients))
        .routes(routes!(run_campaign))
        .routes(routes!(cancel_campaign))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    guarded(routes(), Access::PublicApi, state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// One entry of `recipients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRecipientInput {
    /// Optional: fills `{{name}}`.
    #[schema(example = "Ali")]
    pub name: Option<String>,
    /// E.164 or local digits.
    #[schema(example = "+923001234567")]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCampaignRequest {
    /// Required, 1–200 characters.
    #[schema(example = "January promo")]
    pub name: Option<String>,
    /// Required, 1–4096 characters; `{{name}}` and `{{phone}}` are replaced per recipient.
    #[schema(example = "Hi {{name}}, today only — 20% off!")]
    pub message: Option<String>,
    /// Optional: the device to send from; the first connected device when omitted.
    pub device_id: Option<String>,
    /// Seconds between consecutive messages, 1–60 (default 5).
    #[schema(value_type = Option<u32>, example = 3)]
    pub delay_seconds: Option<serde_json::Value>,
    /// Optional ISO-8601 time in the future: the campaign starts then.
    #[schema(example = "2026-07-01T10:00:00Z")]
    pub scheduled_at: Option<String>,
    /// Send to the contacts carrying this tag, resolved at run time batch by batch.
    #[schema(example = "vip")]
    pub tag: Option<String>,
    /// Send to these recipients (1–100,000; repeated phones are sent once).
    pub recipients: Option<Vec<CampaignRecipientInput>>,
    /// Send to a contact list's members.
    pub contact_list_id: Option<String>,
}

/// A campaign with its status and counts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub delay_seconds: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<String>,
    pub audience: Audience,
    pub status: CampaignStatus,
    /// Why it is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<PauseReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_message: Option<String>,
    /// When a pause on the daily outbound cap ends by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes_at: Option<String>,
    /// Recipients known so far (a tag or list grows as its batches are read; final once
    /// `audienceResolved`). Always `pending + queued + sent + failed + cancelled`.
    pub total: u64,
    /// Known, not queued yet.
    pub pending: u64,
    /// Queued or being sent.
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Entries of `recipients` dropped because their phone came earlier in the array.
    pub duplicates: u64,
    /// The audience has been read to its end.
    pub audience_resolved: bool,
    /// The last batch queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchInfo>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
}

impl From<Campaign> for CampaignView {
    fn from(c: Campaign) -> Self {
        let resumes_at = engine::resumes_at(&c);
        let batch = engine::batch_info(&c);
        CampaignView {
            id: c.id,
            name: c.name,
            message: c.message,
            device_id: c.device_id,
            delay_seconds: c.delay_seconds,
            scheduled_at: c.scheduled_at,
            audience: c.audience,
            status: c.status,
            pause_reason: c.pause_reason,
            pause_message: c.pause_message,
            resumes_at,
            total: c.total,
            pending: c.pending,
            queued: c.queued,
            sent: c.sent,
            failed: c.failed,
            cancelled: c.cancelled,
            duplicates: c.duplicates,
            audience_resolved: c.source_done,
            batch,
            created_at: c.created_at,
            updated_at: c.updated_at,
            started_at: c.started_at,
            completed_at: c.completed_at,
            cancelled_at: c.cancelled_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCampaign {
    #[schema(example = true)]
    pub ok: bool,
    /// The campaign id.
    pub id: String,
    #[schema(example = "running")]
    pub status: CampaignStatus,
    pub campaign: CampaignView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignEnvelope {
    pub campaign: CampaignView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignPage {
    pub campaigns: Vec<CampaignView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientView {
    #[schema(example = "923001234567")]
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The contact it came from (tag and list audiences).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// `pending`, `queued` (also while being sent), `sent`, `failed` or `cancelled`.
    pub status: RecipientStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// The batch that queued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// Our message id (look it up with `GET /api/public/v1/messages/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// WhatsApp's id of the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
}

impl From<Listed> for RecipientView {
    fn from(l: Listed) -> Self {
        match l {
            Listed::Recipient(r) => {
                let r: Recipient = *r;
                let message_id = match r.status {
                    RecipientStatus::Sent | RecipientStatus::Failed => r.message_id,
                    _ => None,
                };
                RecipientView {
                    phone: r.phone,
                    name: (!r.name.is_empty()).then_some(r.name),
                    contact_id: r.contact_id,
                    status: r.status.public(),
                    error: r.error,
                    error_code: r.error_code,
                    batch: Some(r.batch),
                    message_id,
                    wa_message_id: r.wa_message_id,
                    queued_at: Some(r.queued_at),
                    sent_at: r.sent_at,
                    failed_at: r.failed_at,
                }
            }
            Listed::Pending { entry, status } => RecipientView {
                phone: entry.phone,
                name: (!entry.name.is_empty()).then_some(entry.name),
                contact_id: None,
                status,
                error: None,
                error_code: None,
                batch: None,
                message_id: None,
                wa_message_id: None,
                queued_at: None,
                sent_at: None,
                failed_at: None,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientPage {
    pub recipients: Vec<RecipientView>,
    pub next_cursor: Option<String>,
}

/// What `run` did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    #[schema(example = true)]
    pub ok: bool,
    /// `queued` (a new batch), `requeued` (the batch's leftovers, after a pause or lost
    /// messages) or `completed` (nothing was left).
    #[schema(example = "queued")]
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchInfo>,
    /// Recipients queued again (`requeued`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requeued: Option<usize>,
    pub campaign: CampaignView,
}

/// A `run` that queued nothing: why, the batch in flight, the campaign.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRefusal {
    #[schema(
        example = "Batch 3 is in flight: 12 of 20 recipients are still queued or being sent, the last due at 2026-07-01T10:01:00Z. The next batch is queued by itself when this one is done"
    )]
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<BatchInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignView>,
}

fn bad(m: String) -> ApiError {
    ApiError::bad_request(m)
}

fn required<'a>(field: &str, v: &'a Option<String>) -> ApiResult<&'a str> {
    v.as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("\"{field}\" is required")))
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
    security(("apiKey" = [])),
    responses(
        (status = 201, body = CreatedCampaign),
        (status = 400, description = "Invalid input (the message names the field), or not exactly one audience", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "deviceId or contactListId not found", body = ErrorBody),
        (status = 409, description = "The plan has no REST API access", body = ErrorBody),
        (status = 422, description = "No connected device, or the device is not connected", body = ErrorBody)))]
async fn create_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedCampaign>)> {
    let req: CreateCampaignRequest = parse_json(&body)?;
    let now = state.clock.now();
    let name = rules::campaign_name(required("name", &req.name)?).map_err(bad)?;
    let message = rules::message(required("message", &req.message)?).map_err(bad)?;
    let delay_seconds = rules::delay_seconds(req.delay_seconds.as_ref()).map_err(bad)?;
    let scheduled = rules::scheduled_at(req.scheduled_at.as_deref(), now).map_err(bad)?;
    let kind = rules::audience_kind(
        req.recipients.is_some(),
        req.contact_list_id.is_some(),
        req.tag.is_some(),
    )
    .map_err(bad)?;
    let device_id = match req.device_id.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => Some(messages::device_id(d).map_err(bad)?),
        None => None,
    };
    let tenant = caller.tenant_id.as_str();

    let (audience, entries, duplicates) = match kind {
        AudienceKind::Recipients => {
            let raw = req.recipients.unwrap_or_default();
            if raw.is_empty() || raw.len() > MAX_RECIPIENTS {
                return Err(bad(format!(
                    "\"recipients\" must hold 1 to {MAX_RECIPIENTS} entries (got {}): use a contact list or a tag for larger audiences",
                    raw.len()
                )));
            }
            let entries = raw
                .iter()
                .enumerate()
                .map(|(i, r)| rules::entry(i, r.name.as_deref(), r.phone.as_deref()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
            let (entries, duplicates) = rules::dedupe(entries);
            (Audience::Recipients, entries, duplicates)
        }
        AudienceKind::ContactList => {
            let id = req.contact_list_id.as_deref().unwrap_or_default().trim();
            let list = state.store.get_contact_list(tenant, id).await?;
            let list = list.ok_or_else(|| {
                ApiError::not_found(format!("\"contactListId\": contact list {id} not found"))
            })?;
            (
                Audience::ContactList {
                    contact_list_id: list.id,
                },
                Vec::new(),
                0,
            )
        }
        AudienceKind::Tag => {
            let tag = contacts::tag("tag", req.tag.as_deref().unwrap_or_default()).map_err(bad)?;
            (Audience::Tag { tag }, Vec::new(), 0)
        }
    };

    // The device must be there now (it is checked again for every message).
    match &device_id {
        Some(id) => match state.store.get_device(tenant, id).await? {
            Some(d) if d.is_connected() => {}
            Some(_) => {
                return Err(ApiError::unprocessable(format!(
                    "\"deviceId\": device {id} is not connected"
                )))
            }
            None => {
                return Err(ApiError::not_found(format!(
                    "\"deviceId\": device {id} not found"
                )))
            }
        },
        None => {
            if state.store.first_connected_device(tenant).await?.is_none() {
                return Err(ApiError::unprocessable(
                    "No connected device: add one with POST /api/devices (provider \"sandbox\" works without WhatsApp)",
                ));
            }
        }
    }

    let at = iso(now);
    let total = entries.len() as u64;
    let chunks = rules::chunks(entries);
    let status = if scheduled.is_some() {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Running
    };
    let campaign = Campaign {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: tenant.to_string(),
        name,
        message,
        device_id,
        delay_seconds,
        audience,
        scheduled_at: scheduled.map(iso),
        status,
        pause_reason: None,
        pause_message: None,
        paused_day: None,
        total,
        pending: total,
        queued: 0,
        sent: 0,
        failed: 0,
        cancelled: 0,
        duplicates: duplicates as u64,
        chunks: chunks.len() as u32,
        cursor: None,
        source_done: false,
        batch: 0,
        batch_size: 0,
        batch_round: 0,
        batch_queued_at: None,
        batch_first_due_ms: None,
        batch_last_due_ms: None,
        next_send_at_ms: 0,
        api_key_id: caller.key_id.clone(),
        created_at: at.clone(),
        updated_at: at,
        started_at: None,
        completed_at: None,
        cancelled_at: None,
    };
    // A running campaign is due for the scheduler at once (its first batch comes with the
    // next minute unless `run` comes first); a scheduled one at its time.
    let due = scheduled.unwrap_or(now).timestamp();
    state.store.create_campaign(&campaign, chunks, due).await?;
    tracing::info!(campaign_id = %campaign.id, total, duplicates, status = %status, "campaign created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedCampaign {
            ok: true,
            id: campaign.id.clone(),
            status,
            campaign: campaign.into(),
        }),
    ))
}

/// The tenant's campaigns, newest first, with their counts.
#[utoipa::path(get, path = "/api/public/v1/campaigns", tag = "campaigns",
    params(PageParams),
    security(("apiKey" = [])),
    responses((status = 200, body = CampaignPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn list_campaigns(
    State(state): State<AppState>,
    Caller(caller): Caller,
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

/// A campaign with its status and counts (total, pending, queued, sent, failed, cancelled).
#[utoipa::path(get, path = "/api/public/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("apiKey" = [])),
    responses((status = 200, body = CampaignEnvelope), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn get_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CampaignEnvelope>> {
    let c = load(&state, &caller.tenant_id, &id).await?;
    Ok(Json(CampaignEnvelope { campaign: c.into() }))
}

/// A campaign's recipients, a page at a time, each with its status and error: the
/// recipients queued so far in order, then the array's entries not queued yet (`pending`).
/// A tag or list audience shows its members as their batches are queued.
#[utoipa::path(get, path = "/api/public/v1/campaigns/{id}/recipients", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), PageParams),
    security(("apiKey" = [])),
    responses((status = 200, body = RecipientPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn list_recipients(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
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
    security(("apiKey" = [])),
    responses(
        (status = 200, body = RunResult),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A batch is in flight, or the campaign is scheduled for later, paused on the daily limit, completed or cancelled", body = RunRefusal)))]
async fn run_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
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
                .as_deref()
                .map(|t| format!(", the last due at {t}"))
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
    security(("apiKey" = [])),
    responses((status = 200, body = CampaignEnvelope), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already completed or cancelled", body = ErrorBody)))]
async fn cancel_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = serde_json::to_value(super::openapi()).unwrap_or_default();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let text = doc.to_string();
        for r in text
            .split("\"$ref\":\"#/components/schemas/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
        {
            assert!(schemas.contains_key(r), "dangling $ref {r}");
        }
        for needed in [
            "CreateCampaignRequest",
            "CampaignView",
            "RunRefusal",
            "RecipientView",
        ] {
            assert!(schemas.contains_key(needed), "{needed} missing");
        }
    }
}
