//! API key format, generation and hashing.
//!
//! A key is `wati_` followed by 40 base62 characters drawn from the operating system's
//! CSPRNG (about 238 bits). Only its SHA-256 is stored: with that much entropy a fast hash
//! is safe (nothing to brute-force), and it keeps authentication to one key lookup.

use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "wati_";
pub const GENERATED_SECRET_LEN: usize = 40;
/// The spec promises `wati_` plus at least 32 characters; longer keys are accepted.
pub const MIN_SECRET_LEN: usize = 32;
pub const MAX_SECRET_LEN: usize = 128;
/// How much of a key is kept in clear so people can tell their keys apart.
pub const DISPLAY_PREFIX_LEN: usize = 12;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFormatError {
    #[error("Missing Authorization header: send 'Authorization: Bearer wati_…'")]
    Missing,
    #[error("Malformed Authorization header: expected 'Bearer wati_…'")]
    NotBearer,
    #[error("Malformed API key: expected 'wati_' followed by at least 32 letters and digits")]
    BadKey,
}

/// A fresh key from the OS CSPRNG, uniformly over base62 (rejection sampling, no modulo bias).
pub fn generate_api_key() -> Result<String, getrandom::Error> {
    generate_token(KEY_PREFIX, GENERATED_SECRET_LEN)
}

/// `prefix` followed by `len` uniform base62 characters from the OS CSPRNG.
pub fn generate_token(prefix: &str, len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    let mut buf = [0u8; 64];
    while out.len() < prefix.len() + len {
        getrandom::fill(&mut buf)?;
        for b in buf {
            // 248 = 4 × 62: bytes at or above it would favour the first characters.
            if b < 248 && out.len() < prefix.len() + len {
                out.push(BASE62[usize::from(b % 62)] as char);
            }
        }
    }
    Ok(out)
}

/// Hex SHA-256 of the whole key: the only form a key is ever stored in.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// Takes the raw `Authorization` header value and returns the key it carries.
pub fn parse_bearer(header: Option<&str>) -> Result<&str, KeyFormatError> {
    let value = header.map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or(KeyFormatError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(KeyFormatError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(KeyFormatError::NotBearer);
    }
    let token = token.trim();
    if is_well_formed(token) {
        Ok(token)
    } else {
        Err(KeyFormatError::BadKey)
    }
}

pub fn is_well_formed(key: &str) -> bool {
    match key.strip_prefix(KEY_PREFIX) {
        Some(secret) => {
            (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len())
                && secret.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let keys: HashSet<String> = (0..200)
            .map(|_| generate_api_key().unwrap_or_default())
            .collect();
        assert_eq!(keys.len(), 200);
        for k in &keys {
            assert!(is_well_formed(k), "{k}");
            assert_eq!(k.len(), KEY_PREFIX.len() + GENERATED_SECRET_LEN);
        }
    }

    #[test]
    fn generated_characters_cover_the_alphabet() {
        let key = generate_token("", 5000).unwrap_or_default();
        let seen: HashSet<char> = key.chars().collect();
        assert_eq!(
            seen.len(),
            62,
            "every base62 character appears in 5000 draws"
        );
    }

    #[test]
    fn hash_is_stable_hex_sha256() {
        assert_eq!(
            hash_api_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_parsing() {
        let good = format!("wati_{}", "a".repeat(32));
        assert_eq!(
            parse_bearer(Some(&format!("Bearer {good}"))),
            Ok(good.as_str())
        );
        assert_eq!(
            parse_bearer(Some(&format!("bearer  {good} "))),
            Ok(good.as_str())
        );
        assert_eq!(parse_bearer(None), Err(KeyFormatError::Missing));
        assert_eq!(parse_bearer(Some("  ")), Err(KeyFormatError::Missing));
        assert_eq!(parse_bearer(Some(&good)), Err(KeyFormatError::NotBearer));
        assert_eq!(
            parse_bearer(Some(&format!("Basic {good}"))),
            Err(KeyFormatError::NotBearer)
        );
        assert_eq!(
            parse_bearer(Some("Bearer wati_short")),
            Err(KeyFormatError::BadKey)
        );
        assert_eq!(
            parse_bearer(Some(&format!("Bearer sk_{}", "a".repeat(40)))),
            Err(KeyFormatError::BadKey)
        );
        assert_eq!(
            parse_bearer(Some(&format!("Bearer wati_{}-", "a".repeat(40)))),
            Err(KeyFormatError::BadKey)
        );
    }

    #[test]
    fn display_prefix_is_short() {
        assert_eq!(display_prefix("wati_abcdefghijkl"), "wati_abcdefg");
    }
}
