//! Devices: the WhatsApp numbers a tenant sends from. Cloud API credentials go to Secrets
//! Manager (one secret per device) and are never stored in the table, logged or returned.

use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use wati_shared::domain::devices::{
    new_device, DeviceInput, DeviceStatus, NewDevice, ProviderKind,
};
use wati_shared::domain::quota::{cap_for, limit_reached_message, Limit};
use wati_shared::domain::time;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::http::{callback_bases, ApiPath, CallbackBases};
use wati_shared::services::gateway;
use wati_shared::store::devices::{CreateDeviceOutcome, Device};
use wati_shared::AppState;

/// A device as the API shows it: never its credentials.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: String,
    pub name: String,
    pub provider: ProviderKind,
    pub status: DeviceStatus,
    pub phone_number_id: Option<String>,
    pub waba_id: Option<String>,
    /// WhatsApp Web: the paired number, digits, once connected.
    #[schema(example = "923001234567")]
    pub phone: Option<String>,
    /// Cloud API: the callback URL to paste into Meta's webhook configuration (with the
    /// verify token you chose). WhatsApp Web: where the gateway posts the session's events
    /// (configured on the session for you).
    #[schema(example = "https://wati.example.com/api/public/cloud-api-webhook/5f0c…")]
    pub webhook_url: Option<String>,
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
}

wati_shared::envelope!(DeviceEnvelope, device: DeviceView);

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceView>,
}

fn view(d: Device, base: Option<&CallbackBases>) -> DeviceView {
    let base = base.cloned().unwrap_or_default();
    let webhook_url = match d.provider {
        ProviderKind::CloudApi => Some(format!(
            "{}/api/public/cloud-api-webhook/{}",
            base.cloud_api, d.tenant_id
        )),
        ProviderKind::WhatsappWeb => Some(gateway::webhook_url(&base.gateway, &d)),
        ProviderKind::Sandbox => None,
    };
    DeviceView {
        id: d.id,
        name: d.name,
        provider: d.provider,
        status: d.device_status,
        phone_number_id: d.phone_number_id,
        waba_id: d.waba_id,
        phone: d.phone,
        webhook_url,
        created_at: d.created_at,
    }
}

/// Connect a device: `{"name", "provider": "sandbox"}`, `{"name", "provider":
/// "cloud_api", "phoneNumberId", "wabaId", "accessToken", "appSecret", "verifyToken"}`, or
/// `{"name", "provider": "whatsapp_web"}` (optionally with your own WAHA gateway,
/// `"gateway": {"baseUrl", "apiKey"}`): its session starts in status `pairing`; scan the
/// QR code of `GET /api/devices/{id}/qr`. Credentials go to Secrets Manager; the answer
/// never carries them.
#[utoipa::path(post, path = "/api/devices", tag = "devices",
    request_body = DeviceInput,
    responses(
        (status = 201, body = DeviceEnvelope),
        (status = 400, body = ErrorBody),
        (status = 409, description = "The phone number id is already connected, or the plan's device cap is reached", body = ErrorBody),
        (status = 502, description = "The WhatsApp Web gateway failed", body = ErrorBody),
        (status = 504, description = "The WhatsApp Web gateway did not answer in time", body = ErrorBody)))]
pub async fn create_device(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiJson(input): ApiJson<DeviceInput>,
) -> ApiResult<(StatusCode, Json<DeviceEnvelope>)> {
    let new = new_device(input).map_err(ApiError::bad_request)?;
    let tenant_id = caller.tenant_id.clone();
    let id = uuid::Uuid::now_v7().to_string();
    let mut device = Device {
        id: id.clone(),
        tenant_id: tenant_id.clone(),
        name: new.name().to_string(),
        provider: ProviderKind::Sandbox,
        device_status: DeviceStatus::Connected,
        phone_number_id: None,
        waba_id: None,
        secret_name: None,
        session: None,
        gateway_base_url: None,
        phone: None,
        created_at: state.clock.now(),
    };
    if let NewDevice::WhatsappWeb { gateway: own, .. } = &new {
        gateway::prepare(&state, &mut device, own.as_ref()).await?;
    }
    if let NewDevice::CloudApi {
        phone_number_id,
        waba_id,
        credentials,
        ..
    } = &new
    {
        let secret_name = state.device_secrets.name_for(&tenant_id, &id);
        state
            .device_secrets
            .create(&secret_name, &tenant_id, &id, credentials)
            .await
            .map_err(ApiError::internal)?;
        device.provider = ProviderKind::CloudApi;
        device.phone_number_id = Some(phone_number_id.clone());
        device.waba_id = Some(waba_id.clone());
        device.secret_name = Some(secret_name);
    }
    let cap = cap_for(caller.plan, &caller.limits, Limit::Devices);
    let outcome = state
        .store
        .create_device(&device, cap, state.clock.now())
        .await;
    if !matches!(outcome, Ok(CreateDeviceOutcome::Created)) {
        if let Some(name) = &device.secret_name {
            if let Err(e) = state.device_secrets.delete(name).await {
                tracing::error!(error = %e, "removing the secret of a device not created failed");
            }
        }
    }
    match outcome? {
        CreateDeviceOutcome::Created => {
            let base = callback_bases(&state, &headers);
            if device.provider == ProviderKind::WhatsappWeb {
                let url = gateway::webhook_url(&base.gateway, &device);
                if let Err(e) = gateway::start(&state, &device, &url).await {
                    remove(&state, &device).await;
                    return Err(e.into());
                }
            }
            tracing::info!(device_id = %id, provider = device.provider.as_str(), "device connected");
            let after = Some(serde_json::json!(view(device.clone(), None)));
            crate::audit::note(
                &state,
                &caller,
                "device.added",
                format!("device:{id}"),
                None,
                after,
            )
            .await?;
            Ok((
                StatusCode::CREATED,
                Json(DeviceEnvelope {
                    device: view(device, Some(&base)),
                }),
            ))
        }
        CreateDeviceOutcome::PhoneNumberTaken { device_id } => Err(ApiError::conflict(format!(
            "\"phoneNumberId\" is already connected as device {device_id}: delete that device first"
        ))),
        CreateDeviceOutcome::LimitReached { cap } => Err(ApiError::conflict(
            limit_reached_message(Limit::Devices, cap, caller.plan),
        )),
    }
}

/// Undoes a device whose gateway session could not be started.
async fn remove(state: &AppState, device: &Device) {
    if let Err(e) = state.store.delete_device(device, state.clock.now()).await {
        tracing::error!(error = %e, "removing a device whose session did not start failed");
    }
    if let Some(name) = &device.secret_name {
        if let Err(e) = state.device_secrets.delete(name).await {
            tracing::error!(error = %e, "removing the secret of a device not created failed");
        }
    }
}

/// List the tenant's devices, oldest first (the first connected one is the default sender).
#[utoipa::path(get, path = "/api/devices", tag = "devices",
    responses((status = 200, body = DeviceList)))]
pub async fn list_devices(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
) -> ApiResult<Json<DeviceList>> {
    let base = callback_bases(&state, &headers);
    let devices = state.store.list_devices(&caller.tenant_id).await?;
    Ok(Json(DeviceList {
        devices: devices.into_iter().map(|d| view(d, Some(&base))).collect(),
    }))
}

pub(crate) async fn find(state: &AppState, tenant_id: &str, id: &str) -> ApiResult<Device> {
    let not_found = || ApiError::not_found("Device not found");
    let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    state
        .store
        .get_device(tenant_id, &id.hyphenated().to_string())
        .await?
        .ok_or_else(not_found)
}

/// One device.
#[utoipa::path(get, path = "/api/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceEnvelope),
        (status = 404, body = ErrorBody)))]
pub async fn get_device(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeviceEnvelope>> {
    let device = find(&state, &caller.tenant_id, &id).await?;
    let base = callback_bases(&state, &headers);
    Ok(Json(DeviceEnvelope {
        device: view(device, Some(&base)),
    }))
}

/// Disconnect and delete a device; its credentials are deleted from Secrets Manager.
#[utoipa::path(delete, path = "/api/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceEnvelope),
        (status = 404, body = ErrorBody)))]
pub async fn delete_device(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeviceEnvelope>> {
    let device = find(&state, &caller.tenant_id, &id).await?;
    // The gateway's session, then the secret: if either fails the device stays, and
    // deleting it again retries them all.
    gateway::remove(&state, &device).await?;
    if let Some(name) = &device.secret_name {
        state
            .device_secrets
            .delete(name)
            .await
            .map_err(ApiError::internal)?;
    }
    if !state
        .store
        .delete_device(&device, state.clock.now())
        .await?
    {
        return Err(ApiError::not_found("Device not found"));
    }
    tracing::info!(device_id = %device.id, "device deleted");
    let target = format!("device:{}", device.id);
    crate::audit::note(&state, &caller, "device.removed", target, None, None).await?;
    let base = callback_bases(&state, &headers);
    let mut device = view(device, Some(&base));
    device.status = DeviceStatus::Disconnected;
    Ok(Json(DeviceEnvelope { device }))
}
