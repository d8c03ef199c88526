//! Configuration from environment variables, read once per Lambda instance (or dev server).
//! Every variable is listed with its default in docs/configuration.md.

use crate::domain::rate_limit::{DEFAULT_RATE_LIMIT_PER_MINUTE, MAX_RATE_LIMIT_PER_MINUTE};
use std::time::Duration;

/// The platform admin key used when neither `PLATFORM_ADMIN_KEY_SECRET_ID` nor
/// `PLATFORM_ADMIN_KEY` is set. Local development only: the template always sets the secret.
pub const LOCAL_DEFAULT_ADMIN_KEY: &str = "wati_admin_local_dev_key_change_me_0000000";

/// The sign-in token key used when neither `AUTH_SIGNING_KEY_SECRET_ID` nor
/// `AUTH_SIGNING_KEY` is set. Local development only: the template always sets the secret.
pub const LOCAL_DEFAULT_SIGNING_KEY: &str = "wati_local_dev_signing_key_change_me_000000";

/// Where a key comes from (the platform admin key, the sign-in token key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminKeySource {
    /// The key itself (local development, tests).
    Literal(String),
    /// Name or ARN of a Secrets Manager secret holding the key (AWS).
    Secret(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Everything a function reads from its environment, grouped by concern.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub log_format: LogFormat,
    pub api: ApiConfig,
    pub queues: QueueUrls,
    pub meta: MetaConfig,
    pub outbound: OutboundConfig,
    pub sandbox: SandboxConfig,
    pub webhooks: WebhookConfig,
    pub campaigns: CampaignConfig,
    pub ai: AiConfig,
    pub gateway: GatewayConfig,
    /// `EXPORTS_BUCKET` (template: `ExportsBucket`): where contact exports are written.
    pub exports_bucket: Option<String>,
    pub media: MediaConfig,
}

/// Kept inbound media (`docs/media.md`).
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// `MEDIA_BUCKET` (template: `MediaBucket`): where inbound media are kept. Unset: media
    /// are not downloaded and `mediaUrl` stays the provider's.
    pub bucket: Option<String>,
    /// `MEDIA_LINK_TTL_SECONDS`: how long a signed media link opens (default 7 days,
    /// 60 s to 7 days: a presigned S3 URL cannot outlive its signing credentials' week).
    pub link_ttl: Duration,
}

/// The HTTP API itself: who administers it, who may call it from a browser, how fast.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub admin_key: AdminKeySource,
    pub using_default_admin_key: bool,
    /// Origins allowed to call the API from a browser. Empty (the default) means none:
    /// API keys belong on servers, as the spec insists.
    pub cors_allowed_origins: Vec<String>,
    pub default_rate_limit_per_minute: u32,
    /// Adds `X-Aws-Calls` / `X-Aws-Sequential` to responses (dev server and tests).
    pub expose_aws_call_counts: bool,
    /// Public base URL of the API (e.g. `https://wati.example.com`), used for the URLs the
    /// API hands out (a Cloud API device's webhook URL). Unset: the request's host.
    pub public_base_url: Option<String>,
    /// Base URLs for providers' callbacks, when their webhook functions have their own
    /// (Lambda function URLs: no API Gateway request per callback). `CLOUD_API_WEBHOOK_BASE_URL`
    /// for Meta's webhook, `GATEWAY_WEBHOOK_BASE_URL` for WAHA's. Unset: the public base URL.
    pub cloud_api_webhook_base_url: Option<String>,
    pub gateway_webhook_base_url: Option<String>,
    /// The key that signs sign-in tokens (HS256): `AUTH_SIGNING_KEY_SECRET_ID` (AWS) or
    /// `AUTH_SIGNING_KEY`; a local development default otherwise.
    pub auth_signing_key: AdminKeySource,
    /// An outside identity provider whose JWTs are accepted too (`AUTH_JWKS_URL`,
    /// `AUTH_ISSUER`, `AUTH_AUDIENCE`: all three, or none).
    pub external_identity: Option<ExternalIdentity>,
}

/// Where an outside issuer publishes its keys, and what its tokens must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
}

/// The SQS queues (template: `WebhookQueue`, `CampaignQueue`, `InboundQueue`,
/// `SandboxStatusQueue`). A producer whose queue is unset fails with a clear error.
#[derive(Debug, Clone, Default)]
pub struct QueueUrls {
    /// `WEBHOOK_QUEUE_URL`: outbound webhook events.
    pub webhooks: Option<String>,
    /// `CAMPAIGN_QUEUE_URL`: campaign batches, paced by delays.
    pub campaigns: Option<String>,
    /// `INBOUND_QUEUE_URL`: from Meta's webhook and the sandbox's inbound endpoint to the
    /// inbound worker.
    pub inbound: Option<String>,
    /// `SANDBOX_STATUS_QUEUE_URL`: the sandbox's scheduled `delivered` / `read` statuses.
    pub sandbox_statuses: Option<String>,
    /// `CONTACT_JOBS_QUEUE_URL`: contact imports' chunks and exports, for the contact-jobs
    /// worker.
    pub contact_jobs: Option<String>,
}

/// Meta's Graph API and the device credentials it needs.
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// Base URL (no trailing slash) and version, e.g. `v24.0`.
    pub graph_api_base_url: String,
    pub graph_api_version: String,
    /// How long a provider call may take before the send is answered as timed out.
    pub provider_timeout: Duration,
    /// Secrets Manager name prefix for device credentials: `<prefix>/<tenantId>/<deviceId>`.
    pub device_secret_prefix: String,
}

/// Requests to URLs tenants chose (media links, webhook targets).
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Local development only: targets may be loopback addresses, over plain `http` too.
    /// Private, link-local and metadata addresses stay refused.
    pub allow_loopback_targets: bool,
    /// How long each request of a media URL check (HEAD / ranged GET) may take.
    pub media_check_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Seconds after a sandbox send until `delivered` (and twice that until `read`).
    pub status_delay_seconds: u32,
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `WEBHOOK_RETRY_SCHEDULE`: seconds to wait before each retry of a failed delivery.
    /// Attempts in all = retries + 1.
    pub retry_schedule: Vec<u32>,
    /// `WEBHOOK_TIMEOUT_SECONDS`: a receiver must answer 2xx within this many seconds.
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct CampaignConfig {
    /// `CAMPAIGN_BATCH_SIZE`: recipients queued per batch at most (1–98; fewer when the
    /// delay would take a batch past SQS's 15 minutes).
    pub batch_size: usize,
}

/// AI Smart Reply's OpenAI-compatible gateway (`{base_url}/v1/chat/completions`).
#[derive(Debug, Clone)]
pub struct AiConfig {
    pub base_url: String,
    pub model: String,
    /// `AI_API_KEY`: the gateway's key itself (local development). Wins over the secret.
    pub api_key: Option<String>,
    /// `AI_API_KEY_SECRET_ID`: the Secrets Manager secret holding the key (AWS).
    pub api_key_secret_id: Option<String>,
    /// An AI answer must arrive within this long, or no reply is sent.
    pub timeout: Duration,
}

/// The platform's WAHA gateway (WhatsApp Web devices). Unset base URL: only devices that
/// bring their own gateway can be WhatsApp Web devices.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `WAHA_BASE_URL`, without its trailing slash.
    pub base_url: Option<String>,
    /// `WAHA_API_KEY`: the key itself (local development). Wins over the secret.
    pub api_key: Option<String>,
    /// `WAHA_API_KEY_SECRET_ID`: the Secrets Manager secret holding the key (AWS).
    pub api_key_secret_id: Option<String>,
    /// `WAHA_TIMEOUT_SECONDS`: how long a gateway call may take.
    pub timeout: Duration,
    /// `WAHA_UNCONFIRMED_AFTER_SECONDS`: a sent message with no server or device ack this
    /// long after it went out is `unconfirmed`.
    pub unconfirmed_after_seconds: u32,
    /// `WAHA_MIN_SEND_GAP_SECONDS`: campaigns through a WhatsApp Web device wait at least
    /// this long between two messages (bulk sends get numbers banned).
    pub min_send_gap_seconds: u32,
}

pub const DEFAULT_AI_BASE_URL: &str = "https://ai.gateway.lovable.dev";
pub const DEFAULT_AI_MODEL: &str = "google/gemini-3-flash-preview";

pub const DEFAULT_GRAPH_API_BASE_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_GRAPH_API_VERSION: &str = "v24.0";
pub const DEFAULT_DEVICE_SECRET_PREFIX: &str = "wati/devices";

/// The spec's retry schedule: 1 m, 5 m, 30 m, 2 h, 12 h.
pub const DEFAULT_WEBHOOK_RETRY_SCHEDULE: [u32; 5] = [60, 300, 1800, 7200, 43200];
pub const DEFAULT_WEBHOOK_TIMEOUT_SECONDS: u64 = 10;
/// The longest single wait the schedule may hold (7 days).
pub const MAX_WEBHOOK_RETRY_DELAY: u32 = 7 * 86_400;
/// At most this many retries (so 21 attempts).
pub const MAX_WEBHOOK_RETRIES: usize = 20;

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the configuration from any variable source (the environment, or a test's map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (admin_key, using_default_admin_key) = match (
            var("PLATFORM_ADMIN_KEY_SECRET_ID"),
            var("PLATFORM_ADMIN_KEY"),
        ) {
            (Some(id), _) => (AdminKeySource::Secret(id), false),
            (None, Some(key)) => (AdminKeySource::Literal(key), false),
            (None, None) => (
                AdminKeySource::Literal(LOCAL_DEFAULT_ADMIN_KEY.to_string()),
                true,
            ),
        };
        let default_rate_limit_per_minute = match var("DEFAULT_RATE_LIMIT_PER_MINUTE") {
            None => DEFAULT_RATE_LIMIT_PER_MINUTE,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_RATE_LIMIT_PER_MINUTE).contains(n))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "DEFAULT_RATE_LIMIT_PER_MINUTE must be 1..={MAX_RATE_LIMIT_PER_MINUTE}, got {v:?}"
                    ))
                })?,
        };
        let log_format = match var("LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError(format!(
                    "LOG_FORMAT must be json or text, got {other:?}"
                )))
            }
            // JSON inside Lambda (CloudWatch Logs Insights reads it), text on a terminal.
            None if var("AWS_LAMBDA_FUNCTION_NAME").is_some() => LogFormat::Json,
            None => LogFormat::Text,
        };
        let webhook_retry_schedule = match var("WEBHOOK_RETRY_SCHEDULE") {
            None => DEFAULT_WEBHOOK_RETRY_SCHEDULE.to_vec(),
            Some(v) => parse_schedule(&v)?,
        };
        let webhook_timeout_seconds = match var("WEBHOOK_TIMEOUT_SECONDS") {
            None => DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=60).contains(n))
                .ok_or_else(|| {
                    ConfigError(format!("WEBHOOK_TIMEOUT_SECONDS must be 1..=60, got {v:?}"))
                })?,
        };
        Ok(Config {
            table_name: var("TABLE_NAME").unwrap_or_else(|| "wati".to_string()),
            log_format,
            api: ApiConfig {
                admin_key,
                using_default_admin_key,
                cors_allowed_origins: var("CORS_ALLOWED_ORIGINS")
                    .map(|v| {
                        v.split(',')
                            .map(|o| o.trim().trim_end_matches('/').to_string())
                            .filter(|o| !o.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                default_rate_limit_per_minute,
                expose_aws_call_counts: parse_bool(var("EXPOSE_AWS_CALL_COUNTS"))?,
                public_base_url: var("PUBLIC_BASE_URL")
                    .map(|v| http_url("PUBLIC_BASE_URL", v))
                    .transpose()?,
                cloud_api_webhook_base_url: var("CLOUD_API_WEBHOOK_BASE_URL")
                    .map(|v| http_url("CLOUD_API_WEBHOOK_BASE_URL", v))
                    .transpose()?,
                gateway_webhook_base_url: var("GATEWAY_WEBHOOK_BASE_URL")
                    .map(|v| http_url("GATEWAY_WEBHOOK_BASE_URL", v))
                    .transpose()?,
                auth_signing_key: match (var("AUTH_SIGNING_KEY_SECRET_ID"), var("AUTH_SIGNING_KEY"))
                {
                    (Some(id), _) => AdminKeySource::Secret(id),
                    (None, Some(key)) => AdminKeySource::Literal(key),
                    (None, None) => AdminKeySource::Literal(LOCAL_DEFAULT_SIGNING_KEY.into()),
                },
                external_identity: match (
                    var("AUTH_JWKS_URL"),
                    var("AUTH_ISSUER"),
                    var("AUTH_AUDIENCE"),
                ) {
                    (Some(url), Some(issuer), Some(audience)) => Some(ExternalIdentity {
                        jwks_url: http_url("AUTH_JWKS_URL", url)?,
                        issuer,
                        audience,
                    }),
                    (None, None, None) => None,
                    _ => {
                        return Err(ConfigError(
                            "AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE go together: set all three or none"
                                .into(),
                        ))
                    }
                },
            },
            queues: QueueUrls {
                webhooks: var("WEBHOOK_QUEUE_URL"),
                campaigns: var("CAMPAIGN_QUEUE_URL"),
                inbound: var("INBOUND_QUEUE_URL"),
                sandbox_statuses: var("SANDBOX_STATUS_QUEUE_URL"),
                contact_jobs: var("CONTACT_JOBS_QUEUE_URL"),
            },
            exports_bucket: var("EXPORTS_BUCKET"),
            media: MediaConfig {
                bucket: var("MEDIA_BUCKET"),
                link_ttl: seconds(
                    "MEDIA_LINK_TTL_SECONDS",
                    var,
                    crate::domain::media_links::DEFAULT_LINK_TTL_SECS as u32,
                    60..=crate::domain::media_links::DEFAULT_LINK_TTL_SECS as u32,
                )?,
            },
            meta: MetaConfig {
                graph_api_base_url: http_url(
                    "GRAPH_API_BASE_URL",
                    var("GRAPH_API_BASE_URL")
                        .unwrap_or_else(|| DEFAULT_GRAPH_API_BASE_URL.to_string()),
                )?,
                graph_api_version: match var("GRAPH_API_VERSION") {
                    None => DEFAULT_GRAPH_API_VERSION.to_string(),
                    Some(v) if is_graph_version(&v) => v,
                    Some(v) => {
                        return Err(ConfigError(format!(
                            "GRAPH_API_VERSION must look like v24.0, got {v:?}"
                        )))
                    }
                },
                // Below the messages function's 29 s (API Gateway's 30 s integration limit).
                provider_timeout: seconds("PROVIDER_TIMEOUT_SECONDS", var, 10, 1..=20)?,
                device_secret_prefix: var("DEVICE_SECRET_PREFIX")
                    .map(|v| v.trim_matches('/').to_string())
                    .unwrap_or_else(|| DEFAULT_DEVICE_SECRET_PREFIX.to_string()),
            },
            outbound: OutboundConfig {
                allow_loopback_targets: parse_bool(var("ALLOW_LOOPBACK_TARGETS"))
                    .map_err(|e| ConfigError(format!("ALLOW_LOOPBACK_TARGETS: {}", e.0)))?,
                // A check may take twice this in all (redirects, ranged fallback).
                media_check_timeout: seconds("MEDIA_CHECK_TIMEOUT_SECONDS", var, 5, 1..=5)?,
            },
            sandbox: SandboxConfig {
                // SQS delays at most 900 s, and `read` is scheduled at twice the delay.
                status_delay_seconds: bounded(
                    "SANDBOX_STATUS_DELAY_SECONDS",
                    var("SANDBOX_STATUS_DELAY_SECONDS"),
                    2,
                    1..=450,
                )?,
            },
            webhooks: WebhookConfig {
                retry_schedule: webhook_retry_schedule,
                timeout_seconds: webhook_timeout_seconds,
            },
            campaigns: CampaignConfig {
                batch_size: bounded(
                    "CAMPAIGN_BATCH_SIZE",
                    var("CAMPAIGN_BATCH_SIZE"),
                    crate::domain::campaigns::MAX_BATCH_SIZE as u32,
                    1..=crate::domain::campaigns::MAX_BATCH_SIZE as u32,
                )? as usize,
            },
            ai: AiConfig {
                base_url: http_url(
                    "AI_BASE_URL",
                    var("AI_BASE_URL").unwrap_or_else(|| DEFAULT_AI_BASE_URL.to_string()),
                )?,
                model: var("AI_MODEL").unwrap_or_else(|| DEFAULT_AI_MODEL.to_string()),
                api_key: var("AI_API_KEY"),
                api_key_secret_id: var("AI_API_KEY_SECRET_ID"),
                timeout: seconds("AI_TIMEOUT_SECONDS", var, 15, 1..=60)?,
            },
            gateway: GatewayConfig {
                base_url: var("WAHA_BASE_URL")
                    .map(|v| http_url("WAHA_BASE_URL", v))
                    .transpose()?,
                api_key: var("WAHA_API_KEY"),
                api_key_secret_id: var("WAHA_API_KEY_SECRET_ID"),
                // Below the messages function's 29 s, as the Graph API's.
                timeout: seconds("WAHA_TIMEOUT_SECONDS", var, 10, 1..=20)?,
                // SQS delays at most 900 s.
                unconfirmed_after_seconds: bounded(
                    "WAHA_UNCONFIRMED_AFTER_SECONDS",
                    var("WAHA_UNCONFIRMED_AFTER_SECONDS"),
                    60,
                    1..=900,
                )?,
                min_send_gap_seconds: bounded(
                    "WAHA_MIN_SEND_GAP_SECONDS",
                    var("WAHA_MIN_SEND_GAP_SECONDS"),
                    5,
                    0..=60,
                )?,
            },
        })
    }
}

/// An `http(s)://` base URL without its trailing slash.
fn http_url(name: &str, v: String) -> Result<String, ConfigError> {
    if v.starts_with("https://") || v.starts_with("http://") {
        Ok(v.trim_end_matches('/').to_string())
    } else {
        Err(ConfigError(format!(
            "{name} must start with https:// or http://, got {v:?}"
        )))
    }
}

/// A whole number of seconds within `range`, `default` when unset.
fn seconds(
    name: &str,
    var: impl Fn(&str) -> Option<String>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Duration, ConfigError> {
    bounded(name, var(name), default, range).map(|s| Duration::from_secs(u64::from(s)))
}

fn is_graph_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        })
}

fn bounded(
    name: &str,
    v: Option<String>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    match v {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ConfigError(format!(
                    "{name} must be {}..={}, got {v:?}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// `"60,300,1800"`: comma-separated whole seconds, each at most 7 days.
fn parse_schedule(v: &str) -> Result<Vec<u32>, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds (each 0..={MAX_WEBHOOK_RETRY_DELAY}, \
             at most {MAX_WEBHOOK_RETRIES} of them), got {v:?}"
        ))
    };
    let steps = v
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_WEBHOOK_RETRY_DELAY)
        })
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(bad)?;
    if steps.len() > MAX_WEBHOOK_RETRIES {
        return Err(bad());
    }
    Ok(steps)
}

fn parse_bool(v: Option<String>) -> Result<bool, ConfigError> {
    match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(other) => Err(ConfigError(format!(
            "expected true or false, got {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.table_name, "wati");
        assert_eq!(
            c.api.admin_key,
            AdminKeySource::Literal(LOCAL_DEFAULT_ADMIN_KEY.into())
        );
        assert!(c.api.using_default_admin_key);
        assert!(c.api.cors_allowed_origins.is_empty());
        assert_eq!(c.api.default_rate_limit_per_minute, 60);
        assert!(!c.api.expose_aws_call_counts);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.api.public_base_url, None);
        assert_eq!(c.meta.graph_api_base_url, "https://graph.facebook.com");
        assert_eq!(c.meta.graph_api_version, "v24.0");
        assert_eq!(c.meta.provider_timeout, Duration::from_secs(10));
        assert_eq!(c.outbound.media_check_timeout, Duration::from_secs(5));
        assert!(!c.outbound.allow_loopback_targets);
        assert_eq!(c.meta.device_secret_prefix, "wati/devices");
        assert_eq!(c.queues.sandbox_statuses, None);
        assert_eq!(c.sandbox.status_delay_seconds, 2);
        assert_eq!(c.webhooks.retry_schedule, vec![60, 300, 1800, 7200, 43200]);
        assert_eq!(c.webhooks.timeout_seconds, 10);
        assert_eq!(c.queues.webhooks, None);
        assert_eq!(c.queues.campaigns, None);
        assert_eq!(c.campaigns.batch_size, 98);
        assert_eq!(c.queues.inbound, None);
        assert_eq!(c.ai.base_url, "https://ai.gateway.lovable.dev");
        assert_eq!(c.ai.model, "google/gemini-3-flash-preview");
        assert_eq!(c.ai.api_key, None);
        assert_eq!(c.ai.api_key_secret_id, None);
        assert_eq!(c.ai.timeout, Duration::from_secs(15));
        assert_eq!(c.gateway.base_url, None);
        assert_eq!(c.gateway.unconfirmed_after_seconds, 60);
        assert_eq!(c.gateway.min_send_gap_seconds, 5);
    }

    #[test]
    fn gateway_settings() {
        let c = cfg(&[
            ("WAHA_BASE_URL", "http://127.0.0.1:3000/"),
            ("WAHA_API_KEY", "k"),
            ("WAHA_API_KEY_SECRET_ID", "stack/waha"),
            ("WAHA_UNCONFIRMED_AFTER_SECONDS", "2"),
            ("WAHA_MIN_SEND_GAP_SECONDS", "0"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.gateway.base_url.as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(c.gateway.api_key.as_deref(), Some("k"));
        assert_eq!(c.gateway.api_key_secret_id.as_deref(), Some("stack/waha"));
        assert_eq!(c.gateway.unconfirmed_after_seconds, 2);
        assert_eq!(c.gateway.min_send_gap_seconds, 0);
        for (name, value) in [
            ("WAHA_BASE_URL", "waha:3000"),
            ("WAHA_UNCONFIRMED_AFTER_SECONDS", "0"),
            ("WAHA_MIN_SEND_GAP_SECONDS", "61"),
        ] {
            assert!(cfg(&[(name, value)]).is_err(), "{name}={value}");
        }
    }

    #[test]
    fn inbound_and_ai_settings() {
        let c = cfg(&[
            ("INBOUND_QUEUE_URL", "http://q/inbound"),
            ("AI_BASE_URL", "http://127.0.0.1:9/"),
            ("AI_MODEL", "openai/gpt-5-mini"),
            ("AI_API_KEY", "sk-local"),
            ("AI_API_KEY_SECRET_ID", "stack/ai"),
            ("AI_TIMEOUT_SECONDS", "3"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.queues.inbound.as_deref(), Some("http://q/inbound"));
        assert_eq!(c.ai.base_url, "http://127.0.0.1:9");
        assert_eq!(c.ai.model, "openai/gpt-5-mini");
        assert_eq!(c.ai.api_key.as_deref(), Some("sk-local"));
        assert_eq!(c.ai.api_key_secret_id.as_deref(), Some("stack/ai"));
        assert_eq!(c.ai.timeout, Duration::from_secs(3));
    }

    #[test]
    fn sending_settings() {
        let c = cfg(&[
            ("PUBLIC_BASE_URL", "https://api.example.com/"),
            ("GRAPH_API_BASE_URL", "http://127.0.0.1:9999/"),
            ("GRAPH_API_VERSION", "v25.0"),
            ("PROVIDER_TIMEOUT_SECONDS", "2"),
            ("ALLOW_LOOPBACK_TARGETS", "true"),
            ("DEVICE_SECRET_PREFIX", "stack/devices/"),
            ("SANDBOX_STATUS_DELAY_SECONDS", "1"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.api.public_base_url.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(c.meta.graph_api_base_url, "http://127.0.0.1:9999");
        assert_eq!(c.meta.graph_api_version, "v25.0");
        assert_eq!(c.meta.provider_timeout, Duration::from_secs(2));
        assert!(c.outbound.allow_loopback_targets);
        assert_eq!(c.meta.device_secret_prefix, "stack/devices");
        assert_eq!(c.sandbox.status_delay_seconds, 1);
    }

    #[test]
    fn webhook_settings() {
        let c = cfg(&[
            ("WEBHOOK_RETRY_SCHEDULE", "1, 1,2"),
            ("WEBHOOK_TIMEOUT_SECONDS", "3"),
            ("ALLOW_LOOPBACK_TARGETS", "true"),
            ("WEBHOOK_QUEUE_URL", "http://q"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.webhooks.retry_schedule, vec![1, 1, 2]);
        assert_eq!(c.webhooks.timeout_seconds, 3);
        assert!(c.outbound.allow_loopback_targets);
        assert_eq!(c.queues.webhooks.as_deref(), Some("http://q"));
        for bad in ["1,x", "-1", "1,,2", "700000"] {
            assert!(cfg(&[("WEBHOOK_RETRY_SCHEDULE", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn sign_in_keys_and_outside_identity() {
        let c =
            cfg(&[("AUTH_SIGNING_KEY_SECRET_ID", "stack/auth")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.api.auth_signing_key,
            AdminKeySource::Secret("stack/auth".into())
        );
        assert_eq!(c.api.external_identity, None);
        let e = cfg(&[("AUTH_JWKS_URL", "https://id.example/jwks.json")])
            .map(|_| ())
            .unwrap_err();
        assert!(e.0.contains("set all three or none"), "{e}");
        let c = cfg(&[
            ("AUTH_JWKS_URL", "https://id.example/jwks.json"),
            ("AUTH_ISSUER", "https://id.example"),
            ("AUTH_AUDIENCE", "authenticated"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.api.external_identity.map(|i| i.audience).as_deref(),
            Some("authenticated")
        );
    }

    #[test]
    fn secret_wins_over_literal_key() {
        let c = cfg(&[
            ("PLATFORM_ADMIN_KEY_SECRET_ID", "wati/admin"),
            ("PLATFORM_ADMIN_KEY", "x"),
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example/, https://b.example",
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.api.admin_key, AdminKeySource::Secret("wati/admin".into()));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(
            c.api.cors_allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn bad_values_are_errors() {
        for (name, value) in [
            ("CAMPAIGN_BATCH_SIZE", "99"),
            ("CAMPAIGN_BATCH_SIZE", "0"),
            ("AI_BASE_URL", "gateway.example"),
            ("AI_TIMEOUT_SECONDS", "0"),
            ("AI_TIMEOUT_SECONDS", "61"),
            ("GRAPH_API_VERSION", "24"),
            ("GRAPH_API_VERSION", "v24"),
            ("GRAPH_API_BASE_URL", "graph.facebook.com"),
            ("PUBLIC_BASE_URL", "wati.example.com"),
            ("PROVIDER_TIMEOUT_SECONDS", "0"),
            ("SANDBOX_STATUS_DELAY_SECONDS", "451"),
            ("WEBHOOK_TIMEOUT_SECONDS", "0"),
            ("ALLOW_LOOPBACK_TARGETS", "sure"),
            ("DEFAULT_RATE_LIMIT_PER_MINUTE", "0"),
            ("LOG_FORMAT", "xml"),
            ("EXPOSE_AWS_CALL_COUNTS", "maybe"),
        ] {
            assert!(cfg(&[(name, value)]).is_err(), "{name}={value}");
        }
    }
}
