//! An outside identity provider's signing keys (its JWKS), fetched over HTTP and kept per
//! instance; fetched again when a token names a key this instance has not seen (the
//! provider rotated), at most once a minute, and every ten minutes regardless.

use crate::runtime::config::ExternalIdentity;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

const KEEP_FOR: Duration = Duration::from_secs(600);
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("fetching the identity provider's keys from {url}: {detail}")]
    Fetch { url: String, detail: String },
}

#[derive(Debug)]
pub struct Jwks {
    pub identity: ExternalIdentity,
    /// A build failure (TLS could not load) is kept and answered on use.
    http: Result<reqwest::Client, String>,
    fetched: RwLock<Option<(Instant, JwkSet)>>,
}

impl Jwks {
    pub fn new(identity: ExternalIdentity) -> Self {
        Jwks {
            identity,
            http: crate::runtime::tls::client_builder()
                .timeout(TIMEOUT)
                .build()
                .map_err(|e| e.to_string()),
            fetched: RwLock::new(None),
        }
    }

    /// The key named `kid`, if the provider publishes one.
    pub async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, JwksError> {
        if let Some((at, set)) = &*self.fetched.read().await {
            let fresh = at.elapsed() < KEEP_FOR;
            match set.find(kid) {
                Some(jwk) if fresh => return Ok(DecodingKey::from_jwk(jwk).ok()),
                None if at.elapsed() < REFETCH_AT_MOST_EVERY => return Ok(None),
                _ => {}
            }
        }
        let set = self.fetch().await?;
        let key = set
            .find(kid)
            .and_then(|jwk| DecodingKey::from_jwk(jwk).ok());
        *self.fetched.write().await = Some((Instant::now(), set));
        Ok(key)
    }

    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let url = &self.identity.jwks_url;
        let err = |detail: String| JwksError::Fetch {
            url: url.clone(),
            detail,
        };
        let http = self.http.as_ref().map_err(|e| err(e.clone()))?;
        let res = http.get(url).send().await.map_err(|e| err(e.to_string()))?;
        if !res.status().is_success() {
            return Err(err(format!("HTTP {}", res.status())));
        }
        res.json::<JwkSet>().await.map_err(|e| err(e.to_string()))
    }
}
