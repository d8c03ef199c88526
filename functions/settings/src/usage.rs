//! `GET /api/usage`: every limit with its use, cap and reset time — what a dashboard shows
//! before its upgrade prompt.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use wati_shared::domain::plans::{effective_limits, Plan};
use wati_shared::domain::quota::{next_midnight, Limit};
use wati_shared::domain::time::iso;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::ApiResult;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitUsage {
    pub used: u32,
    /// `null` when unlimited.
    pub limit: Option<u32>,
    /// When the counter starts again (00:00 UTC) for daily limits; `null` otherwise.
    pub resets_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitUsage {
    pub limit: u32,
    pub remaining: u32,
    pub resets_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub plan: Plan,
    pub messages_per_day: LimitUsage,
    pub ai_replies_per_day: LimitUsage,
    pub devices: LimitUsage,
    pub auto_reply_rules: LimitUsage,
    pub seats: LimitUsage,
    pub rest_api: bool,
    pub signed_webhooks: bool,
    /// This API key's per-minute limit, after counting this request (absent for a
    /// signed-in user, who has no key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitUsage>,
}

/// Current use of every plan limit.
#[utoipa::path(get, path = "/api/usage", tag = "settings",
    responses((status = 200, body = Usage)))]
pub async fn get_usage(Authed { state, caller }: Authed) -> ApiResult<Json<Usage>> {
    let now = state.clock.now();
    let used = state.store.usage(&caller.tenant_id, now).await?;
    let limits = effective_limits(caller.plan, &caller.limits);
    let reset = iso(next_midnight(now));
    let entry = |limit: Limit| LimitUsage {
        used: used.get(&limit).copied().unwrap_or(0),
        limit: limit.cap(&limits),
        resets_at: limit.is_daily().then(|| reset.clone()),
    };
    Ok(Json(Usage {
        plan: caller.plan,
        messages_per_day: entry(Limit::MessagesPerDay),
        ai_replies_per_day: entry(Limit::AiRepliesPerDay),
        devices: entry(Limit::Devices),
        auto_reply_rules: entry(Limit::AutoReplyRules),
        seats: entry(Limit::Seats),
        rest_api: limits.rest_api,
        signed_webhooks: limits.signed_webhooks,
        rate_limit: caller.rate.map(|rate| RateLimitUsage {
            limit: rate.limit,
            remaining: rate.remaining,
            resets_at: chrono::DateTime::from_timestamp(rate.reset, 0)
                .map(iso)
                .unwrap_or_default(),
        }),
    }))
}
