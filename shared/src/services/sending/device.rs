//! Which device a send goes through: the one named, if it is connected, or else the
//! tenant's first connected device. A campaign checks the same when it is created.

use crate::domain::devices::ProviderKind;
use crate::runtime::state::AppState;
use crate::store::devices::Device;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("\"deviceId\": device {0} not found")]
    NotFound(String),
    #[error("\"deviceId\": device {0} is not connected")]
    NotConnected(String),
    /// A WhatsApp Web device whose session is not working; names its state.
    #[error("\"deviceId\": device {id} is {status}: the WhatsApp Web session is not connected, scan the QR code (GET /api/devices/{id}/qr)")]
    SessionNotConnected { id: String, status: &'static str },
    #[error("No connected device: add one with POST /api/devices (provider \"sandbox\" works without WhatsApp)")]
    NoneConnected,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn resolve(
    state: &AppState,
    tenant_id: &str,
    device_id: Option<&str>,
) -> Result<Device, DeviceError> {
    match device_id {
        Some(id) => match state.store.get_device(tenant_id, id).await? {
            Some(d) if d.is_connected() => Ok(d),
            Some(d) if d.provider == ProviderKind::WhatsappWeb => {
                Err(DeviceError::SessionNotConnected {
                    id: d.id,
                    status: d.device_status.as_str(),
                })
            }
            Some(_) => Err(DeviceError::NotConnected(id.to_string())),
            None => Err(DeviceError::NotFound(id.to_string())),
        },
        None => state
            .store
            .first_connected_device(tenant_id)
            .await?
            .ok_or(DeviceError::NoneConnected),
    }
}
