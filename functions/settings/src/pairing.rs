//! Pairing a WhatsApp Web device and looking after its session on the gateway: the QR code
//! to scan, a pairing code instead, restart and logout.

use crate::devices::find;

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::phone::normalize as normalize_phone;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{required, ApiError, ApiJson, ApiPath};
use wati_shared::services::gateway;

#[derive(Debug, Serialize, ToSchema)]
pub struct QrCode {
    /// The gateway's session status (`SCAN_QR_CODE`, `STARTING` …).
    #[schema(example = "SCAN_QR_CODE")]
    pub status: String,
    /// The QR code's raw value (render it yourself), which changes every few seconds.
    pub qr: String,
    /// The QR code as an image.
    #[schema(example = "data:image/png;base64,iVBORw0KGgo…")]
    pub image: String,
}

/// The QR code to scan with WhatsApp (Settings → Linked devices) while a WhatsApp Web
/// device is pairing. It changes: fetch it again when it expires.
#[utoipa::path(get, path = "/api/devices/{id}/qr", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = QrCode),
        (status = 400, description = "Not a WhatsApp Web device", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The device is connected already", body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn get_qr(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<QrCode>> {
    let device = find(&state, &caller.tenant_id, &id).await?;
    let (status, qr) = gateway::qr(&state, &device).await?;
    Ok(Json(QrCode {
        status,
        qr: qr.value,
        image: format!("data:{};base64,{}", qr.mimetype, qr.png_base64),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairingCodeRequest {
    /// The WhatsApp number to link, with its country code.
    #[schema(example = "+923001234567")]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairingCode {
    /// Type it on the phone: Linked devices → Link with phone number instead.
    #[schema(example = "ABCD-EFGH")]
    pub code: String,
}

/// A pairing code: links the device by typing a code on the phone instead of scanning.
#[utoipa::path(post, path = "/api/devices/{id}/pairing-code", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    request_body = PairingCodeRequest,
    responses((status = 200, body = PairingCode),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The device is connected already", body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn pairing_code(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PairingCodeRequest>,
) -> ApiResult<Json<PairingCode>> {
    let phone =
        normalize_phone("phone", required("phone", &req.phone)?).map_err(ApiError::bad_request)?;
    let device = find(&state, &caller.tenant_id, &id).await?;
    let code = gateway::pairing_code(&state, &device, &phone).await?;
    Ok(Json(PairingCode { code }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// Restarts the device's WhatsApp Web session on the gateway. Its new status arrives as
/// `device.status` events.
#[utoipa::path(post, path = "/api/devices/{id}/restart", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn restart(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Done>> {
    let device = find(&state, &caller.tenant_id, &id).await?;
    gateway::session_action(&state, &device, "restart").await?;
    Ok(Json(Done { ok: true }))
}

/// Logs the phone out of the device's WhatsApp Web session; pair it again with a new QR
/// code.
#[utoipa::path(post, path = "/api/devices/{id}/logout", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub async fn logout(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Done>> {
    let device = find(&state, &caller.tenant_id, &id).await?;
    gateway::session_action(&state, &device, "logout").await?;
    Ok(Json(Done { ok: true }))
}
