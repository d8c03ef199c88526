//! Kept media: where an inbound file lives in the media bucket, the signed links that open
//! it without an API key, and the checks a download must pass (size, Meta's `sha256`).
//! See `docs/media.md`.

use crate::domain::messages::MessageKind;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The path of the media route; a link is `<base><MEDIA_PATH><messageId>?tenant&expires&signature`.
pub const MEDIA_PATH: &str = "/api/public/v1/media/";

/// A signed link's lifetime when `MEDIA_LINK_TTL_SECONDS` is not set: 7 days.
pub const DEFAULT_LINK_TTL_SECS: u64 = 7 * 24 * 3600;

/// The object key of a message's file: deterministic, so a retried download overwrites
/// (never duplicates) and a finished one is found by `HeadObject`.
pub fn object_key(tenant_id: &str, message_id: &str) -> String {
    format!("media/{tenant_id}/{message_id}")
}

/// The text a link's signature covers: the tenant, the message and the expiry.
fn signed_text(tenant_id: &str, message_id: &str, expires: i64) -> String {
    format!("media-link:v1\n{tenant_id}\n{message_id}\n{expires}")
}

fn mac(key: &[u8], tenant_id: &str, message_id: &str, expires: i64) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac =
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(signed_text(tenant_id, message_id, expires).as_bytes());
    mac
}

/// Hex HMAC-SHA256 of the link's tenant, message and expiry.
pub fn signature(key: &[u8], tenant_id: &str, message_id: &str, expires: i64) -> String {
    hex::encode(
        mac(key, tenant_id, message_id, expires)
            .finalize()
            .into_bytes(),
    )
}

/// The query of a signed link (after `?`).
pub fn link_query(key: &[u8], tenant_id: &str, message_id: &str, expires: i64) -> String {
    let sig = signature(key, tenant_id, message_id, expires);
    format!("tenant={tenant_id}&expires={expires}&signature={sig}")
}

/// Why a signed link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Missing parts, or a signature that does not match (tampered).
    Invalid,
    Expired,
}

/// Checks a signed link's parts at `now` (Unix seconds), in constant time.
pub fn check_link(
    key: &[u8],
    tenant_id: &str,
    message_id: &str,
    expires: &str,
    signature: &str,
    now: i64,
) -> Result<(), LinkRefusal> {
    let expires: i64 = expires.parse().map_err(|_| LinkRefusal::Invalid)?;
    let given = hex::decode(signature).map_err(|_| LinkRefusal::Invalid)?;
    let expected = mac(key, tenant_id, message_id, expires)
        .finalize()
        .into_bytes();
    if !bool::from(expected.as_slice().ct_eq(&given)) {
        return Err(LinkRefusal::Invalid);
    }
    if expires < now {
        return Err(LinkRefusal::Expired);
    }
    Ok(())
}

/// Whether a file's SHA-256 is the one Meta gave: Meta writes it in hex (media node) or
/// base64 (webhook); either form matches.
pub fn sha256_matches(expected: &str, digest: &[u8]) -> bool {
    let e = expected.trim();
    e.eq_ignore_ascii_case(&hex::encode(digest))
        || e == base64::engine::general_purpose::STANDARD.encode(digest)
        || e == base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The largest inbound file kept for a message kind (WhatsApp's own limits: image 5 MB,
/// video and audio 16 MB, document 100 MB, sticker 500 KB); `None` for kinds without media.
pub fn inbound_max_bytes(kind: MessageKind) -> Option<u64> {
    const MB: u64 = 1024 * 1024;
    match kind {
        MessageKind::Image => Some(5 * MB),
        MessageKind::Video | MessageKind::Audio => Some(16 * MB),
        MessageKind::Document => Some(100 * MB),
        MessageKind::Sticker => Some(500 * 1024),
        _ => None,
    }
}

/// The refusal of a file larger than WhatsApp allows for its kind.
pub fn too_large(kind: &str, size: u64, max: u64) -> String {
    format!("the {kind} is {size} bytes, over WhatsApp's limit of {max} bytes")
}

/// A `Content-Disposition` for a kept file: inline, with its file name when it has one
/// (quotes and controls dropped).
pub fn content_disposition(file_name: Option<&str>) -> String {
    match file_name {
        Some(n) => {
            let clean: String = n
                .chars()
                .filter(|c| !c.is_control() && *c != '"' && *c != '\\' && c.is_ascii())
                .collect();
            format!("inline; filename=\"{clean}\"")
        }
        None => "inline".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    const KEY: &[u8] = b"media-key";

    #[test]
    fn a_signed_link_opens_until_it_expires() {
        let sig = signature(KEY, "t1", "m1", 1_000);
        assert_eq!(check_link(KEY, "t1", "m1", "1000", &sig, 999), Ok(()));
        assert_eq!(check_link(KEY, "t1", "m1", "1000", &sig, 1_000), Ok(()));
        assert_eq!(
            check_link(KEY, "t1", "m1", "1000", &sig, 1_001),
            Err(LinkRefusal::Expired)
        );
    }

    #[test]
    fn any_changed_part_is_refused() {
        let sig = signature(KEY, "t1", "m1", 1_000);
        let mut tampered = sig.clone().into_bytes();
        tampered[0] = if tampered[0] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(tampered).unwrap();
        for (t, m, e, s) in [
            ("t2", "m1", "1000", sig.as_str()),
            ("t1", "m2", "1000", sig.as_str()),
            ("t1", "m1", "2000", sig.as_str()),
            ("t1", "m1", "1000", tampered.as_str()),
            ("t1", "m1", "soon", sig.as_str()),
            ("t1", "m1", "1000", "zz"),
        ] {
            assert_eq!(
                check_link(KEY, t, m, e, s, 0),
                Err(LinkRefusal::Invalid),
                "{t} {m} {e} {s}"
            );
        }
        assert_eq!(
            check_link(b"other", "t1", "m1", "1000", &sig, 0),
            Err(LinkRefusal::Invalid)
        );
    }

    #[test]
    fn metas_sha256_in_hex_or_base64() {
        let digest = Sha256::digest(b"bytes");
        assert!(sha256_matches(&hex::encode(digest), &digest));
        assert!(sha256_matches(
            &base64::engine::general_purpose::STANDARD.encode(digest),
            &digest
        ));
        assert!(!sha256_matches("abc", &digest));
    }

    #[test]
    fn keys_and_dispositions() {
        assert_eq!(object_key("t", "m"), "media/t/m");
        assert_eq!(
            content_disposition(Some("a\"b.pdf")),
            "inline; filename=\"ab.pdf\""
        );
        assert_eq!(content_disposition(None), "inline");
    }
}
