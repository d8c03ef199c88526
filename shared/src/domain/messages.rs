//! Rules for outbound messages: recipient numbers, text, templates, the status lifecycle and
//! `Idempotency-Key` handling. Every error is the exact message a client sees.

use crate::domain::media::MediaKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// WhatsApp's limit on a text message body.
pub const MAX_TEXT_CHARS: usize = 4096;
/// WhatsApp's limit on a media caption.
pub const MAX_CAPTION_CHARS: usize = 1024;
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A text body: 1–4096 characters, not only whitespace. Kept as written.
pub fn message_text(field: &str, value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(format!("\"{field}\" must not be empty"));
    }
    let n = value.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(format!(
            "\"{field}\" must be at most {MAX_TEXT_CHARS} characters (got {n})"
        ));
    }
    Ok(value.to_string())
}

/// A caption: at most 1024 characters; an empty one counts as none.
pub fn caption(value: Option<&str>) -> Result<Option<String>, String> {
    let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let n = v.chars().count();
    if n > MAX_CAPTION_CHARS {
        return Err(format!(
            "\"caption\" must be at most {MAX_CAPTION_CHARS} characters (got {n})"
        ));
    }
    Ok(Some(v.to_string()))
}

/// A device id as the API hands them out (a UUID).
pub fn device_id(value: &str) -> Result<String, String> {
    let v = value.trim();
    uuid::Uuid::parse_str(v)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| "\"deviceId\" must be a device id (a UUID from GET /api/devices)".to_string())
}

/// A Cloud API message template, as Meta takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    /// The approved template's name.
    #[schema(example = "order_update")]
    pub name: String,
    /// Its language code, e.g. `en_US`.
    #[schema(example = "en_US")]
    pub language: String,
    /// Meta's `components` array (header / body / button parameters), passed through as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub components: Option<Vec<serde_json::Value>>,
    /// The body's `{{1}}`, `{{2}}` … in order. Checked against a synced template's body and
    /// sent as Meta's body parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["Ali", "20%"]))]
    pub variables: Option<Vec<String>>,
}

pub fn template(t: &TemplateSpec) -> Result<TemplateSpec, String> {
    let name = t.name.trim();
    if !is_template_name(name) {
        return Err(
            "\"template.name\" must be a template name: lowercase letters, digits and underscores"
                .into(),
        );
    }
    let language = t.language.trim();
    if !is_language_code(language) {
        return Err("\"template.language\" must be a language code such as en or en_US".into());
    }
    if let Some(components) = &t.components {
        if components.len() > 20 || components.iter().any(|c| !c.is_object()) {
            return Err(
                "\"template.components\" must be a list of objects (Meta's template components)"
                    .into(),
            );
        }
        if serde_json::to_vec(components).map_or(true, |v| v.len() > 32 * 1024) {
            return Err("\"template.components\" is too large".into());
        }
    }
    if let Some(vars) = &t.variables {
        if vars.len() > 100 || vars.iter().any(|v| v.chars().count() > 1024) {
            return Err(
                "\"template.variables\" must be at most 100 texts of at most 1024 characters"
                    .into(),
            );
        }
        if vars.iter().any(|v| v.trim().is_empty()) {
            return Err("\"template.variables\" must not hold empty texts".into());
        }
    }
    Ok(TemplateSpec {
        name: name.to_string(),
        language: language.to_string(),
        components: t.components.clone(),
        variables: t.variables.clone(),
    })
}

/// A template language code: `en`, `en_US`, `pt_BR`, `zh_Hant` …
pub fn is_language_code(language: &str) -> bool {
    match language.split_once('_') {
        None => is_lang(language),
        Some((lang, region)) => {
            is_lang(lang)
                && (2..=4).contains(&region.len())
                && region.bytes().all(|b| b.is_ascii_alphanumeric())
        }
    }
}

/// A template name as Meta takes it: lowercase letters, digits and underscores.
pub fn is_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_lang(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// Where an outbound message stands. Statuses only move forward (`rank`); `failed` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Recorded, not yet accepted by the provider.
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
    /// An inbound message: the customer's, stored as received. It never changes status.
    Received,
    /// WhatsApp Web: accepted by the gateway, but neither WhatsApp's server nor the phone
    /// acknowledged it in time; it may never arrive. A later ack moves it on.
    Unconfirmed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
            MessageStatus::Unconfirmed => "unconfirmed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MessageStatus::Pending,
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read,
            MessageStatus::Failed,
            MessageStatus::Received,
            MessageStatus::Unconfirmed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Order of the lifecycle: a change is applied only to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Pending => 0,
            // Beside `sent`: only the ack check makes a message unconfirmed, and a server
            // ack makes it sent again (both outside the forward-only path).
            MessageStatus::Sent | MessageStatus::Unconfirmed => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed => 4,
            // Above every outbound status, so no provider report can change it.
            MessageStatus::Received => 5,
        }
    }

    /// Whether a provider report of `next` moves a message that is at `self`: forward only,
    /// and never from `pending` (the send itself records `sent` or `failed` first). Inbound
    /// messages (`received`) have no provider statuses.
    pub fn may_become(self, next: MessageStatus) -> bool {
        self != MessageStatus::Pending
            && self != MessageStatus::Received
            && next != MessageStatus::Received
            && next.rank() > self.rank()
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks an `Idempotency-Key` header value: 1–255 visible ASCII characters.
pub fn idempotency_key(value: &str) -> Result<&str, String> {
    let v = value.trim();
    if v.is_empty() || v.len() > MAX_IDEMPOTENCY_KEY_LEN || !v.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "\"Idempotency-Key\" must be 1-{MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        ));
    }
    Ok(v)
}

/// Hex SHA-256 of the key: what is stored, so keys of any shape fit a DynamoDB key.
pub fn idempotency_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// What makes two requests "the same": the endpoint and the JSON body, compared as JSON
/// (key order and whitespace do not matter).
pub fn request_fingerprint(endpoint: &str, body: &serde_json::Value) -> String {
    let mut canonical = String::new();
    write_canonical(body, &mut canonical);
    let mut h = Sha256::new();
    h.update(endpoint.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = map.get(k) {
                    write_canonical(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What a message is: text, a media kind, a template, or (inbound only) what else customers
/// send.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Image,
    Video,
    Audio,
    Document,
    Template,
    // Inbound only (what customers can send besides text and media).
    Sticker,
    Location,
    Contacts,
    /// A template's quick-reply button.
    Button,
    /// A reply to an interactive message (button, list row, flow).
    Interactive,
    Reaction,
    /// A type this platform does not understand: stored with Meta's type and JSON.
    Unknown,
}

impl MessageKind {
    /// The name the API and Meta give the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Video => "video",
            MessageKind::Audio => "audio",
            MessageKind::Document => "document",
            MessageKind::Sticker => "sticker",
            MessageKind::Location => "location",
            MessageKind::Contacts => "contacts",
            MessageKind::Button => "button",
            MessageKind::Interactive => "interactive",
            MessageKind::Reaction => "reaction",
            MessageKind::Template => "template",
            MessageKind::Unknown => "unknown",
        }
    }
}

impl From<MediaKind> for MessageKind {
    fn from(k: MediaKind) -> Self {
        match k {
            MediaKind::Image => MessageKind::Image,
            MediaKind::Video => MessageKind::Video,
            MediaKind::Audio => MessageKind::Audio,
            MediaKind::Document => MessageKind::Document,
        }
    }
}

/// Fixed namespace of [`id_from_wamid`]: ids of other kinds can never be computed from it.
const SENT_ID_NAMESPACE: &[u8] = b"wati.message.sent-once.v1";

/// The id of a message our send stored once, with its outcome (no `Idempotency-Key`, no id
/// chosen before the provider was called): a name-based UUID (version 8: SHA-256 of a fixed
/// namespace, the tenant and WhatsApp's id). Anyone holding WhatsApp's id (Meta's and
/// WAHA's statuses, a lookup by `messageId`) finds the message by its key, so it needs no
/// WhatsApp-id index entry. Not time-ordered: its history position is a UUIDv7 of its own.
pub fn id_from_wamid(tenant_id: &str, wamid: &str) -> String {
    let name = [SENT_ID_NAMESPACE, tenant_id.as_bytes(), wamid.as_bytes()].join(&0u8);
    let digest = Sha256::digest(name);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_id_from_a_whatsapp_id_is_a_stable_uuid_of_its_tenant() {
        let id = id_from_wamid("t1", "wamid.HBgM1");
        assert_eq!(
            id,
            id_from_wamid("t1", "wamid.HBgM1"),
            "the same every time"
        );
        let u = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(u.hyphenated().to_string(), id, "lower-case, hyphenated");
        assert_eq!(u.get_version_num(), 8);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(id, id_from_wamid("t2", "wamid.HBgM1"), "another tenant");
        assert_ne!(id, id_from_wamid("t1", "wamid.HBgM2"), "another message");
        // The separator keeps the parts apart.
        assert_ne!(id_from_wamid("t1w", "x"), id_from_wamid("t1", "wx"));
    }

    #[test]
    fn a_send_names_its_to_field_in_phone_errors() {
        // The rule itself is tested in domain::phone; a send's errors name "to".
        let to = |s: &str| crate::domain::phone::normalize("to", s);
        assert_eq!(to(" +92 300-123 4567 "), Ok("923001234567".into()));
        assert_eq!(
            to("923001234567@c.us"),
            Err("\"to\" must be an E.164 number or local digits".to_string())
        );
    }

    #[test]
    fn text_limits() {
        assert_eq!(message_text("message", "hi"), Ok("hi".into()));
        assert!(message_text("message", &"é".repeat(4096)).is_ok());
        assert_eq!(
            message_text("message", &"a".repeat(4097)),
            Err("\"message\" must be at most 4096 characters (got 4097)".into())
        );
        assert_eq!(
            message_text("message", " \n "),
            Err("\"message\" must not be empty".into())
        );
        assert_eq!(caption(Some("  ")), Ok(None));
        assert!(caption(Some(&"a".repeat(1025))).is_err());
    }

    #[test]
    fn templates() {
        let t = |name: &str, language: &str, components: Option<serde_json::Value>| {
            template(&TemplateSpec {
                name: name.into(),
                language: language.into(),
                components: components.map(|c| c.as_array().cloned().unwrap_or_default()),
                variables: None,
            })
        };
        assert!(t("hello_world", "en_US", None).is_ok());
        assert!(t("order_2", "pt_BR", Some(json!([{"type": "body"}]))).is_ok());
        assert!(t("fil_x", "fil", None).is_ok());
        assert!(t("Hello World", "en_US", None)
            .err()
            .unwrap_or_default()
            .starts_with("\"template.name\""));
        assert!(t("x", "english", None)
            .err()
            .unwrap_or_default()
            .starts_with("\"template.language\""));
        assert!(t("x", "en", Some(json!(["body"])))
            .err()
            .unwrap_or_default()
            .starts_with("\"template.components\""));
    }

    #[test]
    fn statuses_only_move_forward() {
        use MessageStatus::*;
        assert!(Sent.may_become(Delivered));
        assert!(Sent.may_become(Read));
        assert!(Delivered.may_become(Read));
        assert!(Sent.may_become(Failed));
        assert!(!Read.may_become(Delivered));
        assert!(!Delivered.may_become(Delivered));
        assert!(!Failed.may_become(Read));
        assert!(
            !Pending.may_become(Delivered),
            "the send records sent first"
        );
        assert_eq!(MessageStatus::parse("read"), Some(Read));
        assert_eq!(MessageStatus::parse("seen"), None);
    }

    #[test]
    fn idempotency_keys_and_fingerprints() {
        assert_eq!(idempotency_key(" order-42 "), Ok("order-42"));
        assert!(idempotency_key("").is_err());
        assert!(idempotency_key("has space").is_err());
        assert!(idempotency_key(&"k".repeat(256)).is_err());
        assert_eq!(idempotency_key_hash("a").len(), 64);
        let a = request_fingerprint(
            "send",
            &json!({"to": "1", "message": "hi", "x": [1, {"b": 1, "a": 2}]}),
        );
        let b = request_fingerprint(
            "send",
            &json!({"x": [1, {"a": 2, "b": 1}], "message": "hi", "to": "1"}),
        );
        assert_eq!(a, b, "key order does not matter");
        assert_ne!(
            a,
            request_fingerprint(
                "send-media",
                &json!({"to": "1", "message": "hi", "x": [1, {"b": 1, "a": 2}]})
            )
        );
        assert_ne!(
            a,
            request_fingerprint(
                "send",
                &json!({"to": "1", "message": "hi!", "x": [1, {"b": 1, "a": 2}]})
            )
        );
        assert_ne!(
            request_fingerprint("send", &json!({"a": [1, 2]})),
            request_fingerprint("send", &json!({"a": [2, 1]})),
            "array order does"
        );
    }

    #[test]
    fn device_ids_are_uuids() {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(device_id(&id), Ok(id.clone()));
        assert_eq!(device_id(&id.to_uppercase()), Ok(id));
        assert!(device_id("device-1").is_err());
    }
}
