//! The platform admin key, from configuration or Secrets Manager, and the constant-time
//! check of a presented key against it.

use crate::adapters::secrets::read_secret;
use crate::runtime::cache::TtlCache;
use crate::runtime::config::AdminKeySource;
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

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
    cached: TtlCache<(), [u8; 32]>,
}

const ADMIN_KEY_CACHE: Duration = Duration::from_secs(300);

impl AdminKey {
    pub fn new(source: AdminKeySource) -> Self {
        AdminKey {
            source,
            cached: TtlCache::new(ADMIN_KEY_CACHE),
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
        if let Some(hash) = self.cached.get(&()).await {
            return Ok(hash);
        }
        let value = read_secret(secrets, secret_id)
            .await
            .map_err(|e| AdminKeyError::Read(e.to_string()))?;
        let value = Some(value.trim())
            .filter(|v| !v.is_empty())
            .ok_or(AdminKeyError::Empty)?;
        let hash: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        self.cached.insert((), hash).await;
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
