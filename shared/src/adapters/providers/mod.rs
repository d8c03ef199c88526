//! WhatsApp providers behind one trait: Meta's Cloud API ([`cloud_api`]), the sandbox
//! ([`sandbox`]) and WhatsApp Web through a WAHA gateway ([`whatsapp_web`]), chosen by the
//! device's `provider`.

pub mod cloud_api;
pub mod sandbox;
pub mod whatsapp_web;

use crate::domain::devices::ProviderKind;
use crate::domain::media::MediaKind;
use crate::domain::messages::TemplateSpec;
use crate::store::devices::Device;
use futures::future::BoxFuture;
use std::sync::Arc;

/// One message to hand to a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    pub tenant_id: String,
    /// Our id of the message when it is chosen before the send (the sandbox reports
    /// statuses against it); `None`: the id will be computed from WhatsApp's
    /// (`domain::messages::id_from_wamid`).
    pub message_id: Option<String>,
    /// Digits only.
    pub to: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text {
        body: String,
    },
    Media {
        kind: MediaKind,
        link: String,
        caption: Option<String>,
        /// Documents only.
        file_name: Option<String>,
    },
    Template(TemplateSpec),
}

/// The provider accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// WhatsApp's id for it (`wamid.…`), or the sandbox's.
    pub wa_message_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The provider refused this message (recipient, template, 24-hour window, parameters).
    Refused,
    /// Throughput or per-recipient pacing; retry after this many seconds.
    RateLimited { retry_after: u64 },
    /// The device's credentials are missing, unreadable or rejected.
    Credentials,
    /// The provider answered with an error of its own, or could not be reached.
    Unavailable,
    /// No (complete) answer in time: the message may or may not have gone out.
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    /// The provider's own error code (Meta's, e.g. 131030).
    pub code: Option<i64>,
    /// What went wrong, in words a client can act on.
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, code: Option<i64>, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            code,
            message: message.into(),
        }
    }

    /// The status the API answers a send with when the provider failed it.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            ProviderErrorKind::Refused => 422,
            ProviderErrorKind::RateLimited { .. } => 429,
            ProviderErrorKind::Credentials | ProviderErrorKind::Unavailable => 502,
            ProviderErrorKind::Timeout => 504,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self.kind {
            ProviderErrorKind::RateLimited { retry_after } => Some(retry_after),
            _ => None,
        }
    }

    /// Whether the message certainly did not go out (so an outbound unit can be given back).
    /// A timeout is the one case where nobody knows.
    pub fn certainly_not_sent(&self) -> bool {
        self.kind != ProviderErrorKind::Timeout
    }
}

/// A WhatsApp provider. Implementations call [`crate::runtime::metrics::milestone`] with
/// [`crate::runtime::metrics::PROVIDER_CALL`] right before they contact the provider, so the call
/// accounting can say how many AWS round trips a send waits for before that.
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    fn send<'a>(
        &'a self,
        device: &'a Device,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<Accepted, ProviderError>>;
}

/// The providers of one instance (HTTP clients and credential caches live as long as it).
#[derive(Clone)]
pub struct Providers {
    pub cloud_api: Arc<cloud_api::CloudApi>,
    pub sandbox: Arc<sandbox::Sandbox>,
    pub whatsapp_web: Arc<whatsapp_web::WhatsappWeb>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Providers { cloud_api, sandbox, whatsapp_web }")
    }
}

impl Providers {
    pub fn for_kind(&self, kind: ProviderKind) -> &dyn Provider {
        match kind {
            ProviderKind::CloudApi => self.cloud_api.as_ref(),
            ProviderKind::Sandbox => self.sandbox.as_ref(),
            ProviderKind::WhatsappWeb => self.whatsapp_web.as_ref(),
        }
    }
}

/// A provider's HTTP client, built on first use (not at start: most instances never call a
/// given provider). A build failure is kept and answered as `Unavailable` with `refusal`.
pub struct LazyClient {
    cell: std::sync::OnceLock<Result<reqwest::Client, String>>,
    timeout: std::time::Duration,
    refusal: &'static str,
}

impl LazyClient {
    pub fn new(timeout: std::time::Duration, refusal: &'static str) -> Self {
        LazyClient {
            cell: std::sync::OnceLock::new(),
            timeout,
            refusal,
        }
    }

    pub fn get(&self) -> Result<&reqwest::Client, ProviderError> {
        self.cell
            .get_or_init(|| {
                crate::runtime::tls::client_builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.timeout.min(std::time::Duration::from_secs(5)))
                    .user_agent(concat!("wati-pro/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                tracing::error!(error = %e, refusal = self.refusal, "building a provider HTTP client failed");
                ProviderError::new(ProviderErrorKind::Unavailable, None, self.refusal)
            })
    }
}

/// A provider's response body, at most `max` bytes of it: an answer is small, and a
/// misbehaving server must not fill the memory.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= max {
            break;
        }
    }
    Ok(out)
}
