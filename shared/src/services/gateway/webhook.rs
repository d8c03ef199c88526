//! WAHA's webhook for one device: signed with the device's key (HMAC-SHA512 over the raw
//! body), taken once per event id, and turned into what the platform already does:
//! `session.status` → the device's status and a `device.status` event; `message.ack` → a
//! status job; `message` → a customer message job on the inbound queue (the same worker as
//! Meta's). Groups, status broadcasts and echoes of our own sends are ignored (messages
//! typed on the phone are recorded as outbound); a sender known only by its `@lid` is
//! mapped to its phone number.

use crate::adapters::secrets::SecretError;
use crate::domain::devices::{DeviceStatus, ProviderKind};
use crate::domain::gateway::{
    ack_status, as_meta_message, device_status, hmac_matches, message_id, peer, Peer,
};
use crate::domain::webhooks::{DeviceStatusChanged, WebhookEvent};
use crate::runtime::state::AppState;
use crate::services::events::{self, PublishError};
use crate::services::gateway::phone::{PhoneMessageJob, SETTLE_SECONDS};
use crate::services::inbound::{enqueue, EnqueueError, InboundJob, MessageJob, StatusJob};
use crate::store::devices::Device;
use crate::store::StoreError;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum GatewayWebhookError {
    #[error("Unknown device")]
    UnknownDevice,
    #[error("Missing X-Webhook-Hmac header: the device's session signs every webhook")]
    MissingSignature,
    #[error("Invalid signature: the webhook is not signed with the device's key")]
    InvalidSignature,
    #[error("Not a WAHA webhook: {0}")]
    NotEnvelope(String),
    #[error("The gateway could not be asked who sent the message; retry")]
    Lid,
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What one webhook came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// New and handled (queued, or the device updated).
    Handled,
    /// An event id seen before.
    Duplicate,
    /// Nothing for us (a group, a status broadcast, an echo, an event we do not use).
    Ignored,
}

fn uuid(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Checks the signature and handles the event once.
pub async fn receive(
    state: &AppState,
    raw_tenant: &str,
    raw_device: &str,
    signature: Option<&str>,
    raw_body: &[u8],
) -> Result<Taken, GatewayWebhookError> {
    let (Some(tenant_id), Some(device_id)) = (uuid(raw_tenant), uuid(raw_device)) else {
        return Err(GatewayWebhookError::UnknownDevice);
    };
    let device = state
        .store
        .get_device(&tenant_id, &device_id)
        .await?
        .filter(|d| d.provider == ProviderKind::WhatsappWeb)
        .ok_or(GatewayWebhookError::UnknownDevice)?;
    let signature = signature.ok_or(GatewayWebhookError::MissingSignature)?;
    let secret = device.secret_name.as_deref().unwrap_or_default();
    let key = match state.device_secrets.get_gateway(secret).await {
        Ok(c) => c.hmac_key.clone(),
        Err(SecretError::NotFound(_)) => return Err(GatewayWebhookError::UnknownDevice),
        Err(e) => return Err(e.into()),
    };
    if !hmac_matches(&key, raw_body, signature) {
        tracing::warn!(tenant_id = %tenant_id, device_id = %device_id, "gateway webhook with an invalid signature");
        return Err(GatewayWebhookError::InvalidSignature);
    }
    let envelope: Value = serde_json::from_slice(raw_body)
        .map_err(|e| GatewayWebhookError::NotEnvelope(format!("not JSON ({e})")))?;
    let event = envelope["event"].as_str().unwrap_or_default().to_string();
    let event_id = envelope["id"]
        .as_str()
        .filter(|i| !i.is_empty() && i.len() <= 128);
    // WAHA retries and repeats events: each id is handled once. A failure gives the id
    // back, so WAHA's retry is handled.
    if let Some(id) = event_id {
        if !state
            .store
            .take_gateway_event(&tenant_id, id, state.clock.now())
            .await?
        {
            tracing::info!(event_id = id, event = %event, "gateway event seen before");
            return Ok(Taken::Duplicate);
        }
    }
    let handled = handle(state, &device, &event, &envelope).await;
    if handled.is_err() {
        if let Some(id) = event_id {
            if let Err(e) = state.store.forget_gateway_event(&tenant_id, id).await {
                tracing::error!(error = %e, "giving back a gateway event id failed");
            }
        }
    }
    handled
}

async fn handle(
    state: &AppState,
    device: &Device,
    event: &str,
    envelope: &Value,
) -> Result<Taken, GatewayWebhookError> {
    let payload = &envelope["payload"];
    match event {
        "session.status" => session_status(state, device, envelope).await,
        "message.ack" => ack(state, device, envelope).await,
        // `message.any` (if an operator subscribes it) carries the same payloads.
        "message" | "message.any" => message(state, device, payload, envelope).await,
        other => {
            tracing::info!(event = other, "gateway event ignored");
            Ok(Taken::Ignored)
        }
    }
}

/// Millisecond WAHA timestamps as whole seconds.
fn seconds(v: &Value) -> Option<i64> {
    let t = v.as_i64()?;
    Some(if t > 100_000_000_000 { t / 1000 } else { t })
}

async fn session_status(
    state: &AppState,
    device: &Device,
    envelope: &Value,
) -> Result<Taken, GatewayWebhookError> {
    let waha = envelope["payload"]["status"].as_str().unwrap_or_default();
    let Some(status) = device_status(waha) else {
        tracing::info!(status = waha, "gateway session status ignored");
        return Ok(Taken::Ignored);
    };
    let mut phone = None;
    if status == DeviceStatus::Connected {
        phone = envelope["me"]["id"].as_str().and_then(|id| match peer(id) {
            Peer::Phone(p) => Some(p),
            _ => None,
        });
        if phone.is_none() {
            phone = state.providers.whatsapp_web.me(device).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e.message, "asking the gateway for the paired number failed");
                None
            });
        }
    }
    let changed = state
        .store
        .set_device_status(&device.tenant_id, &device.id, status, phone.as_deref())
        .await?;
    match changed {
        None => return Err(GatewayWebhookError::UnknownDevice),
        Some(false) => return Ok(Taken::Handled),
        Some(true) => {}
    }
    tracing::info!(device_id = %device.id, status = status.as_str(), "device status changed");
    let now = state.clock.now();
    let timestamp = seconds(&envelope["timestamp"]).unwrap_or_else(|| now.timestamp());
    let event = WebhookEvent::DeviceStatus(DeviceStatusChanged {
        device_id: device.id.clone(),
        status,
        phone: phone
            .or_else(|| device.phone.clone())
            .filter(|_| status == DeviceStatus::Connected),
        timestamp,
    });
    let key = format!(
        "device:{}:{}:{}",
        device.id,
        status.as_str(),
        envelope["id"].as_str().unwrap_or_default()
    );
    events::publish_with_key(state, &device.tenant_id, event, &key).await?;
    Ok(Taken::Handled)
}

async fn ack(
    state: &AppState,
    device: &Device,
    envelope: &Value,
) -> Result<Taken, GatewayWebhookError> {
    let payload = &envelope["payload"];
    let status = ack_status(payload["ackName"].as_str(), payload["ack"].as_i64());
    let (Some(status), Some(id)) = (status, message_id(&payload["id"])) else {
        return Ok(Taken::Ignored);
    };
    let mut reported = json!({
        "id": id,
        "status": status.as_str(),
        "timestamp": seconds(&envelope["timestamp"]).unwrap_or_else(|| state.clock.now().timestamp()).to_string(),
    });
    if status == crate::domain::messages::MessageStatus::Failed {
        reported["errors"] =
            json!([{"title": "WhatsApp Web reported the message as not delivered (ack ERROR)"}]);
    }
    let job = InboundJob::Status(StatusJob {
        tenant_id: device.tenant_id.clone(),
        device_id: device.id.clone(),
        status: reported,
        attempt: 0,
    });
    enqueue(state, &[(job, 0)]).await?;
    Ok(Taken::Handled)
}

async fn message(
    state: &AppState,
    device: &Device,
    payload: &Value,
    envelope: &Value,
) -> Result<Taken, GatewayWebhookError> {
    let Some(id) = message_id(&payload["id"]) else {
        return Err(GatewayWebhookError::NotEnvelope(
            "a message without an id".into(),
        ));
    };
    if payload["fromMe"].as_bool() == Some(true) {
        return from_phone(state, device, payload, id).await;
    }
    let from = match peer(payload["from"].as_str().unwrap_or_default()) {
        Peer::Phone(p) => p,
        Peer::Lid(lid) => {
            let found = state
                .providers
                .whatsapp_web
                .lid_phone(device, &lid)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e.message, "mapping a lid failed");
                    GatewayWebhookError::Lid
                })?;
            match found {
                Some(p) => p,
                None => {
                    tracing::warn!(lid = %lid, "a sender known only by its lid: message dropped");
                    return Ok(Taken::Ignored);
                }
            }
        }
        Peer::Other => {
            tracing::info!("group or broadcast message ignored");
            return Ok(Taken::Ignored);
        }
    };
    let profile_name = ["notifyName", "pushName"]
        .iter()
        .find_map(|k| payload["_data"][k].as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 100)
        .map(str::to_string);
    let business_number = device
        .phone
        .clone()
        .or_else(|| {
            envelope["me"]["id"].as_str().and_then(|i| match peer(i) {
                Peer::Phone(p) => Some(p),
                _ => None,
            })
        })
        .unwrap_or_default();
    let job = InboundJob::Message(MessageJob {
        tenant_id: device.tenant_id.clone(),
        device_id: device.id.clone(),
        provider: ProviderKind::WhatsappWeb,
        business_number,
        profile_name,
        message: as_meta_message(payload, &from, &id),
        received_at: state.clock.now().timestamp(),
    });
    enqueue(state, &[(job, 0)]).await?;
    Ok(Taken::Handled)
}

/// A `fromMe` message: an echo of our own send (ignored), or typed on the phone (recorded
/// as outbound a moment later, once a send of ours would have recorded its id).
async fn from_phone(
    state: &AppState,
    device: &Device,
    payload: &Value,
    id: String,
) -> Result<Taken, GatewayWebhookError> {
    let Peer::Phone(to) = peer(payload["to"].as_str().unwrap_or_default()) else {
        return Ok(Taken::Ignored);
    };
    if state
        .store
        .find_message_by_wamid(&device.tenant_id, &id)
        .await?
        .is_some()
    {
        tracing::info!("gateway echo of our own send ignored");
        return Ok(Taken::Ignored);
    }
    let job = InboundJob::PhoneMessage(PhoneMessageJob {
        tenant_id: device.tenant_id.clone(),
        device_id: device.id.clone(),
        to,
        wa_message_id: id,
        text: payload["body"]
            .as_str()
            .filter(|b| !b.is_empty())
            .map(str::to_string),
        timestamp: seconds(&payload["timestamp"]),
    });
    enqueue(state, &[(job, SETTLE_SECONDS)]).await?;
    Ok(Taken::Handled)
}
