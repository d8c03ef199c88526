//! The platform admin key, from configuration or Secrets Manager, and the constant-time
//! check of a presented key against it.

use crate::runtime::config::AdminKeySource;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

#[derive(Debug, thiserror::Error)]
pub enum AdminKeyError {
    #[error("reading the platform admin key secret: {0}")]
    Read(String),
    #[error("the platform admin key secret is empty")]
    Empty,
}

/// The platform admin key, from configuration or Secrets Manager (cached per instance and
/// re-read every few minutes so a rotated secret takes effect without a redeploy).
#[derive(Debug)]
pub struct AdminKey {
    source: AdminKeySource,
    cached: RwLock<Option<(Instant, [u8; 32])>>,
}

const ADMIN_KEY_CACHE: Duration = Duration::from_secs(300);

impl AdminKey {
    pub fn new(source: AdminKeySource) -> Self {
        AdminKey {
            source,
            cached: RwLock::new(None),
        }
    }

    async fn expected_hash(
        &self,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<[u8; 32], AdminKeyError> {
        let secret_id = match &self.source {
            AdminKeySource::Literal(k) => return Ok(Sha256::digest(k.as_bytes()).into()),
            AdminKeySource::Secret(id) => id,
        };
        if let Some((at, hash)) = *self.cached.read().await {
            if at.elapsed() < ADMIN_KEY_CACHE {
                return Ok(hash);
            }
        }
        let out = secrets
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                AdminKeyError::Read(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
                )
            })?;
        let value = out
            .secret_string()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(AdminKeyError::Empty)?;
        let hash: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        *self.cached.write().await = Some((Instant::now(), hash));
        Ok(hash)
    }

    /// Constant-time comparison of what was presented against the admin key.
    pub async fn verify(
        &self,
        secrets: &aws_sdk_secretsmanager::Client,
        presented: &str,
    ) -> Result<bool, AdminKeyError> {
        let expected = self.expected_hash(secrets).await?;
        let given: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        Ok(bool::from(expected.ct_eq(&given)))
    }
}
