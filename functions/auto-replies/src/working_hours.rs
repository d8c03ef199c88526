//! Working hours and the away message: `GET|PUT /api/working-hours`.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::working_hours::{OpenRange, WorkingHours};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHoursView {
    #[serde(flatten)]
    pub hours: WorkingHours,
    /// Whether the business is open now by these hours.
    pub open_now: bool,
}

/// The working hours and away message (off, Monday to Friday 09:00–18:00 UTC, until set).
#[utoipa::path(get, path = "/api/working-hours", tag = "auto-replies",
    responses((status = 200, body = WorkingHoursView)))]
pub(crate) async fn get_working_hours(
    Authed { state, caller }: Authed,
) -> ApiResult<Json<WorkingHoursView>> {
    let hours = state.store.working_hours(&caller.tenant_id).await?;
    let open_now = hours.is_open(state.clock.now());
    Ok(Json(WorkingHoursView { hours, open_now }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkingHoursRequest {
    /// Send the away message to customers who write outside the hours.
    pub enabled: bool,
    /// An IANA time zone name, such as `Asia/Karachi`.
    pub timezone: String,
    /// The openings (at most 28); none: always closed.
    pub hours: Vec<OpenRange>,
    /// Whole local days closed whatever the weekday says (holidays), `YYYY-MM-DD`; at
    /// most 100.
    #[serde(default)]
    pub closed_dates: Vec<String>,
    /// Required when `enabled`; at most 4096 characters.
    #[serde(default)]
    pub away_message: String,
}

/// Set the working hours and the away message. A customer who writes outside them, when no
/// keyword rule matches and AI Smart Reply is off, gets the away message once per closed
/// spell.
#[utoipa::path(put, path = "/api/working-hours", tag = "auto-replies",
    request_body = WorkingHoursRequest,
    responses((status = 200, body = WorkingHoursView), (status = 400, body = ErrorBody)))]
pub(crate) async fn put_working_hours(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<WorkingHoursRequest>,
) -> ApiResult<Json<WorkingHoursView>> {
    let hours = WorkingHours {
        enabled: req.enabled,
        timezone: req.timezone,
        hours: req.hours,
        closed_dates: req.closed_dates,
        away_message: req.away_message,
    }
    .checked()
    .map_err(ApiError::bad_request)?;
    state
        .store
        .put_working_hours(&caller.tenant_id, &hours)
        .await?;
    tracing::info!(enabled = hours.enabled, timezone = %hours.timezone, "working hours changed");
    let open_now = hours.is_open(state.clock.now());
    Ok(Json(WorkingHoursView { hours, open_now }))
}
