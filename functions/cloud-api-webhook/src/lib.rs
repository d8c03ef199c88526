//! Inbound entry points. Both only check and queue; the inbound worker does the rest.
//!
//! - `GET /api/public/cloud-api-webhook/{tenantId}`: Meta's verification handshake (public).
//! - `POST /api/public/cloud-api-webhook/{tenantId}`: Meta's signed messages and statuses
//!   (public; `X-Hub-Signature-256` over the raw body with the device's app secret).
//! - `POST /api/sandbox/inbound`: a customer message for a sandbox device (API key).
//!
//! Meta wants a 200 quickly: a webhook costs at most one `GetItem` per phone number (none
//! when the number's device is cached on this instance), the device's secret (cached per
//! instance) and one `SendMessageBatch`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{middleware, Extension, Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::adapters::secrets::SecretError;
use wati_shared::domain::devices::ProviderKind;
use wati_shared::domain::inbound::{
    inbound_message_id, parse_signature, reported_time, same_secret, signature_matches,
    split_envelope, SignatureProblem, SIGNATURE_HEADER,
};
use wati_shared::domain::messages::{self as rules, message_text};
use wati_shared::domain::phone::normalize as normalize_phone;
use wati_shared::http::auth::{require_api_key, Caller};
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{finish, parse_json, ApiQuery};
use wati_shared::services::inbound::{enqueue, InboundJob, MessageJob, StatusJob};
use wati_shared::AppState;

/// How long this instance remembers which device holds a phone number id. A deleted
/// device's webhooks may still be queued for this long; the worker drops them.
const DEVICE_CACHE_FOR: Duration = Duration::from_secs(60);

/// (tenant id, phone number id) → (when it was read, device id).
type DeviceMap = HashMap<(String, String), (Instant, String)>;

/// Phone number id → device id, per tenant, for this instance.
#[derive(Clone, Default)]
pub struct DeviceCache(Arc<RwLock<DeviceMap>>);

impl DeviceCache {
    async fn device_for(
        &self,
        state: &AppState,
        tenant_id: &str,
        phone_number_id: &str,
    ) -> ApiResult<Option<String>> {
        let key = (tenant_id.to_string(), phone_number_id.to_string());
        if let Some((at, device)) = self.0.read().await.get(&key) {
            if at.elapsed() < DEVICE_CACHE_FOR {
                return Ok(Some(device.clone()));
            }
        }
        let found = state
            .store
            .device_id_for_phone_number(tenant_id, phone_number_id)
            .await?;
        let mut cache = self.0.write().await;
        match &found {
            Some(d) => {
                cache.insert(key, (Instant::now(), d.clone()));
            }
            None => {
                cache.remove(&key);
            }
        }
        Ok(found)
    }

    async fn forget(&self, tenant_id: &str, phone_number_id: &str) {
        self.0
            .write()
            .await
            .remove(&(tenant_id.to_string(), phone_number_id.to_string()));
    }
}

fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify, receive))
}

fn keyed_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sandbox_inbound))
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
    let mut doc = public_routes().split_for_parts().1;
    doc.merge(keyed_routes().split_for_parts().1);
    doc
}

/// Tenant ids are UUIDs; anything else is no tenant (and is never looked up).
fn tenant_id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
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

fn forbidden_token() -> ApiError {
    ApiError::forbidden(
        "The verify token does not match any Cloud API device of this account: use the Verify Token saved with the device",
    )
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
    Path(raw_tenant): Path<String>,
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
    let Some(tenant_id) = tenant_id(&raw_tenant) else {
        return Err(forbidden_token());
    };
    let devices = state.store.list_devices(&tenant_id).await?;
    let mut matched = false;
    for d in devices
        .iter()
        .filter(|d| d.provider == ProviderKind::CloudApi && d.is_connected())
    {
        let name = d
            .secret_name
            .clone()
            .unwrap_or_else(|| state.device_secrets.name_for(&tenant_id, &d.id));
        match state.device_secrets.get(&name).await {
            // Every device is compared: the time taken does not say which one matched.
            Ok(creds) => matched |= same_secret(token, &creds.verify_token),
            Err(SecretError::NotFound(_)) => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    if !matched {
        tracing::warn!(tenant_id = %tenant_id, "webhook verification with an unknown verify token");
        return Err(forbidden_token());
    }
    tracing::info!(tenant_id = %tenant_id, "Meta webhook verified");
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
    /// Statuses queued for the inbound worker.
    pub statuses: usize,
}

/// Meta's webhook: messages and statuses for the account's Cloud API devices, signed with
/// the Meta app's secret. Checked and queued; answered at once.
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
    Path(raw_tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let signature = parse_signature(headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()))
        .map_err(|p| match p {
            SignatureProblem::Missing => ApiError::unauthorized(
                "Missing X-Hub-Signature-256 header: Meta signs every webhook",
            ),
            SignatureProblem::Malformed => ApiError::unauthorized(
                "X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the raw body>",
            ),
        })?;
    let envelope: serde_json::Value = parse_json(&body)?;
    let changes = split_envelope(&envelope).map_err(ApiError::bad_request)?;
    let Some(tenant_id) = tenant_id(&raw_tenant) else {
        return Err(ApiError::forbidden("Unknown account"));
    };
    let invalid = || {
        tracing::warn!(tenant_id = %tenant_id, "webhook with an invalid signature");
        ApiError::forbidden(
            "Invalid signature: the webhook is not signed with the device's App Secret",
        )
    };

    // Which devices the body is for, and whose secret must have signed it.
    let numbers: BTreeSet<String> = changes
        .iter()
        .filter_map(|c| c.phone_number_id.clone())
        .collect();
    let mut devices: HashMap<String, String> = HashMap::new();
    for number in &numbers {
        match cache.device_for(&state, &tenant_id, number).await? {
            Some(d) => {
                devices.insert(number.clone(), d);
            }
            None => {
                tracing::warn!(tenant_id = %tenant_id, phone_number_id = %number, "webhook for an unknown phone number id");
                return Err(ApiError::forbidden(format!(
                    "No Cloud API device of this account has phone_number_id {number}"
                )));
            }
        }
    }
    if devices.is_empty() {
        // Nothing for a device (e.g. template status updates): any of the account's Cloud
        // API devices may have signed it.
        let candidates: Vec<String> = state
            .store
            .list_devices(&tenant_id)
            .await?
            .into_iter()
            .filter(|d| d.provider == ProviderKind::CloudApi)
            .map(|d| d.id)
            .collect();
        let mut any = false;
        for d in &candidates {
            match state
                .device_secrets
                .get(&state.device_secrets.name_for(&tenant_id, d))
                .await
            {
                Ok(c) => any |= signature_matches(&c.app_secret, &body, &signature),
                Err(SecretError::NotFound(_)) => {}
                Err(e) => return Err(ApiError::internal(e)),
            }
        }
        if !any {
            return Err(invalid());
        }
    }
    for (number, device_id) in &devices {
        let name = state.device_secrets.name_for(&tenant_id, device_id);
        let creds = match state.device_secrets.get(&name).await {
            Ok(c) => c,
            Err(SecretError::NotFound(_)) => {
                // The device was deleted since it was cached.
                cache.forget(&tenant_id, number).await;
                return Err(ApiError::forbidden(format!(
                    "No Cloud API device of this account has phone_number_id {number}"
                )));
            }
            Err(e) => return Err(ApiError::internal(e)),
        };
        if !signature_matches(&creds.app_secret, &body, &signature) {
            return Err(invalid());
        }
    }

    // Signed: one job per message and per status.
    let now = state.clock.now().timestamp();
    let mut jobs = Vec::new();
    let (mut messages, mut statuses) = (0, 0);
    for change in changes {
        if change.field != "messages" {
            tracing::info!(tenant_id = %tenant_id, field = %change.field, "webhook field ignored");
            continue;
        }
        let Some(device_id) = change
            .phone_number_id
            .as_deref()
            .and_then(|n| devices.get(n))
        else {
            continue;
        };
        let business_number: String = change
            .display_phone_number
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        for (message, profile_name) in change.messages {
            messages += 1;
            jobs.push((
                InboundJob::Message(MessageJob {
                    tenant_id: tenant_id.clone(),
                    device_id: device_id.clone(),
                    provider: ProviderKind::CloudApi,
                    business_number: business_number.clone(),
                    profile_name,
                    message,
                    received_at: now,
                }),
                0,
            ));
        }
        for status in change.statuses {
            statuses += 1;
            jobs.push((
                InboundJob::Status(StatusJob {
                    tenant_id: tenant_id.clone(),
                    device_id: device_id.clone(),
                    status,
                    attempt: 0,
                }),
                0,
            ));
        }
    }
    // A failure here is a 500: Meta delivers the webhook again, and duplicates are harmless.
    enqueue(&state, &jobs).await?;
    tracing::info!(tenant_id = %tenant_id, messages, statuses, "webhook queued");
    Ok(Json(Received { messages, statuses }))
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
    security(("apiKey" = [])),
    responses(
        (status = 202, body = SandboxAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "deviceId not found", body = ErrorBody),
        (status = 422, description = "Not a connected sandbox device", body = ErrorBody)))]
async fn sandbox_inbound(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<SandboxAccepted>)> {
    let req: SandboxInboundRequest = parse_json(&body)?;
    let bad = |m: String| ApiError::bad_request(m);
    let device_id = rules::device_id(
        req.device_id
            .as_deref()
            .ok_or_else(|| bad("\"deviceId\" is required".into()))?,
    )
    .map_err(bad)?;
    let from = normalize_phone(
        "from",
        req.from
            .as_deref()
            .ok_or_else(|| bad("\"from\" is required".into()))?,
    )
    .map_err(bad)?;
    let text = message_text(
        "text",
        req.text
            .as_deref()
            .ok_or_else(|| bad("\"text\" is required".into()))?,
    )
    .map_err(bad)?;
    let name = req
        .name
        .as_deref()
        .map(|n| wati_shared::domain::contacts::name("name", n).map_err(bad))
        .transpose()?
        .filter(|n| !n.is_empty());
    let device = state
        .store
        .get_device(&caller.tenant_id, &device_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("\"deviceId\": device {device_id} not found"))
        })?;
    if device.provider != ProviderKind::Sandbox {
        return Err(ApiError::unprocessable(format!(
            "\"deviceId\": device {device_id} is a Cloud API device: its customers' messages come from Meta's webhook. Use a sandbox device"
        )));
    }
    if !device.is_connected() {
        return Err(ApiError::unprocessable(format!(
            "\"deviceId\": device {device_id} is not connected"
        )));
    }
    let now = state.clock.now();
    let wamid = format!("sandbox.in.{}", uuid::Uuid::new_v4().simple());
    // Whole seconds, as Meta's timestamps: the worker derives the same id from it.
    let sent_at = reported_time(Some(now.timestamp()), now);
    let message = serde_json::json!({
        "from": from,
        "id": wamid,
        "timestamp": now.timestamp().to_string(),
        "type": "text",
        "text": {"body": text},
    });
    let job = InboundJob::Message(MessageJob {
        tenant_id: caller.tenant_id.clone(),
        device_id: device.id.clone(),
        provider: ProviderKind::Sandbox,
        business_number: String::new(),
        profile_name: name,
        message,
        received_at: now.timestamp(),
    });
    enqueue(&state, &[(job, 0)]).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SandboxAccepted {
            ok: true,
            id: inbound_message_id(&caller.tenant_id, &wamid, sent_at),
            message_id: wamid,
        }),
    ))
}
