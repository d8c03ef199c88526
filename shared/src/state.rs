//! What every handler gets: configuration, AWS clients, the clock, and caches that live as
//! long as the Lambda instance.

use crate::auth::AdminKey;
use crate::aws::AwsClients;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub aws: AwsClients,
    pub clock: Clock,
    pub store: Store,
    pub admin_key: Arc<AdminKey>,
}

impl AppState {
    pub fn new(config: Config, aws: AwsClients, clock: Clock) -> Self {
        let store = Store::new(aws.dynamo.clone(), config.table_name.clone());
        let admin_key = Arc::new(AdminKey::new(config.admin_key.clone()));
        AppState {
            config: Arc::new(config),
            aws,
            clock,
            store,
            admin_key,
        }
    }

    /// Reads the configuration and builds the clients: what a Lambda's `main` does once.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        crate::telemetry::init(config.log_format);
        if config.using_default_admin_key {
            tracing::warn!(
                "PLATFORM_ADMIN_KEY is not set: using the local development default key"
            );
        }
        let aws = AwsClients::from_env().await;
        Ok(AppState::new(config, aws, Clock::System))
    }
}
