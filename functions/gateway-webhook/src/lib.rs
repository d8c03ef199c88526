//! `POST /api/public/gateway-webhook/{tenantId}/{deviceId}`: a WAHA gateway's events for
//! one WhatsApp Web device (public; `X-Webhook-Hmac` over the raw body with the device's
//! key). Checked, taken once, queued; the inbound worker does the rest. The checks are
//! `wati_shared::services::gateway::webhook`'s.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::gateway::HMAC_HEADER;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{finish, ApiBody, ApiPath};
use wati_shared::routes;
use wati_shared::services::gateway::webhook::{self, Taken};
use wati_shared::AppState;

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    finish(router.with_state(state.clone()), state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayEventOutcome {
    /// `handled`, `duplicate` (an event id seen before) or `ignored` (a group, a status
    /// broadcast, an echo of our own send, an event not used).
    #[schema(example = "handled")]
    pub outcome: &'static str,
}

/// A WAHA gateway's webhook for one WhatsApp Web device (`message`, `message.ack`,
/// `session.status`), signed with the key created with the device. Configured on the
/// device's session when the device is created.
#[utoipa::path(post, path = "/api/public/gateway-webhook/{tenantId}/{deviceId}", tag = "inbound",
    params(("tenantId" = String, Path, description = "The account (tenant) id"),
        ("deviceId" = String, Path, description = "The WhatsApp Web device"),
        ("X-Webhook-Hmac" = String, Header, description = "hex HMAC-SHA512 of the raw body with the device's key")),
    request_body(content = Object, description = "WAHA's webhook envelope {id, timestamp, event, session, me, payload}"),
    responses(
        (status = 200, body = GatewayEventOutcome),
        (status = 400, description = "Not a WAHA webhook", body = ErrorBody),
        (status = 401, description = "Missing or wrong X-Webhook-Hmac", body = ErrorBody),
        (status = 404, description = "No such WhatsApp Web device", body = ErrorBody)))]
async fn receive(
    State(state): State<AppState>,
    ApiPath((tenant_id, device_id)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<GatewayEventOutcome>> {
    let signature = headers.get(HMAC_HEADER).and_then(|v| v.to_str().ok());
    // A failure to queue is a 500: WAHA retries, and the event id was given back.
    let taken = webhook::receive(&state, &tenant_id, &device_id, signature, &body).await?;
    let outcome = match taken {
        Taken::Handled => "handled",
        Taken::Duplicate => "duplicate",
        Taken::Ignored => "ignored",
    };
    Ok(Json(GatewayEventOutcome { outcome }))
}
