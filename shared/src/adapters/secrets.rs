//! Device credentials in Secrets Manager: one secret per device, named
//! `<DEVICE_SECRET_PREFIX>/<tenantId>/<deviceId>`, holding `{"accessToken", "appSecret",
//! "verifyToken"}`. The table stores only the name. Reads are cached per instance for five
//! minutes (so a rotated token takes effect without a redeploy); a token Meta rejects is
//! dropped from the cache at once.

use crate::domain::devices::CloudApiCredentials;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

const CACHE_FOR: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} does not exist")]
    NotFound(String),
    #[error("Secrets Manager {op} on {name} failed: {detail}")]
    Aws {
        op: &'static str,
        name: String,
        detail: String,
    },
    #[error("secret {0} does not hold device credentials")]
    Malformed(String),
}

#[derive(Debug)]
pub struct DeviceSecrets {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
    cache: RwLock<HashMap<String, (Instant, Arc<CloudApiCredentials>)>>,
}

impl DeviceSecrets {
    pub fn new(client: aws_sdk_secretsmanager::Client, prefix: String) -> Self {
        DeviceSecrets {
            client,
            prefix,
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn name_for(&self, tenant_id: &str, device_id: &str) -> String {
        format!("{}/{tenant_id}/{device_id}", self.prefix)
    }

    pub async fn create(
        &self,
        name: &str,
        tenant_id: &str,
        device_id: &str,
        credentials: &CloudApiCredentials,
    ) -> Result<(), SecretError> {
        let value = serde_json::to_string(credentials)
            .map_err(|_| SecretError::Malformed(name.to_string()))?;
        self.client
            .create_secret()
            .name(name)
            .description(format!(
                "WATI Pro: WhatsApp Cloud API credentials of device {device_id} (tenant {tenant_id})"
            ))
            .secret_string(value)
            .send()
            .await
            .map_err(|e| SecretError::Aws {
                op: "CreateSecret",
                name: name.to_string(),
                detail: DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }

    /// The credentials, from the cache when fresh.
    pub async fn get(&self, name: &str) -> Result<Arc<CloudApiCredentials>, SecretError> {
        if let Some((at, creds)) = self.cache.read().await.get(name) {
            if at.elapsed() < CACHE_FOR {
                return Ok(creds.clone());
            }
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    SecretError::NotFound(name.to_string())
                } else {
                    SecretError::Aws {
                        op: "GetSecretValue",
                        name: name.to_string(),
                        detail: DisplayErrorContext(&e).to_string(),
                    }
                }
            })?;
        let creds: CloudApiCredentials = out
            .secret_string()
            .and_then(|v| serde_json::from_str(v).ok())
            .ok_or_else(|| SecretError::Malformed(name.to_string()))?;
        let creds = Arc::new(creds);
        self.cache
            .write()
            .await
            .insert(name.to_string(), (Instant::now(), creds.clone()));
        Ok(creds)
    }

    /// Forgets a cached value (the provider said the token is no longer valid).
    pub async fn invalidate(&self, name: &str) {
        self.cache.write().await.remove(name);
    }

    /// Deletes the secret for good (no recovery window: the tenant removed the device).
    /// A secret that is already gone is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), SecretError> {
        self.invalidate(name).await;
        match self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(SecretError::Aws {
                op: "DeleteSecret",
                name: name.to_string(),
                detail: DisplayErrorContext(&e).to_string(),
            }),
        }
    }
}
