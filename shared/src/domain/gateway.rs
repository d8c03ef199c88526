//! WhatsApp Web through a WAHA gateway: its session names, chat ids, message ids, statuses,
//! acks and webhook signatures, as plain rules.

use super::devices::DeviceStatus;
use super::messages::MessageStatus;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha512;

/// The events our webhook subscribes a session to.
pub const WEBHOOK_EVENTS: [&str; 3] = ["message", "message.ack", "session.status"];

/// The header WAHA signs a webhook with (hex HMAC-SHA512 of the raw body).
pub const HMAC_HEADER: &str = "x-webhook-hmac";

/// A WAHA session name for a device: unique per tenant and device, within WAHA's allowed
/// characters (letters, digits, `_`, `-`).
pub fn session_name(tenant_id: &str, device_id: &str) -> String {
    let short = |id: &str| -> String { id.chars().filter(|c| *c != '-').take(12).collect() };
    format!("t{}_d{}", short(tenant_id), device_id.replace('-', ""))
}

/// The chat id WAHA sends to: `<digits>@c.us`.
pub fn chat_id(phone_digits: &str) -> String {
    format!("{phone_digits}@c.us")
}

/// Who a WAHA chat id is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A phone number, digits only (`…@c.us`, `…@s.whatsapp.net`).
    Phone(String),
    /// A linked id (`…@lid`) that WAHA's lids endpoint maps to a phone.
    Lid(String),
    /// Groups, status broadcasts, channels: not a conversation with one customer.
    Other,
}

pub fn peer(chat_id: &str) -> Peer {
    let Some((user, server)) = chat_id.rsplit_once('@') else {
        return Peer::Other;
    };
    // `923001234567:12@s.whatsapp.net` names one of the number's linked devices.
    let user = user.split(':').next().unwrap_or_default();
    let digits = !user.is_empty() && user.len() <= 20 && user.bytes().all(|b| b.is_ascii_digit());
    match server {
        "c.us" | "s.whatsapp.net" if digits => Peer::Phone(user.to_string()),
        "lid" if digits => Peer::Lid(chat_id.to_string()),
        _ => Peer::Other,
    }
}

/// WhatsApp's own id of a message from any of WAHA's shapes: a serialized id
/// (`true_923001234567@c.us_3EB0C7…`), an object with `_serialized` or `id`, or NOWEB's
/// `{"key": {"id"}}` answer. The bare id is what every ack names again.
pub fn message_id(v: &Value) -> Option<String> {
    let raw = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => {
            if let Some(id) = o.get("id") {
                return message_id(id);
            }
            if let Some(key) = o.get("key") {
                return message_id(key);
            }
            o.get("_serialized").and_then(Value::as_str)?
        }
        _ => return None,
    };
    let bare = match raw.split('_').collect::<Vec<_>>().as_slice() {
        [dir, _chat, id, ..] if *dir == "true" || *dir == "false" => *id,
        _ => raw,
    };
    let bare = bare.trim();
    (!bare.is_empty() && bare.len() <= 128 && bare.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| bare.to_string())
}

/// A device status from a WAHA session status.
pub fn device_status(waha_status: &str) -> Option<DeviceStatus> {
    match waha_status {
        "SCAN_QR_CODE" | "STARTING" => Some(DeviceStatus::Pairing),
        "WORKING" => Some(DeviceStatus::Connected),
        "FAILED" | "STOPPED" => Some(DeviceStatus::Disconnected),
        _ => None,
    }
}

/// A message status from an ack: SERVER → sent, DEVICE → delivered, READ/PLAYED → read,
/// ERROR → failed; PENDING says nothing new.
pub fn ack_status(ack_name: Option<&str>, ack: Option<i64>) -> Option<MessageStatus> {
    match (ack_name, ack) {
        (Some("ERROR"), _) | (None, Some(-1)) => Some(MessageStatus::Failed),
        (Some("SERVER"), _) | (None, Some(1)) => Some(MessageStatus::Sent),
        (Some("DEVICE"), _) | (None, Some(2)) => Some(MessageStatus::Delivered),
        (Some("READ" | "PLAYED"), _) | (None, Some(3 | 4)) => Some(MessageStatus::Read),
        _ => None,
    }
}

/// Whether `signature` (hex) is the HMAC-SHA512 of `body` under `key`. Constant time.
pub fn hmac_matches(key: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha512> as hmac::KeyInit>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// What WAHA sends as `X-Webhook-Hmac` for a body (tests, the fake gateway).
pub fn hmac_hex(key: &str, body: &[u8]) -> String {
    match <Hmac<Sha512> as hmac::KeyInit>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// A new per-device webhook key: 32 random bytes, hex.
pub fn generate_hmac_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// A customer message of WAHA's `message` payload as Meta's `messages[]` element, so it
/// goes through the same inbound pipeline. `from` is the sender's phone (digits), `id` the
/// bare WhatsApp id. Media keep WAHA's file URL in place of Meta's media id.
pub fn as_meta_message(payload: &Value, from: &str, id: &str) -> Value {
    let body = payload.get("body").and_then(Value::as_str).unwrap_or("");
    let timestamp = payload
        .get("timestamp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let media = payload
        .get("media")
        .filter(|m| m.is_object())
        .filter(|_| payload.get("hasMedia").and_then(Value::as_bool) == Some(true));
    let mut msg = json!({"from": from, "id": id, "timestamp": timestamp.to_string()});
    let media_url = media.and_then(|m| m.get("url")).and_then(Value::as_str);
    match (media, media_url) {
        (Some(m), Some(url)) => {
            let mimetype = m.get("mimetype").and_then(Value::as_str).unwrap_or("");
            let kind = match mimetype.split('/').next().unwrap_or_default() {
                "image" => "image",
                "video" => "video",
                "audio" => "audio",
                _ => "document",
            };
            let mut part = json!({"id": url, "mime_type": mimetype});
            if !body.is_empty() && kind != "audio" {
                part["caption"] = json!(body);
            }
            if let Some(name) = m.get("filename").and_then(Value::as_str) {
                if kind == "document" {
                    part["filename"] = json!(name);
                }
            }
            msg["type"] = json!(kind);
            msg[kind] = part;
        }
        _ => {
            msg["type"] = json!("text");
            msg["text"] = json!({ "body": body });
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_wahas_sha512_hex() {
        // WAHA's documented example.
        let body = br#"{"event":"message","session":"default","engine":"WEBJS"}"#;
        let sig = hmac_hex("my-secret-key", body);
        assert!(sig.starts_with("208f8a55"), "{sig}");
        assert!(sig.ends_with("3fa89"), "{sig}");
        assert!(hmac_matches("my-secret-key", body, &sig));
        assert!(hmac_matches("my-secret-key", body, &sig.to_uppercase()));
        assert!(!hmac_matches("other-key", body, &sig));
        assert!(!hmac_matches("my-secret-key", b"{}", &sig));
        assert!(!hmac_matches("my-secret-key", body, "not hex"));
        assert!(!hmac_matches("my-secret-key", body, ""));
    }

    #[test]
    fn message_ids_of_every_shape() {
        let want = Some("3EB0C767D26A1D".to_string());
        assert_eq!(
            message_id(&json!("true_923001234567@c.us_3EB0C767D26A1D")),
            want
        );
        assert_eq!(
            message_id(&json!({"id": {"fromMe": true, "id": "3EB0C767D26A1D",
                "_serialized": "true_923001234567@c.us_3EB0C767D26A1D"}})),
            want
        );
        assert_eq!(
            message_id(&json!({"_serialized": "false_923001234567@c.us_3EB0C767D26A1D"})),
            want
        );
        assert_eq!(
            message_id(&json!({"key": {"remoteJid": "923001234567@s.whatsapp.net",
                "fromMe": true, "id": "3EB0C767D26A1D"}})),
            want
        );
        assert_eq!(message_id(&json!({"id": "3EB0C767D26A1D"})), want);
        assert_eq!(message_id(&json!({})), None);
        assert_eq!(message_id(&json!("")), None);
    }

    #[test]
    fn peers() {
        assert_eq!(
            peer("923001234567@c.us"),
            Peer::Phone("923001234567".into())
        );
        assert_eq!(
            peer("923001234567:3@s.whatsapp.net"),
            Peer::Phone("923001234567".into())
        );
        assert_eq!(
            peer("123456789012345@lid"),
            Peer::Lid("123456789012345@lid".into())
        );
        for other in [
            "120363025@g.us",
            "status@broadcast",
            "123@newsletter",
            "x",
            "@c.us",
        ] {
            assert_eq!(peer(other), Peer::Other, "{other}");
        }
    }

    #[test]
    fn statuses_and_acks() {
        assert_eq!(device_status("SCAN_QR_CODE"), Some(DeviceStatus::Pairing));
        assert_eq!(device_status("STARTING"), Some(DeviceStatus::Pairing));
        assert_eq!(device_status("WORKING"), Some(DeviceStatus::Connected));
        assert_eq!(device_status("FAILED"), Some(DeviceStatus::Disconnected));
        assert_eq!(device_status("STOPPED"), Some(DeviceStatus::Disconnected));
        assert_eq!(device_status("weird"), None);
        assert_eq!(ack_status(Some("SERVER"), None), Some(MessageStatus::Sent));
        assert_eq!(
            ack_status(Some("DEVICE"), None),
            Some(MessageStatus::Delivered)
        );
        assert_eq!(ack_status(Some("READ"), None), Some(MessageStatus::Read));
        assert_eq!(ack_status(Some("PLAYED"), None), Some(MessageStatus::Read));
        assert_eq!(ack_status(Some("ERROR"), None), Some(MessageStatus::Failed));
        assert_eq!(ack_status(None, Some(3)), Some(MessageStatus::Read));
        assert_eq!(ack_status(Some("PENDING"), Some(0)), None);
    }

    #[test]
    fn session_names_are_wahas_kind() {
        let s = session_name(
            "5f0c2b9e-1111-4aaa-8bbb-000000000001",
            "01930000-0000-7000-8000-000000000002",
        );
        assert_eq!(s, "t5f0c2b9e1111_d01930000000070008000000000000002");
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    }

    #[test]
    fn payloads_become_metas_shape() {
        let text = as_meta_message(
            &json!({"body": "price?", "timestamp": 1_700_000_000, "hasMedia": false, "media": null}),
            "923001234567",
            "ABC",
        );
        assert_eq!(
            text,
            json!({"from": "923001234567", "id": "ABC", "timestamp": "1700000000",
                "type": "text", "text": {"body": "price?"}})
        );
        let image = as_meta_message(
            &json!({"body": "look", "timestamp": 1, "hasMedia": true,
                "media": {"url": "http://waha/api/files/a.jpg", "mimetype": "image/jpeg"}}),
            "1",
            "X",
        );
        assert_eq!(image["type"], "image");
        assert_eq!(image["image"]["id"], "http://waha/api/files/a.jpg");
        assert_eq!(image["image"]["caption"], "look");
    }
}
