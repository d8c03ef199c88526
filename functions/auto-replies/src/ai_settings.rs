//! AI Smart Reply settings: `GET|PUT /api/ai-settings`.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::auto_reply::MAX_SYSTEM_PROMPT_CHARS;
use wati_shared::domain::quota::{cap_for, Limit};
use wati_shared::domain::time::iso;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::store::auto_replies::AiSettings;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiSettingsView {
    #[serde(flatten)]
    pub settings: AiSettings,
    /// AI replies the plan allows per day (`null`: unlimited; 0: AI replies are skipped).
    pub daily_limit: Option<u32>,
}

/// AI Smart Reply settings.
#[utoipa::path(get, path = "/api/ai-settings", tag = "auto-replies",
    responses((status = 200, body = AiSettingsView)))]
pub(crate) async fn get_ai_settings(
    Authed { state, caller }: Authed,
) -> ApiResult<Json<AiSettingsView>> {
    let settings = state.store.ai_settings(&caller.tenant_id).await?;
    Ok(Json(AiSettingsView {
        settings,
        daily_limit: cap_for(caller.plan, &caller.limits, Limit::AiRepliesPerDay),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiSettingsRequest {
    pub enabled: bool,
    #[serde(default)]
    pub system_prompt: String,
    pub fallback_language: Option<String>,
    /// Answer only outside the working hours (`GET /api/working-hours`), leaving the team
    /// to answer during them. Default `false`: at any hour.
    #[serde(default)]
    pub only_outside_working_hours: bool,
}

/// Turn AI Smart Reply on or off, set the business voice and the fallback language.
#[utoipa::path(put, path = "/api/ai-settings", tag = "auto-replies",
    request_body = AiSettingsRequest,
    responses((status = 200, body = AiSettingsView), (status = 400, body = ErrorBody)))]
pub(crate) async fn put_ai_settings(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<AiSettingsRequest>,
) -> ApiResult<Json<AiSettingsView>> {
    if req.system_prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
        return Err(ApiError::bad_request(format!(
            "\"systemPrompt\" must be at most {MAX_SYSTEM_PROMPT_CHARS} characters"
        )));
    }
    let fallback_language = match req.fallback_language {
        None => AiSettings::default().fallback_language,
        Some(l) => wati_shared::domain::validate::name("fallbackLanguage", &l, 50)
            .map_err(ApiError::bad_request)?,
    };
    let settings = AiSettings {
        enabled: req.enabled,
        system_prompt: req.system_prompt.trim().to_string(),
        fallback_language,
        only_outside_working_hours: req.only_outside_working_hours,
    };
    state
        .store
        .put_ai_settings(&caller.tenant_id, &settings)
        .await?;
    tracing::info!(enabled = settings.enabled, at = %iso(state.clock.now()), "AI settings changed");
    Ok(Json(AiSettingsView {
        settings,
        daily_limit: cap_for(caller.plan, &caller.limits, Limit::AiRepliesPerDay),
    }))
}
