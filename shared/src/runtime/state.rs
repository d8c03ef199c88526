//! What every handler gets: configuration, AWS clients, the clock, and caches that live as
//! long as the Lambda instance.

use crate::adapters::admin_key::AdminKey;
use crate::adapters::media_check::MediaInspector;
use crate::adapters::providers::whatsapp_web::WhatsappWeb;
use crate::adapters::providers::{cloud_api::CloudApi, sandbox::Sandbox, Providers};
use crate::adapters::secrets::DeviceSecrets;
use crate::adapters::signing_key::SigningKeys;
use crate::domain::net::TargetPolicy;
use crate::domain::phone::Country;
use crate::domain::webhooks::EventType;
use crate::runtime::aws::AwsClients;
use crate::runtime::cache::TtlCache;
use crate::runtime::clock::Clock;
use crate::runtime::config::Config;
use crate::store::Store;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub aws: AwsClients,
    pub clock: Clock,
    pub store: Store,
    pub admin_key: Arc<AdminKey>,
    /// The key that signs sign-in tokens (read once per instance).
    pub signing_keys: Arc<SigningKeys>,
    /// An outside identity provider's keys, when one is configured.
    pub jwks: Option<Arc<crate::adapters::jwks::Jwks>>,
    /// Device credentials in Secrets Manager (cached per instance).
    pub device_secrets: Arc<DeviceSecrets>,
    /// WhatsApp providers (HTTP clients built once per instance).
    pub providers: Providers,
    /// Media URL checks before a media send.
    pub media: Arc<MediaInspector>,
    /// Tenants' default countries for local phone numbers (`services::phones`).
    pub phone_settings: Arc<TtlCache<String, Option<Country>>>,
    /// (tenant, event type) pairs a webhook subscribes to (`services::events::may_want`).
    pub webhook_subscriptions: Arc<TtlCache<(String, EventType), ()>>,
}

impl AppState {
    pub fn new(config: Config, aws: AwsClients, clock: Clock) -> Self {
        let store = Store::new(aws.dynamo.clone(), config.table_name.clone());
        let admin_key = Arc::new(AdminKey::new(config.api.admin_key.clone()));
        let signing_keys = Arc::new(SigningKeys::new(config.api.auth_signing_key.clone()));
        let jwks = config
            .api
            .external_identity
            .clone()
            .map(|i| Arc::new(crate::adapters::jwks::Jwks::new(i)));
        if config.api.expose_aws_call_counts {
            crate::runtime::metrics::record_consumed_capacity(true);
        }
        let device_secrets = Arc::new(DeviceSecrets::new(
            aws.secrets.clone(),
            config.meta.device_secret_prefix.clone(),
        ));
        let providers = Providers {
            cloud_api: Arc::new(CloudApi::new(
                config.meta.graph_api_base_url.clone(),
                config.meta.graph_api_version.clone(),
                config.meta.provider_timeout,
                device_secrets.clone(),
            )),
            sandbox: Arc::new(Sandbox::new(
                aws.sqs.clone(),
                config.queues.sandbox_statuses.clone(),
                config.sandbox.status_delay_seconds,
            )),
            whatsapp_web: Arc::new(WhatsappWeb::new(
                config.gateway.clone(),
                aws.secrets.clone(),
                device_secrets.clone(),
                config.outbound.allow_loopback_targets,
            )),
        };
        let media = Arc::new(MediaInspector::new(
            TargetPolicy {
                allow_loopback: config.outbound.allow_loopback_targets,
            },
            config.outbound.media_check_timeout,
        ));
        AppState {
            config: Arc::new(config),
            aws,
            clock,
            store,
            admin_key,
            signing_keys,
            jwks,
            device_secrets,
            providers,
            media,
            phone_settings: Arc::new(TtlCache::new(crate::services::phones::SETTINGS_TTL)),
            webhook_subscriptions: Arc::new(TtlCache::new(crate::services::events::SUBSCRIBED_TTL)),
        }
    }

    /// Reads the configuration and builds the clients with every source of the SDK's default
    /// credential chain: what the operator's tools do.
    pub async fn from_env() -> Result<Self, crate::runtime::config::ConfigError> {
        let config = Self::config_from_env()?;
        let aws = AwsClients::from_env().await;
        Ok(AppState::new(config, aws, Clock::System))
    }

    /// What a Lambda's `main` does once: the configuration, and clients from the credentials
    /// Lambda puts in the environment ([`AwsClients::from_lambda_env`]).
    pub fn from_lambda_env() -> Result<Self, crate::runtime::config::ConfigError> {
        let config = Self::config_from_env()?;
        Ok(AppState::new(
            config,
            AwsClients::from_lambda_env(),
            Clock::System,
        ))
    }

    /// The configuration, with logging started and its local-only defaults warned about.
    fn config_from_env() -> Result<Config, crate::runtime::config::ConfigError> {
        let config = Config::from_env()?;
        crate::runtime::telemetry::init(config.log_format);
        if config.api.using_default_admin_key {
            tracing::warn!(
                "PLATFORM_ADMIN_KEY is not set: using the local development default key"
            );
        }
        if config.api.auth_signing_key
            == crate::runtime::config::AdminKeySource::Literal(
                crate::runtime::config::LOCAL_DEFAULT_SIGNING_KEY.into(),
            )
        {
            tracing::warn!(
                "AUTH_SIGNING_KEY is not set: sign-in tokens use the local development default key"
            );
        }
        if config.outbound.allow_loopback_targets {
            tracing::warn!(
                "ALLOW_LOOPBACK_TARGETS is on: media URLs may point at this machine (local development only)"
            );
        }
        Ok(config)
    }
}
