//! WhatsApp Web devices through a WAHA gateway: creating one (its webhook key in Secrets
//! Manager, its session started with our webhook), pairing (QR code, pairing code), restart,
//! logout and removal. The gateway's webhooks are [`webhook`]'s. See `docs/gateway.md`.

pub mod acks;
pub mod phone;
pub mod webhook;

use crate::adapters::http_client::check_url_resolving;
use crate::adapters::providers::whatsapp_web::Qr;
use crate::adapters::providers::{ProviderError, ProviderErrorKind};
use crate::adapters::secrets::SecretError;
use crate::domain::devices::{DeviceStatus, GatewayCredentials, OwnGateway, ProviderKind};
use crate::domain::gateway::{device_status, generate_hmac_key, session_name};
use crate::runtime::state::AppState;
use crate::store::devices::Device;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("No WhatsApp Web gateway is configured on this platform (WAHA_BASE_URL): bring your own with \"gateway\": {{\"baseUrl\", \"apiKey\"}}")]
    NotConfigured,
    #[error("\"gateway.baseUrl\" {0}")]
    BadGatewayUrl(String),
    #[error("Device {0} is not a WhatsApp Web device")]
    NotWhatsappWeb(String),
    #[error("Device {0} is already connected: log it out first to pair another phone")]
    AlreadyConnected(String),
    /// The gateway refused or failed; the message says how.
    #[error("{}", .0.message)]
    Gateway(ProviderError),
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("generating the webhook key failed: {0}")]
    Random(String),
}

impl From<ProviderError> for GatewayError {
    fn from(e: ProviderError) -> Self {
        GatewayError::Gateway(e)
    }
}

impl GatewayError {
    /// Whether the gateway took too long (a 504 like Meta's).
    pub fn is_timeout(&self) -> bool {
        matches!(self, GatewayError::Gateway(e) if e.kind == ProviderErrorKind::Timeout)
    }
}

/// Makes `device` a WhatsApp Web device: its session name, its gateway, and a secret with
/// a fresh webhook key (and the tenant's gateway key). The device is not stored yet.
pub async fn prepare(
    state: &AppState,
    device: &mut Device,
    own: Option<&OwnGateway>,
) -> Result<(), GatewayError> {
    match own {
        Some(g) => {
            check_url_resolving(&g.base_url, state.config.outbound.allow_loopback_targets)
                .await
                .map_err(|r| GatewayError::BadGatewayUrl(r.to_string()))?;
        }
        None if !state.providers.whatsapp_web.configured() => {
            return Err(GatewayError::NotConfigured)
        }
        None => {}
    }
    let hmac_key = generate_hmac_key().map_err(|e| GatewayError::Random(e.to_string()))?;
    let secret_name = state.device_secrets.name_for(&device.tenant_id, &device.id);
    let creds = GatewayCredentials {
        hmac_key,
        api_key: own.map(|g| g.api_key.clone()),
    };
    state
        .device_secrets
        .create_gateway(&secret_name, &device.tenant_id, &device.id, &creds)
        .await?;
    device.provider = ProviderKind::WhatsappWeb;
    device.device_status = DeviceStatus::Pairing;
    device.session = Some(session_name(&device.tenant_id, &device.id));
    device.gateway_base_url = own.map(|g| g.base_url.clone());
    device.secret_name = Some(secret_name);
    Ok(())
}

/// Where the gateway posts a device's events.
pub fn webhook_url(base: &str, device: &Device) -> String {
    format!(
        "{base}/api/public/gateway-webhook/{}/{}",
        device.tenant_id, device.id
    )
}

/// Starts the stored device's session with our webhook and its key.
pub async fn start(
    state: &AppState,
    device: &Device,
    webhook_url: &str,
) -> Result<(), GatewayError> {
    let creds = state
        .device_secrets
        .get_gateway(device.secret_name.as_deref().unwrap_or_default())
        .await?;
    state
        .providers
        .whatsapp_web
        .start_session(device, webhook_url, &creds.hmac_key)
        .await?;
    tracing::info!(device_id = %device.id, session = device.session.as_deref().unwrap_or_default(), "gateway session started");
    Ok(())
}

fn web_device(device: &Device) -> Result<(), GatewayError> {
    if device.provider != ProviderKind::WhatsappWeb {
        return Err(GatewayError::NotWhatsappWeb(device.id.clone()));
    }
    Ok(())
}

/// The QR code to scan, while the device is pairing. A session the gateway reports as
/// working is connected: no QR code.
pub async fn qr(state: &AppState, device: &Device) -> Result<(String, Qr), GatewayError> {
    web_device(device)?;
    if device.is_connected() {
        return Err(GatewayError::AlreadyConnected(device.id.clone()));
    }
    let waha = &state.providers.whatsapp_web;
    let status = waha.session_status(device).await?;
    if device_status(&status) == Some(DeviceStatus::Connected) {
        return Err(GatewayError::AlreadyConnected(device.id.clone()));
    }
    let qr = waha.qr(device).await?;
    Ok((status, qr))
}

/// A code to type on the phone (Linked devices → Link with phone number) instead of the QR.
pub async fn pairing_code(
    state: &AppState,
    device: &Device,
    phone: &str,
) -> Result<String, GatewayError> {
    web_device(device)?;
    if device.is_connected() {
        return Err(GatewayError::AlreadyConnected(device.id.clone()));
    }
    Ok(state
        .providers
        .whatsapp_web
        .request_code(device, phone)
        .await?)
}

/// Restarts the session, or logs the phone out (the session then waits for a new QR scan).
/// The new status arrives as `session.status` events.
pub async fn session_action(
    state: &AppState,
    device: &Device,
    action: &str,
) -> Result<(), GatewayError> {
    web_device(device)?;
    state
        .providers
        .whatsapp_web
        .session_action(device, action)
        .await?;
    tracing::info!(device_id = %device.id, action, "gateway session action");
    Ok(())
}

/// Deletes the device's session on the gateway (before the device and its secret go).
pub async fn remove(state: &AppState, device: &Device) -> Result<(), GatewayError> {
    if device.provider != ProviderKind::WhatsappWeb {
        return Ok(());
    }
    Ok(state.providers.whatsapp_web.delete_session(device).await?)
}
