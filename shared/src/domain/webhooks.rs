//! Outbound webhooks as pure rules: the event bodies tenants receive, secrets and
//! signatures (the spec's `X-Wati-Signature` and Standard Webhooks), the retry schedule
//! and `Retry-After`. See `docs/webhooks.md`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// The event types a tenant can subscribe to (`webhook.test` is sent on request only).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum EventType {
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "message.status")]
    MessageStatus,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "campaign.completed")]
    CampaignCompleted,
    #[serde(rename = "device.status")]
    DeviceStatus,
    #[serde(rename = "template.status")]
    TemplateStatus,
    #[serde(rename = "contact.opted_out")]
    ContactOptedOut,
    #[serde(rename = "contact.opted_in")]
    ContactOptedIn,
    #[serde(rename = "webhook.test")]
    Test,
}

impl EventType {
    /// What a webhook subscribes to when it names no events.
    pub const SUBSCRIBABLE: [EventType; 8] = [
        EventType::MessageReceived,
        EventType::MessageStatus,
        EventType::ConversationAssigned,
        EventType::CampaignCompleted,
        EventType::DeviceStatus,
        EventType::TemplateStatus,
        EventType::ContactOptedOut,
        EventType::ContactOptedIn,
    ];
    /// Every event: the subscribable ones and `test`.
    pub const ALL: [EventType; 9] = {
        let mut all = [EventType::Test; 9];
        let mut i = 0;
        while i < Self::SUBSCRIBABLE.len() {
            all[i] = Self::SUBSCRIBABLE[i];
            i += 1;
        }
        all
    };

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageReceived => "message.received",
            EventType::MessageStatus => "message.status",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::CampaignCompleted => "campaign.completed",
            EventType::DeviceStatus => "device.status",
            EventType::TemplateStatus => "template.status",
            EventType::ContactOptedOut => "contact.opted_out",
            EventType::ContactOptedIn => "contact.opted_in",
            EventType::Test => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of an inbound message, as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Image,
    Video,
    Audio,
    Document,
}

/// `message.received`: exactly the spec's body. `text` is the message (or the media's
/// caption, `""` without one); `mediaUrl` is present exactly when `type` is not `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageReceived {
    pub device_id: String,
    /// The sender, digits only (`923001234567`).
    pub from: String,
    /// The tenant's number that received it.
    pub to: String,
    pub text: String,
    /// The provider's message id (`wamid…` / gateway id).
    pub message_id: String,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// A link to the media (ours, signed: it works without a credential for 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// Why the media could not be kept (then there is no `mediaUrl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
    /// Unix seconds when the message arrived.
    pub timestamp: i64,
}

/// Delivery states of an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    Sent,
    Delivered,
    Read,
    Failed,
    /// WhatsApp Web: no ack from WhatsApp's server or the phone in time; it may never
    /// arrive.
    Unconfirmed,
}

/// Why a message failed, as the provider said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusError {
    /// Provider error code, e.g. `131026`.
    pub code: String,
    pub message: String,
}

/// `message.status`: an outbound message changed state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageStatus {
    pub device_id: String,
    /// Our id of the message (the `id` of the send response).
    pub id: String,
    /// The provider's message id (the `messageId` of the send response).
    pub message_id: String,
    /// The recipient, digits only.
    pub to: String,
    pub status: MessageState,
    /// Present when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusError>,
    pub timestamp: i64,
}

/// `conversation.assigned`: a Team Inbox conversation changed hands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationAssigned {
    pub conversation_id: String,
    pub device_id: String,
    /// The customer's number, digits only.
    pub peer: String,
    /// The team member now assigned; `null` when the conversation was unassigned.
    pub assigned_to: Option<String>,
    /// The team member assigned before; `null` when there was none.
    pub previous_assignee: Option<String>,
    /// Who made the change (a team member id), `null` for rules and the API.
    pub assigned_by: Option<String>,
    pub timestamp: i64,
}

/// `campaign.completed`: a bulk campaign finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignCompleted {
    pub campaign_id: String,
    pub name: String,
    /// Recipients in the campaign.
    pub total: u64,
    pub sent: u64,
    pub failed: u64,
    pub timestamp: i64,
}

/// `device.status`: a WhatsApp Web device's session changed state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatusChanged {
    pub device_id: String,
    pub status: crate::domain::devices::DeviceStatus,
    /// The paired number, digits only, once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub timestamp: i64,
}

/// `template.status`: Meta approved, rejected, paused or disabled a message template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateStatusChanged {
    pub device_id: String,
    pub name: String,
    pub language: String,
    /// Meta's status: APPROVED, REJECTED, PAUSED, DISABLED …
    pub status: String,
    /// Why, when Meta said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub timestamp: i64,
}

/// `contact.opted_out` / `contact.opted_in`: a contact's consent changed (a customer's
/// STOP or START, the API, an import).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactConsent {
    pub contact_id: String,
    /// Digits only.
    pub phone: String,
    pub source: crate::domain::consent::ConsentSource,
    /// The device the customer wrote to (source `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The customer's message (the provider's id; source `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub timestamp: i64,
}

/// `webhook.test`: sent by `POST /api/settings/webhook/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TestEvent {
    pub message: String,
    pub timestamp: i64,
}

/// An event as its JSON body: `{"event": "<type>", …fields}`, the tag first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum WebhookEvent {
    #[serde(rename = "message.received")]
    MessageReceived(MessageReceived),
    #[serde(rename = "message.status")]
    MessageStatus(MessageStatus),
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned(ConversationAssigned),
    #[serde(rename = "campaign.completed")]
    CampaignCompleted(CampaignCompleted),
    #[serde(rename = "device.status")]
    DeviceStatus(DeviceStatusChanged),
    #[serde(rename = "template.status")]
    TemplateStatus(TemplateStatusChanged),
    #[serde(rename = "contact.opted_out")]
    ContactOptedOut(ContactConsent),
    #[serde(rename = "contact.opted_in")]
    ContactOptedIn(ContactConsent),
    #[serde(rename = "webhook.test")]
    Test(TestEvent),
}

impl WebhookEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            WebhookEvent::MessageReceived(_) => EventType::MessageReceived,
            WebhookEvent::MessageStatus(_) => EventType::MessageStatus,
            WebhookEvent::ConversationAssigned(_) => EventType::ConversationAssigned,
            WebhookEvent::CampaignCompleted(_) => EventType::CampaignCompleted,
            WebhookEvent::DeviceStatus(_) => EventType::DeviceStatus,
            WebhookEvent::TemplateStatus(_) => EventType::TemplateStatus,
            WebhookEvent::ContactOptedOut(_) => EventType::ContactOptedOut,
            WebhookEvent::ContactOptedIn(_) => EventType::ContactOptedIn,
            WebhookEvent::Test(_) => EventType::Test,
        }
    }

    /// Unix seconds when the event happened (the body's `timestamp`).
    pub fn timestamp(&self) -> i64 {
        match self {
            WebhookEvent::MessageReceived(e) => e.timestamp,
            WebhookEvent::MessageStatus(e) => e.timestamp,
            WebhookEvent::ConversationAssigned(e) => e.timestamp,
            WebhookEvent::CampaignCompleted(e) => e.timestamp,
            WebhookEvent::DeviceStatus(e) => e.timestamp,
            WebhookEvent::TemplateStatus(e) => e.timestamp,
            WebhookEvent::ContactOptedOut(e) | WebhookEvent::ContactOptedIn(e) => e.timestamp,
            WebhookEvent::Test(e) => e.timestamp,
        }
    }

    /// The exact bytes every attempt sends.
    pub fn body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Checks what the types cannot: `mediaUrl` exactly when a message is not text, an
    /// error only on failed messages.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            WebhookEvent::MessageReceived(m) => {
                match (m.kind == MessageKind::Text, m.media_url.is_some()) {
                    (true, true) => Err("message.received: a text message has no mediaUrl".into()),
                    (false, false) if m.media_error.is_none() => {
                        Err("message.received: a media message needs its mediaUrl".into())
                    }
                    _ => Ok(()),
                }
            }
            WebhookEvent::MessageStatus(s)
                if s.error.is_some() && s.status != MessageState::Failed =>
            {
                Err("message.status: only a failed message carries an error".into())
            }
            _ => Ok(()),
        }
    }
}

/// A time-ordered event id (UUID v7). With a `dedupe_key` (a provider message id, a
/// campaign id …) the id is the same every time the same event is published, so a
/// publisher that retries does not make a second event.
pub fn event_id(
    event_type: EventType,
    occurred_at_millis: i64,
    dedupe_key: Option<&str>,
) -> String {
    match dedupe_key {
        None => uuid::Uuid::now_v7().to_string(),
        Some(key) => {
            use sha2::Digest;
            let digest = Sha256::digest(format!("{event_type}\n{key}").as_bytes());
            let mut random = [0u8; 10];
            random.copy_from_slice(&digest[..10]);
            let millis = u64::try_from(occurred_at_millis).unwrap_or_default();
            uuid::Builder::from_unix_timestamp_millis(millis, &random)
                .into_uuid()
                .to_string()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Secrets and signatures

/// Secrets look like Standard Webhooks': `whsec_` + base64 of 32 random bytes.
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;
/// How much of a secret the API shows to tell secrets apart.
const SECRET_DISPLAY_LEN: usize = 14;

pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{SECRET_PREFIX}{}", B64.encode(bytes)))
}

/// `whsec_AbCdEfGh…`: enough to recognise a secret, useless to forge with.
pub fn secret_display_prefix(secret: &str) -> String {
    let head: String = secret.chars().take(SECRET_DISPLAY_LEN).collect();
    format!("{head}…")
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The spec's `X-Wati-Signature`: `sha256=<hex HMAC-SHA256(secret, raw body)>`, keyed with
/// the secret string exactly as the tenant was given it (the Node.js verifier's
/// `createHmac("sha256", secret)`).
pub fn wati_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[body])))
}

/// Standard Webhooks: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, keyed
/// with the base64-decoded part of `whsec_…`. `None` for a malformed secret.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let ts = timestamp.to_string();
    let sig = hmac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    Some(format!("v1,{}", B64.encode(sig)))
}

/// The headers of one delivery attempt.
///
/// `secrets` are the secrets that sign, newest first: during a rotation's overlap the new
/// and the old one. `webhook-signature` carries a signature per secret, space-separated
/// (Standard Webhooks). `X-Wati-Signature` carries one signature only (the spec's verifier
/// compares the whole header), made with the *oldest* secret still signing: receivers keep
/// verifying with the secret they have until the overlap ends, then it is the new one's.
pub fn signed_headers(
    event_id: &str,
    event_type: EventType,
    timestamp: i64,
    body: &[u8],
    secrets: &[&str],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("x-wati-event-id", event_id.to_string()),
        ("x-wati-event", event_type.as_str().to_string()),
        ("x-wati-timestamp", timestamp.to_string()),
    ];
    if let Some(oldest) = secrets.last() {
        headers.push(("x-wati-signature", wati_signature(oldest, body)));
    }
    headers.push(("webhook-id", event_id.to_string()));
    headers.push(("webhook-timestamp", timestamp.to_string()));
    let sigs: Vec<String> = secrets
        .iter()
        .filter_map(|s| standard_signature(s, event_id, timestamp, body))
        .collect();
    if !sigs.is_empty() {
        headers.push(("webhook-signature", sigs.join(" ")));
    }
    headers
}

// ---------------------------------------------------------------------------------------
// Retries

/// Attempts in one round: the first, then one per step of the schedule.
pub fn attempts_per_round(schedule: &[u32]) -> u32 {
    u32::try_from(schedule.len()).unwrap_or(u32::MAX - 1) + 1
}

/// Seconds to wait after attempt `attempt` (1-based, within its round) failed, or `None`
/// when it was the last. `retry_after` (from a 429 or 503) is honoured within the
/// schedule: it can postpone the retry, never beyond the schedule's longest wait, and
/// never bring it forward.
pub fn next_delay(schedule: &[u32], attempt: u32, retry_after: Option<u64>) -> Option<u64> {
    let step = u64::from(*schedule.get(usize::try_from(attempt).ok()?.checked_sub(1)?)?);
    let longest = schedule
        .iter()
        .copied()
        .max()
        .map(u64::from)
        .unwrap_or(step);
    Some(match retry_after {
        Some(ra) => step.max(ra.min(longest)),
        None => step,
    })
}

/// `Retry-After` as seconds from `now`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<u64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some(u64::try_from((at - now).num_seconds()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(kind: MessageKind, media: Option<&str>) -> WebhookEvent {
        WebhookEvent::MessageReceived(MessageReceived {
            device_id: "uuid".into(),
            from: "923001234567".into(),
            to: "923009999999".into(),
            text: "hello".into(),
            message_id: "3EB0".into(),
            kind,
            media_url: media.map(str::to_string),
            media_error: None,
            timestamp: 1733832000,
        })
    }

    #[test]
    fn message_received_is_the_specs_body_in_the_specs_order() {
        let body = received(MessageKind::Text, None).body().unwrap_or_default();
        assert_eq!(
            body,
            r#"{"event":"message.received","deviceId":"uuid","from":"923001234567","to":"923009999999","text":"hello","messageId":"3EB0","type":"text","timestamp":1733832000}"#
        );
        let media = received(MessageKind::Image, Some("https://cdn.example/a.jpg"));
        assert!(media.validate().is_ok());
        assert!(media
            .body()
            .unwrap_or_default()
            .contains(r#""type":"image","mediaUrl":"https://cdn.example/a.jpg","timestamp""#));
        assert!(received(MessageKind::Image, None).validate().is_err());
        assert!(received(MessageKind::Text, Some("https://x"))
            .validate()
            .is_err());
        let back: WebhookEvent = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, received(MessageKind::Text, None));
    }

    #[test]
    fn other_events_follow_the_same_style() {
        let status = WebhookEvent::MessageStatus(MessageStatus {
            device_id: "d".into(),
            id: "m1".into(),
            message_id: "wamid.1".into(),
            to: "923001234567".into(),
            status: MessageState::Failed,
            error: Some(StatusError {
                code: "131026".into(),
                message: "Message undeliverable".into(),
            }),
            timestamp: 5,
        });
        assert_eq!(
            status.body().unwrap_or_default(),
            r#"{"event":"message.status","deviceId":"d","id":"m1","messageId":"wamid.1","to":"923001234567","status":"failed","error":{"code":"131026","message":"Message undeliverable"},"timestamp":5}"#
        );
        let campaign = WebhookEvent::CampaignCompleted(CampaignCompleted {
            campaign_id: "c".into(),
            name: "Sale".into(),
            total: 10,
            sent: 9,
            failed: 1,
            timestamp: 6,
        });
        assert_eq!(
            campaign.body().unwrap_or_default(),
            r#"{"event":"campaign.completed","campaignId":"c","name":"Sale","total":10,"sent":9,"failed":1,"timestamp":6}"#
        );
        let assigned = WebhookEvent::ConversationAssigned(ConversationAssigned {
            conversation_id: "v".into(),
            device_id: "d".into(),
            peer: "923001234567".into(),
            assigned_to: Some("u2".into()),
            previous_assignee: None,
            assigned_by: None,
            timestamp: 7,
        });
        assert_eq!(
            assigned.body().unwrap_or_default(),
            r#"{"event":"conversation.assigned","conversationId":"v","deviceId":"d","peer":"923001234567","assignedTo":"u2","previousAssignee":null,"assignedBy":null,"timestamp":7}"#
        );
        assert_eq!(assigned.event_type().as_str(), "conversation.assigned");
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn dedupe_keys_make_stable_time_ordered_ids() {
        let a = event_id(
            EventType::MessageReceived,
            1_733_832_000_000,
            Some("wamid.1"),
        );
        let b = event_id(
            EventType::MessageReceived,
            1_733_832_000_000,
            Some("wamid.1"),
        );
        let c = event_id(EventType::MessageStatus, 1_733_832_000_000, Some("wamid.1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let later = event_id(
            EventType::MessageReceived,
            1_733_832_000_001,
            Some("wamid.0"),
        );
        assert!(later > a, "ids sort by time");
        assert_ne!(
            event_id(EventType::Test, 0, None),
            event_id(EventType::Test, 0, None)
        );
    }

    #[test]
    fn standard_webhooks_reference_vector() {
        // The example in the Standard Webhooks specification.
        let sig = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(standard_signature("nope", "i", 1, b""), None);
    }

    #[test]
    fn wati_signature_is_hex_hmac_of_the_body_keyed_by_the_secret_string() {
        // HMAC-SHA256(key "key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            wati_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn headers_sign_with_every_secret_and_the_spec_header_with_the_oldest() {
        let new = generate_secret().unwrap_or_default();
        let old = generate_secret().unwrap_or_default();
        assert!(new.starts_with("whsec_") && new != old);
        assert_eq!(B64.decode(&new[6..]).map(|b| b.len()).ok(), Some(32));
        let h = signed_headers("id1", EventType::Test, 99, b"{}", &[&new, &old]);
        let get = |n: &str| {
            h.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(get("x-wati-signature"), wati_signature(&old, b"{}"));
        assert_eq!(get("x-wati-event-id"), "id1");
        assert_eq!(get("webhook-id"), "id1");
        assert_eq!(get("x-wati-timestamp"), "99");
        let sigs: Vec<String> = get("webhook-signature")
            .split(' ')
            .map(str::to_string)
            .collect();
        assert_eq!(
            sigs,
            vec![
                standard_signature(&new, "id1", 99, b"{}").unwrap_or_default(),
                standard_signature(&old, "id1", 99, b"{}").unwrap_or_default()
            ]
        );
        assert!(secret_display_prefix(&new).starts_with("whsec_"));
        assert!(secret_display_prefix(&new).len() < new.len());
    }

    #[test]
    fn schedule_and_retry_after() {
        let s = [60, 300, 1800, 7200, 43200];
        assert_eq!(attempts_per_round(&s), 6);
        assert_eq!(next_delay(&s, 1, None), Some(60));
        assert_eq!(next_delay(&s, 5, None), Some(43200));
        assert_eq!(
            next_delay(&s, 6, None),
            None,
            "the sixth attempt is the last"
        );
        assert_eq!(next_delay(&s, 0, None), None);
        // Retry-After postpones, within the schedule; never brings forward.
        assert_eq!(next_delay(&s, 1, Some(120)), Some(120));
        assert_eq!(next_delay(&s, 1, Some(5)), Some(60));
        assert_eq!(next_delay(&s, 1, Some(999_999)), Some(43200));
        assert_eq!(next_delay(&[], 1, None), None);
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
            Some(120)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
