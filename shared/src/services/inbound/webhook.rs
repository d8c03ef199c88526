//! The inbound entry points beyond HTTP: Meta's verification handshake, Meta's signed
//! webhook split into jobs, and a sandbox customer message turned into a job. Messages are
//! checked and queued, and the inbound worker does the rest; Meta's statuses are applied in
//! the request.
//!
//! Meta wants a 200 within about 20 seconds: a webhook costs at most one `GetItem` per phone
//! number (none when the number's device is cached on this instance), the device's secret
//! (cached per instance), per status one `Query` and at most one `UpdateItem` (plus its
//! `message.status` event when the tenant's webhook wants it), and one `SendMessageBatch`
//! when it carries messages.

use super::{enqueue, EnqueueError, InboundJob, MessageJob, StatusJob};
use crate::adapters::secrets::SecretError;
use crate::domain::devices::ProviderKind;
use crate::domain::inbound::{
    inbound_message_id, parse_signature, parse_status, reported_time, same_secret,
    signature_matches, split_envelope, ReportedStatus, SignatureProblem,
};
use crate::runtime::state::AppState;
use crate::store::StoreError;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

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
    ) -> Result<Option<String>, StoreError> {
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

/// Tenant ids are UUIDs; anything else is no tenant (and is never looked up).
fn tenant_id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Also an unknown account: the two are indistinguishable.
    #[error("The verify token does not match any Cloud API device of this account: use the Verify Token saved with the device")]
    UnknownToken,
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Meta's verification handshake: `token` must be the verify token of one of the account's
/// connected Cloud API devices.
pub async fn verify(state: &AppState, raw_tenant: &str, token: &str) -> Result<(), VerifyError> {
    let tenant_id = tenant_id(raw_tenant).ok_or(VerifyError::UnknownToken)?;
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
            Err(e) => return Err(e.into()),
        }
    }
    if !matched {
        tracing::warn!(tenant_id = %tenant_id, "webhook verification with an unknown verify token");
        return Err(VerifyError::UnknownToken);
    }
    tracing::info!(tenant_id = %tenant_id, "Meta webhook verified");
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("Missing X-Hub-Signature-256 header: Meta signs every webhook")]
    MissingSignature,
    #[error("X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the raw body>")]
    MalformedSignature,
    /// Not Meta's webhook envelope; says why.
    #[error("{0}")]
    NotEnvelope(String),
    #[error("Unknown account")]
    UnknownAccount,
    #[error("No Cloud API device of this account has phone_number_id {0}")]
    UnknownPhoneNumber(String),
    #[error("Invalid signature: the webhook is not signed with the device's App Secret")]
    InvalidSignature,
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Meta delivers the webhook again, and duplicates are harmless.
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
    /// Applying template status updates failed; Meta delivers the webhook again.
    #[error("template status update: {0}")]
    Templates(String),
}

/// The signature a webhook's `X-Hub-Signature-256` header carries.
pub fn signature(header: Option<&str>) -> Result<[u8; 32], WebhookError> {
    parse_signature(header).map_err(|p| match p {
        SignatureProblem::Missing => WebhookError::MissingSignature,
        SignatureProblem::Malformed => WebhookError::MalformedSignature,
    })
}

/// What a webhook handed on: messages queued for the inbound worker, statuses applied (or
/// queued, when applying one failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub messages: usize,
    pub statuses: usize,
}

/// How many of one webhook's statuses are applied at once.
const STATUSES_IN_FLIGHT: usize = 8;

/// Meta's webhook: `envelope` is `raw_body` read as JSON, and `signature` must be the
/// HMAC-SHA256 of `raw_body` under the app secret of every device it is for. Signed, each
/// message becomes a job for the inbound worker and each status is applied now: no queue
/// message and no worker invocation per status. A status that cannot be applied (the table
/// failed) is queued for the worker instead, so none is lost; one whose message is not
/// findable yet is queued with a delay, as the worker does.
pub async fn receive(
    state: &AppState,
    cache: &DeviceCache,
    raw_tenant: &str,
    signature: &[u8; 32],
    raw_body: &[u8],
    envelope: &Value,
) -> Result<Queued, WebhookError> {
    let changes = split_envelope(envelope).map_err(WebhookError::NotEnvelope)?;
    let tenant_id = tenant_id(raw_tenant).ok_or(WebhookError::UnknownAccount)?;
    let invalid = || {
        tracing::warn!(tenant_id = %tenant_id, "webhook with an invalid signature");
        WebhookError::InvalidSignature
    };

    // Which devices the body is for, and whose secret must have signed it.
    let numbers: BTreeSet<String> = changes
        .iter()
        .filter_map(|c| c.phone_number_id.clone())
        .collect();
    let mut devices: HashMap<String, String> = HashMap::new();
    for number in &numbers {
        match cache.device_for(state, &tenant_id, number).await? {
            Some(d) => {
                devices.insert(number.clone(), d);
            }
            None => {
                tracing::warn!(tenant_id = %tenant_id, phone_number_id = %number, "webhook for an unknown phone number id");
                return Err(WebhookError::UnknownPhoneNumber(number.clone()));
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
                Ok(c) => any |= signature_matches(&c.app_secret, raw_body, signature),
                Err(SecretError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
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
                return Err(WebhookError::UnknownPhoneNumber(number.clone()));
            }
            Err(e) => return Err(e.into()),
        };
        if !signature_matches(&creds.app_secret, raw_body, signature) {
            return Err(invalid());
        }
    }

    // Signed. Template status updates are applied now (a write and an event each).
    let updates = crate::domain::templates::status_updates(envelope);
    crate::services::templates::status_updates(state, &tenant_id, &updates)
        .await
        .map_err(|e| WebhookError::Templates(e.to_string()))?;

    // One job per message; the statuses, applied below.
    let now = state.clock.now().timestamp();
    let mut jobs = Vec::new();
    let mut statuses = Vec::new();
    let mut queued = Queued {
        messages: 0,
        statuses: 0,
    };
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
            queued.messages += 1;
            let job = InboundJob::Message(MessageJob {
                tenant_id: tenant_id.clone(),
                device_id: device_id.clone(),
                provider: ProviderKind::CloudApi,
                business_number: business_number.clone(),
                profile_name,
                message,
                received_at: now,
            });
            jobs.push((job, 0));
        }
        for status in change.statuses {
            queued.statuses += 1;
            // Meta's `sent` can change no message: the send records `sent` itself when Meta
            // accepts it, and statuses move forward only (a pending message refuses it too).
            // Looking its message up would cost a query and a read for nothing.
            if parse_status(&status).is_ok_and(|r| r.status == ReportedStatus::Sent) {
                continue;
            }
            statuses.push(StatusJob {
                tenant_id: tenant_id.clone(),
                device_id: device_id.clone(),
                status,
                attempt: 0,
            });
        }
    }
    let not_applied: Vec<StatusJob> = stream::iter(statuses)
        .map(|job| apply(state, job))
        .buffer_unordered(STATUSES_IN_FLIGHT)
        .filter_map(|left| async move { left })
        .collect()
        .await;
    jobs.extend(
        not_applied
            .into_iter()
            .map(|job| (InboundJob::Status(job), 0)),
    );
    if !jobs.is_empty() {
        enqueue(state, &jobs).await?;
    }
    tracing::info!(tenant_id = %tenant_id, messages = queued.messages, statuses = queued.statuses, "webhook handled");
    Ok(queued)
}

/// Applies one of Meta's statuses; gives it back when that failed, for the inbound worker.
async fn apply(state: &AppState, job: StatusJob) -> Option<StatusJob> {
    match super::statuses::status(state, job.clone()).await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(tenant_id = %job.tenant_id, error = %e, "status not applied in the webhook: queued for the inbound worker");
            Some(job)
        }
    }
}

/// A customer message for a sandbox device, its fields already checked.
#[derive(Debug, Clone)]
pub struct SandboxMessage {
    pub device_id: String,
    /// The customer's number, normalised.
    pub from: String,
    pub text: String,
    /// The customer's WhatsApp profile name.
    pub name: Option<String>,
}

/// Where a sandbox message will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxQueued {
    /// Our id the message will be stored under.
    pub id: String,
    /// Its WhatsApp-style id (`sandbox.in.…`), as `message.received` carries it.
    pub message_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("\"deviceId\": device {0} not found")]
    DeviceNotFound(String),
    #[error("\"deviceId\": device {0} is a Cloud API device: its customers' messages come from Meta's webhook. Use a sandbox device")]
    NotSandbox(String),
    #[error("\"deviceId\": device {0} is not connected")]
    NotConnected(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
}

/// A customer writes to one of the tenant's sandbox devices: the message goes through the
/// same pipeline as Meta's, as Meta's JSON on the same queue.
pub async fn sandbox_message(
    state: &AppState,
    tenant_id: &str,
    msg: SandboxMessage,
) -> Result<SandboxQueued, SandboxError> {
    let device = state
        .store
        .get_device(tenant_id, &msg.device_id)
        .await?
        .ok_or_else(|| SandboxError::DeviceNotFound(msg.device_id.clone()))?;
    if device.provider != ProviderKind::Sandbox {
        return Err(SandboxError::NotSandbox(msg.device_id));
    }
    if !device.is_connected() {
        return Err(SandboxError::NotConnected(msg.device_id));
    }
    let now = state.clock.now();
    let wamid = format!("sandbox.in.{}", uuid::Uuid::new_v4().simple());
    // Whole seconds, as Meta's timestamps: the worker derives the same id from it.
    let sent_at = reported_time(Some(now.timestamp()), now);
    let message = serde_json::json!({
        "from": msg.from,
        "id": wamid,
        "timestamp": now.timestamp().to_string(),
        "type": "text",
        "text": {"body": msg.text},
    });
    let job = InboundJob::Message(MessageJob {
        tenant_id: tenant_id.to_string(),
        device_id: device.id.clone(),
        provider: ProviderKind::Sandbox,
        business_number: String::new(),
        profile_name: msg.name,
        message,
        received_at: now.timestamp(),
    });
    enqueue(state, &[(job, 0)]).await?;
    Ok(SandboxQueued {
        id: inbound_message_id(tenant_id, &wamid, sent_at),
        message_id: wamid,
    })
}
