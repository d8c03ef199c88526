//! Device credentials in Secrets Manager: one secret per device, named
//! `<DEVICE_SECRET_PREFIX>/<tenantId>/<deviceId>`, holding `{"accessToken", "appSecret",
//! "verifyToken"}`. The table stores only the name. Reads are cached per instance for five
//! minutes (so a rotated token takes effect without a redeploy); a token Meta rejects is
//! dropped from the cache at once.

use crate::domain::devices::{CloudApiCredentials, GatewayCredentials};
use crate::runtime::cache::TtlCache;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use std::sync::Arc;
use std::time::Duration;

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

/// A secret's string value. Shared by every reader of Secrets Manager (device credentials,
/// the AI key, the platform admin key).
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<String, SecretError> {
    let out = client
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
    Ok(out.secret_string().unwrap_or_default().to_string())
}

#[derive(Debug)]
pub struct DeviceSecrets {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
    cache: TtlCache<String, Arc<CloudApiCredentials>>,
    gateway_cache: TtlCache<String, Arc<GatewayCredentials>>,
}

impl DeviceSecrets {
    pub fn new(client: aws_sdk_secretsmanager::Client, prefix: String) -> Self {
        DeviceSecrets {
            client,
            prefix,
            cache: TtlCache::new(CACHE_FOR),
            gateway_cache: TtlCache::new(CACHE_FOR),
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
        let what =
            format!("WhatsApp Cloud API credentials of device {device_id} (tenant {tenant_id})");
        self.create_value(name, &what, credentials).await
    }

    /// A WhatsApp Web device's secret (its webhook key, its own gateway's API key).
    pub async fn create_gateway(
        &self,
        name: &str,
        tenant_id: &str,
        device_id: &str,
        credentials: &GatewayCredentials,
    ) -> Result<(), SecretError> {
        let what = format!("WhatsApp Web gateway keys of device {device_id} (tenant {tenant_id})");
        self.create_value(name, &what, credentials).await
    }

    async fn create_value(
        &self,
        name: &str,
        what: &str,
        value: &impl serde::Serialize,
    ) -> Result<(), SecretError> {
        let value =
            serde_json::to_string(value).map_err(|_| SecretError::Malformed(name.to_string()))?;
        self.client
            .create_secret()
            .name(name)
            .description(format!("WATI Pro: {what}"))
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
        self.cached(&self.cache, name).await
    }

    /// A WhatsApp Web device's keys, from the cache when fresh.
    pub async fn get_gateway(&self, name: &str) -> Result<Arc<GatewayCredentials>, SecretError> {
        self.cached(&self.gateway_cache, name).await
    }

    /// A JSON secret, from `cache` when fresh (read and kept there otherwise).
    async fn cached<T: serde::de::DeserializeOwned>(
        &self,
        cache: &TtlCache<String, Arc<T>>,
        name: &str,
    ) -> Result<Arc<T>, SecretError> {
        if let Some(value) = cache.get(name).await {
            return Ok(value);
        }
        let text = read_secret(&self.client, name).await?;
        let value: Arc<T> = serde_json::from_str(&text)
            .map(Arc::new)
            .map_err(|_| SecretError::Malformed(name.to_string()))?;
        cache.insert(name.to_string(), value.clone()).await;
        Ok(value)
    }

    /// Forgets a cached value (the provider said the token is no longer valid).
    pub async fn invalidate(&self, name: &str) {
        self.cache.remove(name).await;
        self.gateway_cache.remove(name).await;
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
