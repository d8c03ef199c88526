//! The tenant's outbound webhook (`/api/settings/webhook…`) and its delivery log
//! (`/api/webhooks/deliveries…`). Pro and Agency plans only; turning a webhook off is
//! allowed on any plan. See `docs/webhooks.md`.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::adapters::http_client::check_url_resolving;
use wati_shared::domain::plans::effective_limits;
use wati_shared::domain::webhooks::{EventType, TestEvent, WebhookEvent};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{parse_json, ApiBody, ApiJson};
use wati_shared::services::events::publish;
use wati_shared::store::api_keys::Principal;
use wati_shared::store::webhooks::{
    PutWebhookOutcome, WebhookInfo, DEFAULT_SECRET_OVERLAP_SECS, MAX_SECRET_OVERLAP_SECS,
};

/// 409 unless the caller's plan includes signed webhooks.
pub(crate) fn require_webhooks(caller: &Principal) -> ApiResult<()> {
    if effective_limits(caller.plan, &caller.limits).signed_webhooks {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "Signed webhooks are not available on the {} plan: upgrade to Pro or Agency",
            caller.plan
        )))
    }
}

fn no_webhook() -> ApiError {
    ApiError::not_found("No webhook is configured: set one with PUT /api/settings/webhook")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutWebhookRequest {
    /// HTTPS URL resolving to public addresses.
    #[schema(example = "https://your-app.com/wati-hook")]
    pub url: String,
    /// Event types to receive; all four when left out.
    #[schema(example = json!(["message.received", "message.status"]))]
    pub events: Option<Vec<String>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEnvelope {
    pub webhook: WebhookInfo,
    /// The signing secret: only when it was just made (first PUT, rotation). Store it:
    /// it is never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
}

fn parse_events(events: Option<Vec<String>>) -> ApiResult<Vec<EventType>> {
    let Some(names) = events else {
        return Ok(EventType::SUBSCRIBABLE.to_vec());
    };
    if names.is_empty() {
        return Err(ApiError::bad_request(
            "\"events\" must name at least one event type (leave it out for all of them)",
        ));
    }
    let mut out = Vec::new();
    for name in &names {
        let t = EventType::parse(name.trim())
            .filter(|t| EventType::SUBSCRIBABLE.contains(t))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "\"events\" may contain only {}; got {name:?}",
                    EventType::SUBSCRIBABLE.map(EventType::as_str).join(", ")
                ))
            })?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.sort();
    Ok(out)
}

/// Set the webhook URL and events. The first time, the answer is 201 with the signing
/// secret, shown only then; later calls change URL and events and keep the secret.
#[utoipa::path(put, path = "/api/settings/webhook", tag = "webhooks",
    request_body = PutWebhookRequest,
    responses(
        (status = 201, description = "Created: the answer carries the secret", body = WebhookEnvelope),
        (status = 200, description = "Updated", body = WebhookEnvelope),
        (status = 400, description = "Bad URL (not HTTPS, not public) or event type", body = ErrorBody),
        (status = 409, description = "Plan without signed webhooks", body = ErrorBody)))]
pub async fn put_webhook(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<PutWebhookRequest>,
) -> ApiResult<(StatusCode, Json<WebhookEnvelope>)> {
    require_webhooks(&caller)?;
    let url = check_url_resolving(&req.url, state.config.outbound.allow_loopback_targets)
        .await
        .map_err(|e| ApiError::bad_request(format!("\"url\" {e}")))?;
    let events = parse_events(req.events)?;
    let now = state.clock.now();
    let after = Some(serde_json::json!({"url": url.as_str(), "events": &events}));
    let outcome = state
        .store
        .put_webhook(&caller.tenant_id, url.as_str(), &events, now)
        .await?;
    crate::audit::note(&state, &caller, "webhook.set", "webhook", None, after).await?;
    Ok(match outcome {
        PutWebhookOutcome::Created { info, secret } => (
            StatusCode::CREATED,
            Json(WebhookEnvelope {
                webhook: info,
                secret: Some(secret),
            }),
        ),
        PutWebhookOutcome::Updated(info) => (
            StatusCode::OK,
            Json(WebhookEnvelope {
                webhook: info,
                secret: None,
            }),
        ),
    })
}

/// The webhook: URL, events and the start of the secret (never the secret).
#[utoipa::path(get, path = "/api/settings/webhook", tag = "webhooks",
    responses((status = 200, body = WebhookEnvelope),
        (status = 404, description = "No webhook configured", body = ErrorBody),
        (status = 409, description = "Plan without signed webhooks", body = ErrorBody)))]
pub async fn get_webhook(Authed { state, caller }: Authed) -> ApiResult<Json<WebhookEnvelope>> {
    require_webhooks(&caller)?;
    let webhook = state
        .store
        .get_webhook(&caller.tenant_id)
        .await?
        .ok_or_else(no_webhook)?;
    Ok(Json(WebhookEnvelope {
        webhook: webhook.info(state.clock.now()),
        secret: None,
    }))
}

/// Turn the webhook off (any plan). Events are no longer delivered; retries of earlier
/// events are dropped. The delivery log stays.
#[utoipa::path(delete, path = "/api/settings/webhook", tag = "webhooks",
    responses((status = 204, description = "Turned off"),
        (status = 404, description = "No webhook configured", body = ErrorBody)))]
pub async fn delete_webhook(Authed { state, caller }: Authed) -> ApiResult<StatusCode> {
    if state.store.delete_webhook(&caller.tenant_id).await? {
        crate::audit::note(&state, &caller, "webhook.removed", "webhook", None, None).await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_webhook())
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the old secret keeps signing beside the new one, in seconds: 0 stops it
    /// at once (a leaked secret), at most 604800 (7 days); default 86400 (24 h).
    pub overlap_seconds: Option<u64>,
}

/// Make a new signing secret, shown once. The old one keeps signing beside it for the
/// overlap (Standard Webhooks: both signatures in `webhook-signature`; `X-Wati-Signature`:
/// the old secret's until the overlap ends, then the new one's).
#[utoipa::path(post, path = "/api/settings/webhook/rotate-secret", tag = "webhooks",
    request_body(content = Option<RotateSecretRequest>, description = "Optional"),
    responses((status = 200, body = WebhookEnvelope), (status = 400, body = ErrorBody),
        (status = 404, description = "No webhook configured", body = ErrorBody),
        (status = 409, description = "Plan without signed webhooks", body = ErrorBody)))]
pub async fn rotate_secret(
    Authed { state, caller }: Authed,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<WebhookEnvelope>> {
    require_webhooks(&caller)?;
    let req: RotateSecretRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RotateSecretRequest::default()
    } else {
        parse_json(&body)?
    };
    let overlap = req.overlap_seconds.unwrap_or(DEFAULT_SECRET_OVERLAP_SECS);
    if overlap > MAX_SECRET_OVERLAP_SECS {
        return Err(ApiError::bad_request(format!(
            "\"overlapSeconds\" must be between 0 and {MAX_SECRET_OVERLAP_SECS}"
        )));
    }
    let (webhook, secret) = state
        .store
        .rotate_webhook_secret(&caller.tenant_id, overlap, state.clock.now())
        .await?
        .ok_or_else(no_webhook)?;
    crate::audit::note(&state, &caller, "webhook.rotated", "webhook", None, None).await?;
    Ok(Json(WebhookEnvelope {
        webhook,
        secret: Some(secret),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// The event id: `webhook-id` / `X-Wati-Event-Id`, and the delivery's id in the log.
    pub id: String,
}

/// Send a signed `webhook.test` event to the webhook now, through the same queue,
/// signatures and retries as every event. It shows up in the delivery log.
#[utoipa::path(post, path = "/api/settings/webhook/test", tag = "webhooks",
    responses((status = 202, body = Queued),
        (status = 404, description = "No webhook configured", body = ErrorBody),
        (status = 409, description = "Plan without signed webhooks", body = ErrorBody)))]
pub async fn test_webhook(
    Authed { state, caller }: Authed,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    require_webhooks(&caller)?;
    state
        .store
        .get_webhook(&caller.tenant_id)
        .await?
        .ok_or_else(no_webhook)?;
    let event = WebhookEvent::Test(TestEvent {
        message: "Test event from WATI Pro: your webhook is reachable and signed.".into(),
        timestamp: state.clock.now().timestamp(),
    });
    let id = publish(&state, &caller.tenant_id, event).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { id })))
}
