//! Analytics: the dashboard's figures for a period (`/summary`) and its daily rows as CSV
//! (`/daily.csv`), from counters kept on write (see `docs/analytics.md`). Manager and up, or
//! an API key.

use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::analytics::{daily_csv, Summary};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{Access, ApiQuery};
use wati_shared::routes;
use wati_shared::services::analytics::{self, SummaryQuery};
use wati_shared::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    use wati_shared::domain::roles::Role::Manager;
    use wati_shared::http::needs;
    OpenApiRouter::new()
        .routes(needs(Manager, routes!(summary)))
        .routes(needs(Manager, routes!(daily)))
}

wati_shared::http_function!(Access::TenantKey);

/// The period: local days `from`..=`to` at offset `tz`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct PeriodParams {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today in `tz`). At most 92 days in all.
    pub to: Option<String>,
    /// The days' offset from UTC, `±HH:MM`, whole or half hours (default `+00:00`).
    pub tz: Option<String>,
    /// Only this device's figures.
    pub device_id: Option<String>,
}

impl From<PeriodParams> for SummaryQuery {
    fn from(p: PeriodParams) -> Self {
        SummaryQuery {
            from: p.from,
            to: p.to,
            tz: p.tz,
            device_id: p.device_id,
        }
    }
}

/// The dashboard's figures for a period (default: the last 30 days, UTC) and the period
/// before it: message volume per day, delivery and read counts, campaigns, automatic
/// replies, the top templates and the inbox. Rates are fractions, null when nothing was sent.
#[utoipa::path(get, path = "/api/public/v1/analytics/summary", tag = "analytics",
    params(PeriodParams),
    responses((status = 200, body = Summary), (status = 400, body = ErrorBody)))]
async fn summary(
    Authed { state, caller }: Authed,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> ApiResult<Json<Summary>> {
    let s = analytics::summary(&state, &caller.tenant_id, &p.into()).await?;
    Ok(Json(s))
}

/// The summary's `daily` rows as CSV (`date,outbound,inbound,delivered,read,failed`), one
/// row per day of the period, zeros included.
#[utoipa::path(get, path = "/api/public/v1/analytics/daily.csv", tag = "analytics",
    params(PeriodParams),
    responses(
        (status = 200, content_type = "text/csv", body = String,
            description = "Header row, then one row per day"),
        (status = 400, body = ErrorBody)))]
async fn daily(
    Authed { state, caller }: Authed,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> ApiResult<impl IntoResponse> {
    let s = analytics::summary(&state, &caller.tenant_id, &p.into()).await?;
    let name = format!("attachment; filename=\"daily-{}-{}.csv\"", s.from, s.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        daily_csv(&s),
    ))
}
