//! Brings the whole system up against the local stack: reads the template, creates its
//! resources, builds the configuration the template gives the functions, and wires the
//! functions into a [`DevServer`]. Used by the `dev-server` binary and by the tests.

use crate::bootstrap::{bootstrap, BootstrapOptions};
use crate::devserver::DevServer;
use crate::functions::{registry, Functions};
use crate::template::Template;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use wati_shared::runtime::aws::AwsClients;
use wati_shared::runtime::clock::Clock;
use wati_shared::runtime::config::{Config, LOCAL_DEFAULT_ADMIN_KEY};
use wati_shared::AppState;

/// The template's secret that holds the platform admin key.
pub const ADMIN_KEY_SECRET: &str = "PlatformAdminKeySecret";

pub struct LocalOptions {
    pub template_path: PathBuf,
    /// Resource name prefix: `wati-local` for the dev server, unique per test.
    pub prefix: String,
    /// The platform admin key written into the local admin-key secret.
    pub admin_key: String,
    /// Variables that win over the template's (and over the process environment).
    pub overrides: BTreeMap<String, String>,
    /// Whether the process environment may override the template's variables
    /// (the dev server: yes; tests: no, so a developer's shell cannot change them).
    pub use_process_env: bool,
    pub clock: Clock,
    pub visibility_timeout: Option<i32>,
}

impl LocalOptions {
    pub fn new(template_path: impl Into<PathBuf>, prefix: impl Into<String>) -> Self {
        LocalOptions {
            template_path: template_path.into(),
            prefix: prefix.into(),
            admin_key: LOCAL_DEFAULT_ADMIN_KEY.to_string(),
            overrides: BTreeMap::new(),
            use_process_env: false,
            clock: Clock::System,
            visibility_timeout: None,
        }
    }
}

pub struct Local {
    pub server: DevServer,
    pub state: AppState,
}

/// Creates the resources and the app state. `functions` builds the implementations
/// (normally [`registry`]); tests may add their own.
pub async fn start_with(
    opts: LocalOptions,
    aws: AwsClients,
    functions: impl FnOnce(&AppState) -> Functions,
) -> Result<Local, String> {
    let template = Template::load(&opts.template_path).map_err(|e| e.to_string())?;
    let boot = BootstrapOptions {
        prefix: opts.prefix.clone(),
        secret_values: HashMap::from([(ADMIN_KEY_SECRET.to_string(), opts.admin_key.clone())]),
        visibility_timeout: opts.visibility_timeout,
    };
    let stack = bootstrap(&template, &aws, &boot)
        .await
        .map_err(|e| e.to_string())?;
    let probe = DevServer::new(
        template.clone(),
        stack.clone(),
        Functions::default(),
        aws.clone(),
    );
    let template_env = probe.template_env();
    let config = Config::from_lookup(|k| {
        opts.overrides
            .get(k)
            .cloned()
            .or_else(|| {
                opts.use_process_env
                    .then(|| std::env::var(k).ok())
                    .flatten()
            })
            .or_else(|| template_env.get(k).cloned())
    })
    .map_err(|e| e.to_string())?;
    let state = AppState::new(config, aws.clone(), opts.clock);
    let functions = functions(&state);
    Ok(Local {
        server: DevServer::new(template, stack, functions, aws),
        state,
    })
}

pub async fn start(opts: LocalOptions, aws: AwsClients) -> Result<Local, String> {
    start_with(opts, aws, registry).await
}
