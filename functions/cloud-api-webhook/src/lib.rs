//! Inbound entry points. Customer messages are checked and queued (the inbound worker does
//! the rest); Meta's statuses are applied in the request. Meta is given this function's own
//! URL (a Lambda function URL); the API Gateway routes stay for devices configured before.
//!
//! - `GET /api/public/cloud-api-webhook/{tenantId}`: Meta's verification handshake (public).
//! - `POST /api/public/cloud-api-webhook/{tenantId}`: Meta's signed messages and statuses
//!   (public; `X-Hub-Signature-256` over the raw body with the device's app secret).
//! - `POST /api/sandbox/inbound`: a customer message for a sandbox device (API key).
//!
//! The checks and the queueing are `wati_shared::services::inbound::webhook`'s; this crate
//! holds the routes and their request and response types.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{middleware, Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::inbound::SIGNATURE_HEADER;
use wati_shared::domain::messages::{self as rules, message_text};
use wati_shared::domain::phone::normalize as normalize_phone;
use wati_shared::http::auth::{require_api_key, Authed};
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{finish, parse_json, required, ApiBody, ApiJson, ApiPath, ApiQuery};
use wati_shared::routes;
use wati_shared::services::inbound::webhook::{self, DeviceCache, SandboxMessage};
use wati_shared::AppState;

fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify, receive))
}

fn keyed_routes() -> OpenApiRouter<AppState> {
    // Simulates a customer on a device: an admin's tool.
    OpenApiRouter::new().routes(wati_shared::http::needs(
        wati_shared::domain::roles::Role::Admin,
        routes!(sandbox_inbound),
    ))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    let (public, _) = public_routes().split_for_parts();
    let (keyed, _) = keyed_routes().split_for_parts();
    let keyed = keyed.route_layer(middleware::from_fn_with_state(
        state.clone(),
        require_api_key,
    ));
    let router = public
        .merge(keyed)
        .layer(Extension(DeviceCache::default()))
        .with_state(state.clone());
    finish(router, state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut keyed = keyed_routes().split_for_parts().1;
    wati_shared::http::document_access(&mut keyed, wati_shared::http::Access::TenantKey);
    let mut doc = public_routes().split_for_parts().1;
    doc.merge(keyed);
    doc
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    /// The verify token you saved with the device.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// Echoed back as the body when the token matches.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Meta's webhook verification: answers `hub.challenge` as plain text when
/// `hub.verify_token` is the verify token of one of the account's Cloud API devices.
#[utoipa::path(get, path = "/api/public/cloud-api-webhook/{tenantId}", tag = "inbound",
    params(("tenantId" = String, Path, description = "Your account (tenant) id"), VerifyParams),
    responses(
        (status = 200, description = "The challenge, as text/plain", body = String, content_type = "text/plain"),
        (status = 400, body = ErrorBody),
        (status = 403, description = "Unknown verify token (or account)", body = ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    ApiPath(raw_tenant): ApiPath<String>,
    ApiQuery(q): ApiQuery<VerifyParams>,
) -> ApiResult<Response> {
    let challenge = q
        .challenge
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("\"hub.challenge\" is required"))?;
    if challenge.len() > 256 || !challenge.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "\"hub.challenge\" must be at most 256 visible ASCII characters",
        ));
    }
    if q.mode.as_deref() != Some("subscribe") {
        return Err(ApiError::forbidden("\"hub.mode\" must be \"subscribe\""));
    }
    let token = q.verify_token.as_deref().unwrap_or_default();
    webhook::verify(&state, &raw_tenant, token).await?;
    let mut res = challenge.to_string().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    /// Messages queued for the inbound worker.
    pub messages: usize,
    /// Statuses applied (or queued for the inbound worker when applying one failed).
    pub statuses: usize,
}

/// Meta's webhook: messages and statuses for the account's Cloud API devices, signed with
/// the Meta app's secret. Checked; messages queued, statuses applied; answered at once.
#[utoipa::path(post, path = "/api/public/cloud-api-webhook/{tenantId}", tag = "inbound",
    params(("tenantId" = String, Path, description = "Your account (tenant) id"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body with the app secret>")),
    request_body(content = Object, description = "Meta's webhook envelope (object: whatsapp_business_account)"),
    responses(
        (status = 200, body = Received),
        (status = 400, description = "Not Meta's webhook envelope", body = ErrorBody),
        (status = 401, description = "Missing or malformed X-Hub-Signature-256", body = ErrorBody),
        (status = 403, description = "Wrong signature, or a phone number id no device of this account has", body = ErrorBody)))]
async fn receive(
    State(state): State<AppState>,
    Extension(cache): Extension<DeviceCache>,
    ApiPath(raw_tenant): ApiPath<String>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> ApiResult<Json<Received>> {
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let signature = webhook::signature(header)?;
    let envelope: serde_json::Value = parse_json(&body)?;
    // A failure to queue is a 500: Meta delivers the webhook again, and duplicates are
    // harmless (statuses move forward only; a stored message is never stored twice).
    let queued =
        webhook::receive(&state, &cache, &raw_tenant, &signature, &body, &envelope).await?;
    Ok(Json(Received {
        messages: queued.messages,
        statuses: queued.statuses,
    }))
}

/// A customer message for a sandbox device.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SandboxInboundRequest {
    /// Required: a sandbox device of yours.
    pub device_id: Option<String>,
    /// Required: the customer's number (E.164 or digits).
    #[schema(example = "+923001234567")]
    pub from: Option<String>,
    /// Required: what the customer wrote (1–4096 characters).
    #[schema(example = "What is the price?")]
    pub text: Option<String>,
    /// Optional: the customer's WhatsApp profile name.
    #[schema(example = "Ali")]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SandboxAccepted {
    pub ok: bool,
    /// Our id the message is stored under (`GET /api/public/v1/messages/{id}`).
    pub id: String,
    /// Its WhatsApp-style id (`sandbox.in.…`), as `message.received` carries it.
    pub message_id: String,
}

/// Sandbox: a customer writes to one of your sandbox devices. The message goes through the
/// same pipeline as Meta's (stored, conversation, contact, `message.received`, keyword
/// rules and AI Smart Reply), a moment later.
#[utoipa::path(post, path = "/api/sandbox/inbound", tag = "inbound",
    request_body = SandboxInboundRequest,
    responses(
        (status = 202, body = SandboxAccepted),
        (status = 400, body = ErrorBody),
        (status = 404, description = "deviceId not found", body = ErrorBody),
        (status = 422, description = "Not a connected sandbox device", body = ErrorBody)))]
async fn sandbox_inbound(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<SandboxInboundRequest>,
) -> ApiResult<(StatusCode, Json<SandboxAccepted>)> {
    let device_id =
        rules::device_id(required("deviceId", &req.device_id)?).map_err(ApiError::bad_request)?;
    let from =
        normalize_phone("from", required("from", &req.from)?).map_err(ApiError::bad_request)?;
    let text = message_text("text", required("text", &req.text)?).map_err(ApiError::bad_request)?;
    let name = req
        .name
        .as_deref()
        .map(|n| wati_shared::domain::contacts::name("name", n).map_err(ApiError::bad_request))
        .transpose()?
        .filter(|n| !n.is_empty());
    let msg = SandboxMessage {
        device_id,
        from,
        text,
        name,
    };
    let queued = webhook::sandbox_message(&state, &caller.tenant_id, msg).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SandboxAccepted {
            ok: true,
            id: queued.id,
            message_id: queued.message_id,
        }),
    ))
}
