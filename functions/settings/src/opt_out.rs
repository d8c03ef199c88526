//! `GET|PUT /api/settings/opt-out`: the words that opt customers out and back in, the
//! confirmations, and whether direct sends to opted-out numbers are refused.

use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use wati_shared::domain::consent::OptOutSettings;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;

/// The tenant's opt-out settings (the defaults until changed).
#[utoipa::path(get, path = "/api/settings/opt-out", tag = "settings",
    responses((status = 200, body = OptOutSettings)))]
pub async fn get_opt_out(Authed { state, caller }: Authed) -> ApiResult<Json<OptOutSettings>> {
    Ok(Json(
        state
            .store
            .settings::<OptOutSettings>(&caller.tenant_id)
            .await?,
    ))
}

/// Any subset of the settings; absent fields keep their current value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptOutSettingsRequest {
    /// Replaces the opt-out words (at least one, at most 200, 1–50 characters each).
    pub opt_out_words: Option<Vec<String>>,
    /// Replaces the opt-in words (none of them an opt-out word).
    pub opt_in_words: Option<Vec<String>>,
    /// The text confirming an opt-out (`""`: none is sent).
    pub confirmation: Option<String>,
    /// The text confirming an opt-in (`""`: none is sent).
    pub opt_in_confirmation: Option<String>,
    /// `false`: `/send`, `/send-media` and inbox replies reach opted-out numbers (campaigns
    /// and automatic replies never do).
    pub block_direct_sends: Option<bool>,
}

/// Change the opt-out settings. Takes effect for the next customer message and send.
#[utoipa::path(put, path = "/api/settings/opt-out", tag = "settings",
    request_body = OptOutSettingsRequest,
    responses((status = 200, body = OptOutSettings), (status = 400, body = ErrorBody)))]
pub async fn put_opt_out(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<OptOutSettingsRequest>,
) -> ApiResult<Json<OptOutSettings>> {
    let current: OptOutSettings = state.store.settings(&caller.tenant_id).await?;
    let settings = OptOutSettings {
        opt_out_words: req.opt_out_words.unwrap_or(current.opt_out_words),
        opt_in_words: req.opt_in_words.unwrap_or(current.opt_in_words),
        confirmation: req.confirmation.unwrap_or(current.confirmation),
        opt_in_confirmation: req
            .opt_in_confirmation
            .unwrap_or(current.opt_in_confirmation),
        block_direct_sends: req.block_direct_sends.unwrap_or(current.block_direct_sends),
    }
    .validate()
    .map_err(ApiError::bad_request)?;
    state
        .store
        .put_settings(&caller.tenant_id, &settings)
        .await?;
    tracing::info!(
        block_direct_sends = settings.block_direct_sends,
        "opt-out settings changed"
    );
    Ok(Json(settings))
}
