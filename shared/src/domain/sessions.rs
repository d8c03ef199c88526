//! Sign-in sessions: the access token (a JWT signed with HS256 and a `kid`), the opaque
//! refresh token, and the lock-out rule for repeated wrong passwords.

use crate::domain::roles::Role;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "wati";
/// How long an access token is good for.
pub const ACCESS_TTL: Duration = Duration::minutes(15);
/// How long a session lasts without a refresh.
pub const SESSION_TTL: Duration = Duration::days(30);
/// How long an invitation or a password-reset link is good for.
pub const INVITATION_TTL: Duration = Duration::days(7);
pub const RESET_TTL: Duration = Duration::hours(24);
/// Wrong passwords for one e-mail within the window before sign-in is refused.
pub const MAX_FAILURES: u32 = 10;
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// How long the refresh token a rotation replaced may still repeat that rotation: a browser
/// that reloads while its refresh is in flight never sees the answer and sends the old token
/// again. Within this time it gets the same new token; later, or once the new token has been
/// used, the old one ends the session as a stolen token would.
pub const REFRESH_REPEAT_GRACE: Duration = Duration::seconds(30);

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user.
    pub sub: String,
    /// The session.
    pub sid: String,
    /// The tenant signed in to, and the role there (none for a super admin without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub iat: i64,
    pub exp: i64,
}

/// A signing key and its id.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid)
    }
}

impl SigningKey {
    /// The key's id is derived from the key, so a rotated secret gets a new one by itself.
    pub fn new(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        SigningKey {
            kid: hex::encode(&digest[..8]),
            secret: secret.as_bytes().to_vec(),
        }
    }
}

impl SigningKey {
    /// A key for another purpose (media links), derived from this one: HMAC-SHA256 of the
    /// purpose under the secret. Rotating the secret rotates it too.
    pub fn derive(&self, purpose: &str) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.secret) else {
            return Vec::new();
        };
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl SigningKey {
    /// The secret that replaces a refresh token's `secret` when it is used. Derived, not
    /// random, so that a repeated refresh gets the same one; keyed with the signing key, so
    /// that no one holding an old token can work out the tokens after it.
    pub fn next_refresh_secret(&self, session_id: &str, secret: &str) -> String {
        use base64::Engine;
        let key = self.derive(&format!("refresh-rotation:{session_id}:{secret}"));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
    }
}

/// Whether a refresh token that is no longer the session's current one repeats the session's
/// last rotation within the grace time (a lost answer), rather than being a stolen token.
/// `presented` and `derived`: the hashes of the token and of the secret it rotates to.
pub fn repeats_last_rotation(
    previous: Option<&str>,
    current: &str,
    rotated_at: Option<DateTime<Utc>>,
    presented: &str,
    derived: &str,
    now: DateTime<Utc>,
) -> bool {
    previous == Some(presented)
        && current == derived
        && rotated_at.is_some_and(|at| now - at <= REFRESH_REPEAT_GRACE)
}

pub fn sign(key: &SigningKey, claims: &Claims) -> Result<String, String> {
    super::jwt_crypto::install();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&key.secret))
        .map_err(|e| e.to_string())
}

/// Whether a bearer token looks like a JWT rather than an API key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

/// The `kid` a token names, without checking anything else.
pub fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok()?.kid
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Invalid access token")]
    Invalid,
    #[error("Access token has expired: refresh it with POST /api/auth/refresh")]
    Expired,
}

/// The claims of a token signed with `key`, unexpired at `now` (our clock, not the OS's).
pub fn verify(key: &SigningKey, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
    super::jwt_crypto::install();
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&[ISSUER]);
    v.validate_exp = false;
    v.set_required_spec_claims(&["iss", "sub", "exp"]);
    let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key.secret), &v)
        .map_err(|_| TokenError::Invalid)?;
    if data.claims.exp <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    Ok(data.claims)
}

/// What an outside issuer's token must carry: its subject's e-mail.
#[derive(Debug, Deserialize)]
struct ExternalClaims {
    email: Option<String>,
    exp: i64,
}

/// The e-mail of an outside issuer's token: signed by `key` with an asymmetric algorithm,
/// from `issuer`, for `audience`, unexpired at `now`.
pub fn verify_external(
    key: &DecodingKey,
    token: &str,
    issuer: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<String, TokenError> {
    use jsonwebtoken::AlgorithmFamily;
    super::jwt_crypto::install();
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
    // Never a shared-secret algorithm: the provider's keys are public.
    let shared_secret = matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    if shared_secret || key.family() == AlgorithmFamily::Hmac {
        return Err(TokenError::Invalid);
    }
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.validate_exp = false;
    v.set_required_spec_claims(&["iss", "aud", "exp"]);
    let data =
        jsonwebtoken::decode::<ExternalClaims>(token, key, &v).map_err(|_| TokenError::Invalid)?;
    if data.claims.exp <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    data.claims.email.ok_or(TokenError::Invalid)
}

/// A refresh token is `<sessionId>.<secret>`; only the secret's SHA-256 is stored.
pub fn split_refresh(token: &str) -> Option<(&str, &str)> {
    let (sid, secret) = token.trim().split_once('.')?;
    (!sid.is_empty() && secret.len() >= 32).then_some((sid, secret))
}

/// How refresh, invitation and reset tokens are stored: hashed like API keys.
pub fn token_hash(secret: &str) -> String {
    crate::domain::api_keys::hash_api_key(secret)
}

/// The cookie that carries the refresh token to a browser: httpOnly (out of any script's
/// reach), SameSite=Strict, and sent only to the sign-in routes.
pub const REFRESH_COOKIE: &str = "wati_refresh";
const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// `Set-Cookie` for a refresh token; `secure` when the request came over HTTPS (a browser
/// drops a `Secure` cookie sent over plain HTTP to a non-loopback host).
pub fn refresh_cookie(token: &str, secure: bool) -> String {
    cookie_attrs(token, SESSION_TTL.num_seconds(), secure)
}

/// `Set-Cookie` that removes the refresh cookie (signing out).
pub fn cleared_refresh_cookie(secure: bool) -> String {
    cookie_attrs("", 0, secure)
}

fn cookie_attrs(value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{REFRESH_COOKIE}={value}; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), if set and not empty.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The lock-out: failures counted in a window that starts with the first of them. `Some`
/// with the seconds to wait when sign-in is refused.
pub fn locked_for(failures: u32, window_start: DateTime<Utc>, now: DateTime<Utc>) -> Option<u64> {
    let ends = window_start + FAILURE_WINDOW;
    (failures >= MAX_FAILURES && now < ends).then(|| ((ends - now).num_seconds().max(1)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "u".into(),
            sid: "s".into(),
            tid: Some("t".into()),
            role: Some(Role::Agent),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_key() {
        let key = SigningKey::new("a secret of some length");
        let now = Utc::now();
        let t = sign(&key, &claims(now.timestamp() + 60)).unwrap();
        assert!(looks_like_jwt(&t));
        assert_eq!(kid_of(&t), Some(key.kid.clone()));
        assert_eq!(verify(&key, &t, now).unwrap().sub, "u");
        let other = SigningKey::new("another secret");
        assert_ne!(other.kid, key.kid);
        assert_eq!(verify(&other, &t, now), Err(TokenError::Invalid));
        let old = sign(&key, &claims(now.timestamp() - 1)).unwrap();
        assert_eq!(verify(&key, &old, now), Err(TokenError::Expired));
        assert_eq!(verify(&key, "eyJ.x.y", now), Err(TokenError::Invalid));
    }

    #[test]
    fn lock_out_after_ten_failures_in_the_window() {
        let start = Utc::now();
        assert_eq!(locked_for(9, start, start), None);
        assert_eq!(locked_for(10, start, start), Some(900));
        assert_eq!(locked_for(10, start, start + FAILURE_WINDOW), None);
    }

    #[test]
    fn refresh_cookie_is_http_only_strict_and_read_back() {
        let set = refresh_cookie("sid.secret", true);
        assert!(set.starts_with("wati_refresh=sid.secret; Path=/api/auth; Max-Age=2592000;"));
        assert!(set.contains("; HttpOnly; SameSite=Strict; Secure"));
        assert!(!refresh_cookie("t", false).contains("Secure"));
        assert!(
            cleared_refresh_cookie(false).starts_with("wati_refresh=; Path=/api/auth; Max-Age=0;")
        );
        let header = "a=1; wati_refresh=sid.secret ; b=";
        assert_eq!(cookie_value(header, REFRESH_COOKIE), Some("sid.secret"));
        assert_eq!(cookie_value(header, "b"), None);
        assert_eq!(cookie_value("wati_refresh_x=1", REFRESH_COOKIE), None);
    }

    #[test]
    fn refresh_tokens_split_at_the_dot() {
        let secret = "x".repeat(40);
        assert_eq!(
            split_refresh(&format!("sid.{secret}")),
            Some(("sid", secret.as_str()))
        );
        assert_eq!(split_refresh("sid.short"), None);
        assert_eq!(split_refresh("nodot"), None);
    }

    #[test]
    fn a_rotation_repeats_only_with_the_token_it_replaced_and_within_the_grace_time() {
        let now = Utc::now();
        let at = Some(now - Duration::seconds(10));
        assert!(repeats_last_rotation(Some("h0"), "h1", at, "h0", "h1", now));
        // The new token has been used since: the chain moved on.
        assert!(!repeats_last_rotation(
            Some("h1"),
            "h2",
            at,
            "h0",
            "h1",
            now
        ));
        // A token from further back.
        assert!(!repeats_last_rotation(
            Some("h1"),
            "h2",
            at,
            "h-1",
            "h0",
            now
        ));
        // The rotation went elsewhere (a switch from an API client rotates at random).
        assert!(!repeats_last_rotation(
            Some("h0"),
            "hx",
            at,
            "h0",
            "h1",
            now
        ));
        let late = Some(now - REFRESH_REPEAT_GRACE - Duration::seconds(1));
        assert!(!repeats_last_rotation(
            Some("h0"),
            "h1",
            late,
            "h0",
            "h1",
            now
        ));
        assert!(!repeats_last_rotation(
            Some("h0"),
            "h1",
            None,
            "h0",
            "h1",
            now
        ));
    }

    #[test]
    fn the_next_refresh_secret_is_the_same_each_time_and_depends_on_everything() {
        let key = SigningKey::new("a-signing-secret-of-some-length-xx");
        let next = key.next_refresh_secret("sid", "secret-0");
        assert_eq!(next, key.next_refresh_secret("sid", "secret-0"));
        assert!(split_refresh(&format!("sid.{next}")).is_some());
        assert_ne!(next, key.next_refresh_secret("sid", "secret-1"));
        assert_ne!(next, key.next_refresh_secret("sid2", "secret-0"));
        let other = SigningKey::new("another-signing-secret-of-some-len");
        assert_ne!(next, other.next_refresh_secret("sid", "secret-0"));
    }
}
