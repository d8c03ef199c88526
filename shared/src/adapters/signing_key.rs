//! The key that signs sign-in tokens, from configuration or Secrets Manager. Read once per
//! instance; read again only when a token names a `kid` this instance does not know (the
//! secret was rotated), at most once a minute.

use crate::adapters::secrets::read_secret;
use crate::domain::sessions::SigningKey;
use crate::runtime::config::AdminKeySource;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("reading the sign-in signing key secret: {0}")]
    Read(String),
    #[error("the sign-in signing key secret is empty")]
    Empty,
}

const REREAD_AT_MOST_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct SigningKeys {
    source: AdminKeySource,
    /// The key, and when it was read.
    cached: RwLock<Option<(Instant, SigningKey)>>,
}

impl SigningKeys {
    pub fn new(source: AdminKeySource) -> Self {
        SigningKeys {
            source,
            cached: RwLock::new(None),
        }
    }

    /// The key to sign with.
    pub async fn current(
        &self,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<SigningKey, SigningKeyError> {
        if let Some((_, key)) = &*self.cached.read().await {
            return Ok(key.clone());
        }
        self.load(secrets).await
    }

    /// The key to check a token naming `kid` with: the current one, re-read if the token
    /// names another (and it has not been re-read within the last minute).
    pub async fn for_kid(
        &self,
        secrets: &aws_sdk_secretsmanager::Client,
        kid: Option<&str>,
    ) -> Result<SigningKey, SigningKeyError> {
        if let Some((at, key)) = &*self.cached.read().await {
            if kid == Some(key.kid.as_str()) || at.elapsed() < REREAD_AT_MOST_EVERY {
                return Ok(key.clone());
            }
        }
        self.load(secrets).await
    }

    async fn load(
        &self,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<SigningKey, SigningKeyError> {
        let value = match &self.source {
            AdminKeySource::Literal(k) => k.clone(),
            AdminKeySource::Secret(id) => read_secret(secrets, id)
                .await
                .map_err(|e| SigningKeyError::Read(e.to_string()))?,
        };
        let value = Some(value.trim())
            .filter(|v| !v.is_empty())
            .ok_or(SigningKeyError::Empty)?;
        let key = SigningKey::new(value);
        *self.cached.write().await = Some((Instant::now(), key.clone()));
        Ok(key)
    }
}
