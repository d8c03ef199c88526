//! Inbound WhatsApp traffic as pure functions: Meta's webhook signature, its envelope split
//! into single messages and statuses, what each message holds, what each status report says,
//! and the 24-hour customer service window. No I/O: the webhook function and the inbound
//! worker call these (`docs/inbound.md` has the protocol).

use crate::domain::messages::MessageKind;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The header Meta signs every webhook POST with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Why a webhook's signature header cannot be checked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// No `X-Hub-Signature-256` header.
    Missing,
    /// Not `sha256=<64 hex digits>`.
    Malformed,
}

/// The 32-byte HMAC of an `X-Hub-Signature-256: sha256=<hex>` header.
pub fn parse_signature(header: Option<&str>) -> Result<[u8; 32], SignatureProblem> {
    let value = header.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return Err(SignatureProblem::Missing);
    };
    let hex_part = value
        .strip_prefix("sha256=")
        .ok_or(SignatureProblem::Malformed)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).map_err(|_| SignatureProblem::Malformed)?;
    Ok(out)
}

/// Whether `signature` is the HMAC-SHA256 of the raw body under the app secret. The
/// comparison takes the same time whatever the bytes (`Mac::verify_slice`).
pub fn signature_matches(app_secret: &str, raw_body: &[u8], signature: &[u8; 32]) -> bool {
    let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(raw_body);
    mac.verify_slice(signature).is_ok()
}

/// `sha256=<hex>` for a body: what Meta sends (tests and the sandbox use it).
pub fn sign(app_secret: &str, raw_body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(app_secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(raw_body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Compares two secrets in constant time (for the verify token of the GET handshake).
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    // Hash first so the comparison does not reveal the length either.
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(ha.as_slice().ct_eq(hb.as_slice()))
}

/// One `changes[]` element of the envelope, with what the inbound pipeline needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `messages` for messages and statuses; other fields (template status updates, account
    /// updates…) are acknowledged and ignored.
    pub field: String,
    /// `value.metadata.phone_number_id`: the device it is for.
    pub phone_number_id: Option<String>,
    /// `value.metadata.display_phone_number`: the business number, as shown.
    pub display_phone_number: Option<String>,
    /// Each message with its sender's profile name (from `value.contacts[]`).
    pub messages: Vec<(Value, Option<String>)>,
    pub statuses: Vec<Value>,
}

/// Splits a webhook body into its changes. Only `whatsapp_business_account` webhooks are
/// accepted; anything that is not that shape is an error naming the problem.
pub fn split_envelope(body: &Value) -> Result<Vec<Change>, String> {
    let obj = body
        .as_object()
        .ok_or("the body must be a JSON object (Meta's webhook envelope)")?;
    match obj.get("object").and_then(Value::as_str) {
        Some("whatsapp_business_account") => {}
        Some(other) => {
            return Err(format!(
                "\"object\" must be \"whatsapp_business_account\", got {other:?}"
            ))
        }
        None => return Err("\"object\" is required (\"whatsapp_business_account\")".into()),
    }
    let entries = match obj.get("entry") {
        Some(Value::Array(e)) => e.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => return Err("\"entry\" must be an array".into()),
    };
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let changes = match entry.get("changes") {
            Some(Value::Array(c)) => c.as_slice(),
            None | Some(Value::Null) => &[],
            Some(_) => return Err(format!("\"entry[{i}].changes\" must be an array")),
        };
        for (j, change) in changes.iter().enumerate() {
            let field = change
                .get("field")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let value = change.get("value").unwrap_or(&Value::Null);
            let metadata = value.get("metadata");
            let meta_str = |k: &str| {
                metadata
                    .and_then(|m| m.get(k))
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.trim().to_string()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .filter(|s| !s.is_empty())
            };
            let list = |k: &str| -> Result<Vec<Value>, String> {
                match value.get(k) {
                    Some(Value::Array(a)) => Ok(a.clone()),
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(_) => Err(format!(
                        "\"entry[{i}].changes[{j}].value.{k}\" must be an array"
                    )),
                }
            };
            let contacts = list("contacts")?;
            let messages = list("messages")?
                .into_iter()
                .map(|m| {
                    let name = profile_name(&contacts, &m);
                    (m, name)
                })
                .collect();
            out.push(Change {
                field,
                phone_number_id: meta_str("phone_number_id"),
                display_phone_number: meta_str("display_phone_number"),
                messages,
                statuses: list("statuses")?,
            });
        }
    }
    Ok(out)
}

/// The sender's profile name: the contact whose `wa_id` is the message's `from`, else the
/// only contact of the change.
fn profile_name(contacts: &[Value], message: &Value) -> Option<String> {
    let from = message.get("from").and_then(Value::as_str);
    let name_of = |c: &Value| {
        c.get("profile")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    };
    contacts
        .iter()
        .find(|c| from.is_some() && c.get("wa_id").and_then(Value::as_str) == from)
        .and_then(name_of)
        .or_else(|| match contacts {
            [only] => name_of(only),
            _ => None,
        })
}

/// Meta's message types, as this platform stores them.
impl MessageKind {
    /// Meta's `type`: one to one; anything else is `Unknown` (stored with Meta's type name
    /// and its raw JSON, never dropped).
    fn from_meta(t: &str) -> MessageKind {
        match t {
            "text" => MessageKind::Text,
            "image" => MessageKind::Image,
            "video" => MessageKind::Video,
            "audio" | "voice" => MessageKind::Audio,
            "document" => MessageKind::Document,
            "sticker" => MessageKind::Sticker,
            "location" => MessageKind::Location,
            "contacts" => MessageKind::Contacts,
            "button" => MessageKind::Button,
            "interactive" => MessageKind::Interactive,
            "reaction" => MessageKind::Reaction,
            _ => MessageKind::Unknown,
        }
    }

    /// The spec's `message.received` type: media kinds as themselves (a sticker is an
    /// image), everything else `text` with a textual rendering.
    pub fn event_kind(self) -> super::webhooks::MessageKind {
        use super::webhooks::MessageKind as K;
        match self {
            MessageKind::Image | MessageKind::Sticker => K::Image,
            MessageKind::Video => K::Video,
            MessageKind::Audio => K::Audio,
            MessageKind::Document => K::Document,
            _ => K::Text,
        }
    }

    /// Whether automatic answers consider this message. Reactions, and types this platform
    /// does not understand, are stored for the inbox but never answered by a bot.
    pub fn answerable(self) -> bool {
        !matches!(self, MessageKind::Reaction | MessageKind::Unknown)
    }
}

/// A media attachment: Meta gives an id, not a link (the file is fetched by id with the
/// device's access token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// One inbound message, read from Meta's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundContent {
    /// `wamid.…`: how duplicates are recognised.
    pub wamid: String,
    /// The customer, digits only.
    pub from: String,
    /// When the customer sent it (Unix seconds), if Meta said.
    pub timestamp: Option<i64>,
    /// Meta's `type`, as given.
    pub wa_type: String,
    pub kind: MessageKind,
    /// The words of the message: a text's body, a caption, a button's or list row's title,
    /// a reaction's emoji, a location's or contact card's description.
    pub text: Option<String>,
    pub media: Option<MediaRef>,
    pub location: Option<Location>,
    /// A button's payload or an interactive reply's id.
    pub reply_id: Option<String>,
    /// The message this one answers (`context.id`).
    pub context_id: Option<String>,
    /// The whole JSON of a message of a type not understood here (capped), so nothing is lost.
    pub raw: Option<String>,
}

/// How much of an unknown message's JSON is kept.
pub const MAX_RAW_CHARS: usize = 16_000;

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// Meta sends Unix seconds as a string; a number is accepted too.
pub fn unix_seconds(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn f64_at(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// Reads one element of `messages[]`. Only `id` and `from` are required: a message of any
/// other shape is kept as `Unknown` with its JSON.
pub fn parse_message(v: &Value) -> Result<InboundContent, String> {
    let wamid = str_at(v, &["id"]).ok_or("message without \"id\"")?;
    if wamid.len() > 256 || !wamid.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("message \"id\" is not a WhatsApp message id".into());
    }
    let from_raw = str_at(v, &["from"]).ok_or("message without \"from\"")?;
    let from: String = from_raw.chars().filter(char::is_ascii_digit).collect();
    if from.is_empty() || from.len() > 20 {
        return Err(format!(
            "message \"from\" is not a phone number: {from_raw:?}"
        ));
    }
    let wa_type = str_at(v, &["type"]).unwrap_or("unknown").to_string();
    let mut kind = MessageKind::from_meta(&wa_type);
    let mut content = InboundContent {
        wamid: wamid.to_string(),
        from,
        timestamp: unix_seconds(v.get("timestamp")),
        wa_type: wa_type.clone(),
        kind,
        text: None,
        media: None,
        location: None,
        reply_id: None,
        context_id: owned(str_at(v, &["context", "id"])),
        raw: None,
    };
    match kind {
        MessageKind::Text => content.text = owned(str_at(v, &["text", "body"])),
        MessageKind::Image
        | MessageKind::Video
        | MessageKind::Audio
        | MessageKind::Document
        | MessageKind::Sticker => {
            let inner = v
                .get(wa_type.as_str())
                .or_else(|| v.get("audio"))
                .unwrap_or(&Value::Null);
            match str_at(inner, &["id"]) {
                Some(id) => {
                    content.media = Some(MediaRef {
                        id: id.to_string(),
                        mime_type: owned(str_at(inner, &["mime_type"])),
                        sha256: owned(str_at(inner, &["sha256"])),
                        file_name: owned(str_at(inner, &["filename"])),
                    });
                    content.text = owned(str_at(inner, &["caption"]));
                }
                None => kind = MessageKind::Unknown,
            }
        }
        MessageKind::Location => {
            let loc = v.get("location").unwrap_or(&Value::Null);
            match (f64_at(loc, "latitude"), f64_at(loc, "longitude")) {
                (Some(latitude), Some(longitude)) => {
                    let l = Location {
                        latitude,
                        longitude,
                        name: owned(str_at(loc, &["name"])),
                        address: owned(str_at(loc, &["address"])),
                    };
                    content.text = Some(describe_location(&l));
                    content.location = Some(l);
                }
                _ => kind = MessageKind::Unknown,
            }
        }
        MessageKind::Contacts => {
            let names: Vec<String> = v
                .get("contacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let name = str_at(c, &["name", "formatted_name"])?;
                    let phone = c
                        .get("phones")
                        .and_then(Value::as_array)
                        .and_then(|p| p.first())
                        .and_then(|p| str_at(p, &["phone"]));
                    Some(match phone {
                        Some(p) => format!("{name} ({p})"),
                        None => name.to_string(),
                    })
                })
                .collect();
            if names.is_empty() {
                kind = MessageKind::Unknown;
            } else {
                content.text = Some(format!("Shared contact: {}", names.join(", ")));
            }
        }
        MessageKind::Button => {
            content.text = owned(str_at(v, &["button", "text"]));
            content.reply_id = owned(str_at(v, &["button", "payload"]));
            if content.text.is_none() {
                kind = MessageKind::Unknown;
            }
        }
        MessageKind::Interactive => {
            let i = v.get("interactive").unwrap_or(&Value::Null);
            let reply = match str_at(i, &["type"]) {
                Some("button_reply") => i.get("button_reply"),
                Some("list_reply") => i.get("list_reply"),
                Some("nfm_reply") => i.get("nfm_reply"),
                _ => None,
            };
            match reply {
                Some(r) => {
                    content.text = owned(str_at(r, &["title"]).or_else(|| str_at(r, &["body"])));
                    content.reply_id = owned(str_at(r, &["id"]).or_else(|| str_at(r, &["name"])));
                    if content.text.is_none() && content.reply_id.is_none() {
                        kind = MessageKind::Unknown;
                    }
                }
                None => kind = MessageKind::Unknown,
            }
        }
        MessageKind::Reaction => {
            content.text = owned(str_at(v, &["reaction", "emoji"]));
            content.context_id = owned(str_at(v, &["reaction", "message_id"]));
        }
        // Meta never sends a template to a business; `from_meta` never makes one.
        MessageKind::Template | MessageKind::Unknown => {}
    }
    content.kind = kind;
    if kind == MessageKind::Unknown {
        let raw = v.to_string();
        content.raw = Some(raw.chars().take(MAX_RAW_CHARS).collect());
    }
    Ok(content)
}

fn describe_location(l: &Location) -> String {
    let place: Vec<&str> = [l.name.as_deref(), l.address.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if place.is_empty() {
        format!("Location: {}, {}", l.latitude, l.longitude)
    } else {
        format!(
            "Location: {} ({}, {})",
            place.join(", "),
            l.latitude,
            l.longitude
        )
    }
}

impl InboundContent {
    /// What the message says for the inbox, the AI and the `message.received` event's
    /// `text`: its words, or for wordless media a marker such as `[image]`.
    pub fn describe(&self) -> String {
        match (&self.text, self.kind) {
            (Some(t), _) => t.clone(),
            (None, MessageKind::Unknown) => format!("[{} message]", self.wa_type),
            (None, k) => format!("[{}]", k.as_str()),
        }
    }

    /// The text keyword rules are matched against (empty: nothing to match).
    pub fn match_text(&self) -> &str {
        if self.kind.answerable() {
            self.text.as_deref().unwrap_or_default()
        } else {
            ""
        }
    }
}

/// The URL a media attachment can be fetched from: the Graph API's media node. `GET` it with
/// the device's access token to receive a short-lived download `url` (Meta's documented
/// flow); the platform stores the id and never downloads the file.
pub fn media_url(graph_base: &str, graph_version: &str, media_id: &str) -> String {
    format!(
        "{}/{graph_version}/{media_id}",
        graph_base.trim_end_matches('/')
    )
}

/// Statuses Meta reports for an outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportedStatus {
    Sent,
    Delivered,
    Read,
    Failed,
    /// `deleted`, `warning`, or anything new: acknowledged, not recorded.
    Other(String),
}

/// Meta's error on a failed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

impl ReportedError {
    /// `WhatsApp could not deliver the message (#131026): Message undeliverable. <details>`
    pub fn describe(&self) -> String {
        let what = self
            .title
            .as_deref()
            .or(self.message.as_deref())
            .unwrap_or("no reason given");
        let code = self.code.map(|c| format!(" (#{c})")).unwrap_or_default();
        match self.details.as_deref().filter(|d| *d != what) {
            Some(d) => format!("WhatsApp could not deliver the message{code}: {what}. {d}"),
            None => format!("WhatsApp could not deliver the message{code}: {what}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The outbound message's WhatsApp id.
    pub wamid: String,
    pub status: ReportedStatus,
    pub timestamp: Option<i64>,
    pub recipient_id: Option<String>,
    pub error: Option<ReportedError>,
}

/// Reads one element of `statuses[]`.
pub fn parse_status(v: &Value) -> Result<StatusReport, String> {
    let wamid = str_at(v, &["id"]).ok_or("status without \"id\"")?;
    let status = match str_at(v, &["status"]).ok_or("status without \"status\"")? {
        "sent" => ReportedStatus::Sent,
        "delivered" => ReportedStatus::Delivered,
        "read" => ReportedStatus::Read,
        "failed" => ReportedStatus::Failed,
        other => ReportedStatus::Other(other.to_string()),
    };
    let error = v
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .map(|e| ReportedError {
            code: e.get("code").and_then(|c| match c {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
            title: owned(str_at(e, &["title"])),
            message: owned(str_at(e, &["message"])),
            details: owned(str_at(e, &["error_data", "details"])),
        });
    Ok(StatusReport {
        wamid: wamid.to_string(),
        status,
        timestamp: unix_seconds(v.get("timestamp")),
        recipient_id: owned(str_at(v, &["recipient_id"])),
        error,
    })
}

/// A provider timestamp as a time, if it is a plausible one (not before 2020 nor more than
/// a minute ahead of `now`); otherwise `now`.
pub fn reported_time(ts: Option<i64>, now: DateTime<Utc>) -> DateTime<Utc> {
    ts.and_then(|t| Utc.timestamp_opt(t, 0).single())
        .filter(|t| t.timestamp() >= 1_577_836_800 && *t <= now + Duration::minutes(1))
        .unwrap_or(now)
}

/// The id an inbound message is stored under: a UUIDv7 whose time is when the customer sent
/// it and whose other bits come from the tenant and WhatsApp id. The same message always
/// gets the same id, so storing it is idempotent (Meta redelivers), and ids still sort by
/// time with the outbound ones (UUIDv7 too) in a conversation's history.
pub fn inbound_message_id(tenant_id: &str, wamid: &str, sent_at: DateTime<Utc>) -> String {
    let digest = Sha256::new()
        .chain_update(tenant_id.as_bytes())
        .chain_update([0u8])
        .chain_update(wamid.as_bytes())
        .finalize();
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(sent_at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

/// The customer service window: WhatsApp accepts free-form messages only this long after
/// the customer's last message; after that, only approved templates.
pub const WINDOW_HOURS: i64 = 24;

/// Whether free-form messages may be sent, given the customer's last message time.
pub fn window_open(last_inbound: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_inbound.is_some_and(|t| now - t < Duration::hours(WINDOW_HOURS))
}

/// The 422 a free-form send outside the window gets.
pub fn window_closed_message(peer: &str, last_inbound: Option<DateTime<Utc>>) -> String {
    let when = match last_inbound {
        Some(t) => format!(
            "{peer} last wrote to this number at {}, more than {WINDOW_HOURS} hours ago",
            crate::domain::time::iso(t)
        ),
        None => format!("{peer} has never written to this number"),
    };
    format!(
        "Outside WhatsApp's {WINDOW_HOURS}-hour customer service window: {when}. Only an approved \
         template can be sent now: send {{\"to\", \"template\": {{\"name\", \"language\"}}}} \
         (the window opens again when the customer writes)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at;
    use serde_json::json;

    #[test]
    fn signatures() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign("app-secret", body);
        assert!(
            header.starts_with("sha256=") && header.len() == 71,
            "{header}"
        );
        let sig = parse_signature(Some(&header)).unwrap_or([0; 32]);
        assert!(signature_matches("app-secret", body, &sig));
        assert!(!signature_matches("other-secret", body, &sig));
        assert!(!signature_matches("app-secret", b"{}", &sig));
        assert_eq!(parse_signature(None), Err(SignatureProblem::Missing));
        assert_eq!(parse_signature(Some(" ")), Err(SignatureProblem::Missing));
        for bad in ["sha1=abc", "sha256=zz", "sha256=", &header[..70]] {
            assert_eq!(
                parse_signature(Some(bad)),
                Err(SignatureProblem::Malformed),
                "{bad}"
            );
        }
        // Upper-case hex is the same signature.
        let upper = format!("sha256={}", header[7..].to_uppercase());
        assert!(
            parse_signature(Some(&upper)).is_ok_and(|s| signature_matches("app-secret", body, &s))
        );
        assert!(same_secret("verify-me", "verify-me"));
        assert!(!same_secret("verify-me", "verify-m"));
    }

    fn envelope(value: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
            "changes": [{"field": "messages", "value": value}]}]})
    }

    #[test]
    fn the_envelope_splits_into_messages_and_statuses() {
        let body = envelope(json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ali"}, "wa_id": "923001234567"},
                         {"profile": {"name": "Sara"}, "wa_id": "923009876543"}],
            "messages": [{"from": "923009876543", "id": "wamid.A", "timestamp": "1733832000", "type": "text", "text": {"body": "hi"}}],
            "statuses": [{"id": "wamid.B", "status": "read", "timestamp": "1733832001", "recipient_id": "923001234567"}]
        }));
        let changes = split_envelope(&body).unwrap_or_default();
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.field, "messages");
        assert_eq!(c.phone_number_id.as_deref(), Some("106540352242922"));
        assert_eq!(c.display_phone_number.as_deref(), Some("15550001111"));
        assert_eq!(c.messages.len(), 1);
        assert_eq!(c.messages[0].1.as_deref(), Some("Sara"), "matched by wa_id");
        assert_eq!(c.statuses.len(), 1);

        let bad = [
            json!([]),
            json!({"object": "page", "entry": []}),
            json!({"entry": []}),
            json!({"object": "whatsapp_business_account", "entry": {}}),
            envelope(json!({"messages": {}})),
        ];
        for b in bad {
            assert!(split_envelope(&b).is_err(), "{b}");
        }
        // Other fields have no phone number id and nothing to do.
        let other = json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
            "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]});
        let changes = split_envelope(&other).unwrap_or_default();
        assert_eq!(changes[0].field, "message_template_status_update");
        assert!(changes[0].phone_number_id.is_none() && changes[0].messages.is_empty());
    }

    #[test]
    fn every_message_type_is_read_and_unknown_ones_are_kept() {
        let base = |extra: Value| {
            let mut m =
                json!({"from": "+92 300 1234567", "id": "wamid.X", "timestamp": "1733832000"});
            if let (Some(o), Some(e)) = (m.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            m
        };
        let read = |extra: Value| parse_message(&base(extra)).unwrap_or_else(|e| panic!("{e}"));

        let t = read(json!({"type": "text", "text": {"body": "What is the price?"}}));
        assert_eq!(
            (t.kind, t.text.as_deref()),
            (MessageKind::Text, Some("What is the price?"))
        );
        assert_eq!(t.from, "923001234567");
        assert_eq!(t.timestamp, Some(1_733_832_000));

        for kind in ["image", "video", "audio", "document", "sticker"] {
            let mut inner =
                json!({"id": format!("MEDIA-{kind}"), "mime_type": "x/y", "sha256": "abc"});
            if kind != "audio" && kind != "sticker" {
                inner["caption"] = json!("look");
            }
            if kind == "document" {
                inner["filename"] = json!("invoice.pdf");
            }
            let m = read(json!({"type": kind, kind: inner}));
            let media = m
                .media
                .clone()
                .unwrap_or_else(|| panic!("{kind}: no media"));
            assert_eq!(media.id, format!("MEDIA-{kind}"));
            assert_eq!(media.mime_type.as_deref(), Some("x/y"));
            assert_eq!(m.wa_type, kind);
            if kind == "document" {
                assert_eq!(media.file_name.as_deref(), Some("invoice.pdf"));
            }
            assert_eq!(m.text.is_some(), kind != "audio" && kind != "sticker");
        }
        let sticker =
            read(json!({"type": "sticker", "sticker": {"id": "S1", "mime_type": "image/webp"}}));
        assert_eq!(
            sticker.kind.event_kind(),
            crate::domain::webhooks::MessageKind::Image
        );
        assert_eq!(sticker.describe(), "[sticker]");

        let loc = read(
            json!({"type": "location", "location": {"latitude": 24.86, "longitude": 67.0, "name": "Office", "address": "Main St"}}),
        );
        assert_eq!(loc.kind, MessageKind::Location);
        assert_eq!(
            loc.text.as_deref(),
            Some("Location: Office, Main St (24.86, 67)")
        );

        let b = read(json!({"type": "button", "button": {"text": "Yes please", "payload": "YES"}}));
        assert_eq!(
            (b.kind, b.text.as_deref(), b.reply_id.as_deref()),
            (MessageKind::Button, Some("Yes please"), Some("YES"))
        );

        let i = read(
            json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "row-2", "title": "Pricing", "description": "Plans"}}}),
        );
        assert_eq!(
            (i.kind, i.text.as_deref(), i.reply_id.as_deref()),
            (MessageKind::Interactive, Some("Pricing"), Some("row-2"))
        );
        let i = read(
            json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Talk to sales"}}, "context": {"from": "1555", "id": "wamid.OUT"}}),
        );
        assert_eq!(
            (i.text.as_deref(), i.context_id.as_deref()),
            (Some("Talk to sales"), Some("wamid.OUT"))
        );

        let c = read(
            json!({"type": "contacts", "contacts": [{"name": {"formatted_name": "Bob"}, "phones": [{"phone": "+1 555 0100"}]}]}),
        );
        assert_eq!(c.text.as_deref(), Some("Shared contact: Bob (+1 555 0100)"));

        let r = read(
            json!({"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}),
        );
        assert_eq!(
            (r.kind, r.text.as_deref()),
            (MessageKind::Reaction, Some("👍"))
        );
        assert!(!r.kind.answerable() && r.match_text().is_empty());

        for unknown in [
            json!({"type": "order", "order": {"catalog_id": "1"}}),
            json!({"type": "unsupported", "errors": [{"code": 131051}]}),
            json!({"type": "image", "image": {}}),
            json!({}),
        ] {
            let u = read(unknown.clone());
            assert_eq!(u.kind, MessageKind::Unknown, "{unknown}");
            assert!(u.raw.as_deref().is_some_and(|r| r.contains("wamid.X")));
            assert!(u.describe().ends_with("message]"), "{}", u.describe());
        }

        assert!(parse_message(&json!({"from": "1"})).is_err());
        assert!(parse_message(&json!({"id": "wamid.1"})).is_err());
        assert!(parse_message(&json!({"id": "wamid.1", "from": "abc"})).is_err());
        assert!(parse_message(&json!({"id": "wa mid", "from": "1"})).is_err());
    }

    #[test]
    fn statuses_and_their_errors() {
        let s = parse_status(&json!({"id": "wamid.B", "status": "failed", "timestamp": "1733832001", "recipient_id": "923001234567",
            "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                        "error_data": {"details": "Message Undeliverable."}}]}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.status, ReportedStatus::Failed);
        let e = s.error.unwrap_or_else(|| panic!("no error"));
        assert_eq!(e.code, Some(131026));
        assert_eq!(
            e.describe(),
            "WhatsApp could not deliver the message (#131026): Message undeliverable. Message Undeliverable."
        );
        let d = parse_status(&json!({"id": "wamid.C", "status": "deleted"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.status, ReportedStatus::Other("deleted".into()));
        assert!(parse_status(&json!({"status": "read"})).is_err());
        assert!(parse_status(&json!({"id": "x"})).is_err());
    }

    #[test]
    fn ids_are_stable_and_time_ordered() {
        let t = at("2026-06-11T09:12:33Z");
        let a = inbound_message_id("tenant", "wamid.A", t);
        assert_eq!(a, inbound_message_id("tenant", "wamid.A", t));
        assert_ne!(a, inbound_message_id("other", "wamid.A", t));
        let later = inbound_message_id("tenant", "wamid.0", t + Duration::seconds(1));
        assert!(later > a);
        assert_eq!(
            uuid::Uuid::parse_str(&a).map(|u| u.get_version_num()).ok(),
            Some(7)
        );
    }

    #[test]
    fn the_24_hour_window() {
        let now = at("2026-06-12T10:00:00Z");
        assert!(!window_open(None, now));
        assert!(window_open(Some(at("2026-06-11T10:00:01Z")), now));
        assert!(!window_open(Some(at("2026-06-11T10:00:00Z")), now));
        let m = window_closed_message("923001234567", None);
        assert!(m.contains("never written") && m.contains("template"), "{m}");
        assert_eq!(
            reported_time(Some(1_733_832_000), now).timestamp(),
            1_733_832_000
        );
        assert_eq!(reported_time(Some(5), now), now, "implausible");
        assert_eq!(
            reported_time(Some(now.timestamp() + 3600), now),
            now,
            "future"
        );
        assert_eq!(reported_time(None, now), now);
    }

    #[test]
    fn media_urls_point_at_the_graph_media_node() {
        assert_eq!(
            media_url("https://graph.facebook.com/", "v24.0", "1234"),
            "https://graph.facebook.com/v24.0/1234"
        );
    }
}
