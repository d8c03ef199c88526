//! WhatsApp Web through a WAHA gateway (devlikeapro/waha) over HTTP: its sessions, pairing,
//! sends and lids, every call with `X-Api-Key`. The platform's gateway is `WAHA_BASE_URL`
//! (the operator's, trusted); a tenant's own gateway is reached only through the SSRF-guarded
//! client. WAHA's errors become messages a client can act on.

use super::{
    read_limited, Accepted, Content, LazyClient, OutboundMessage, Provider, ProviderError,
    ProviderErrorKind,
};
use crate::adapters::http_client::{refusal_of, OutboundHttp};
use crate::adapters::secrets::{read_secret, DeviceSecrets};
use crate::domain::devices::ProviderKind;
use crate::domain::gateway::{chat_id, message_id, WEBHOOK_EVENTS};
use crate::domain::media::MediaKind;
use crate::runtime::cache::TtlCache;
use crate::runtime::config::GatewayConfig;
use crate::runtime::metrics;
use crate::store::devices::Device;
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Largest gateway answer read (a QR code's PNG is a few kilobytes).
const MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// The platform key read from Secrets Manager, and lid → phone answers, are kept this long.
const CACHE_FOR: Duration = Duration::from_secs(300);
const LIDS_FOR: Duration = Duration::from_secs(3600);

/// What the gateway says when a session is asked for something it cannot do in its state.
pub const NOT_CONNECTED: &str = "The WhatsApp Web session is not connected: scan the QR code";

pub struct WhatsappWeb {
    config: GatewayConfig,
    secrets: aws_sdk_secretsmanager::Client,
    device_secrets: Arc<DeviceSecrets>,
    platform_key: TtlCache<String, String>,
    lids: TtlCache<(String, String), String>,
    http: LazyClient,
    guarded: OnceLock<Result<OutboundHttp, String>>,
    allow_loopback: bool,
}

/// One gateway call's target: the base URL, the key and the client allowed to reach it.
struct Target<'a> {
    base: String,
    key: String,
    client: &'a reqwest::Client,
}

/// A session's QR code: WAHA's raw value and its PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    pub value: String,
    pub mimetype: String,
    pub png_base64: String,
}

fn error(kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
    ProviderError::new(kind, None, message)
}

impl WhatsappWeb {
    pub fn new(
        config: GatewayConfig,
        secrets: aws_sdk_secretsmanager::Client,
        device_secrets: Arc<DeviceSecrets>,
        allow_loopback: bool,
    ) -> Self {
        let http = LazyClient::new(
            config.timeout,
            "The WhatsApp Web gateway client could not be set up",
        );
        WhatsappWeb {
            config,
            secrets,
            device_secrets,
            platform_key: TtlCache::new(CACHE_FOR),
            lids: TtlCache::new(LIDS_FOR),
            http,
            guarded: OnceLock::new(),
            allow_loopback,
        }
    }

    /// Whether the platform has a gateway (`WAHA_BASE_URL`).
    pub fn configured(&self) -> bool {
        self.config.base_url.is_some()
    }

    async fn platform_key(&self) -> Result<String, ProviderError> {
        if let Some(k) = &self.config.api_key {
            return Ok(k.clone());
        }
        let Some(id) = &self.config.api_key_secret_id else {
            return Ok(String::new());
        };
        if let Some(k) = self.platform_key.get(id).await {
            return Ok(k);
        }
        let key = read_secret(&self.secrets, id).await.map_err(|e| {
            tracing::error!(error = %e, "reading WAHA_API_KEY_SECRET_ID failed");
            error(
                ProviderErrorKind::Credentials,
                "The WhatsApp Web gateway's API key could not be read",
            )
        })?;
        let key = key.trim().to_string();
        self.platform_key.insert(id.clone(), key.clone()).await;
        Ok(key)
    }

    async fn target(&self, device: &Device) -> Result<Target<'_>, ProviderError> {
        let Some(own) = &device.gateway_base_url else {
            let base = self.config.base_url.clone().ok_or_else(|| {
                error(
                    ProviderErrorKind::Unavailable,
                    "No WhatsApp Web gateway is configured (WAHA_BASE_URL)",
                )
            })?;
            return Ok(Target {
                base,
                key: self.platform_key().await?,
                client: self.http.get()?,
            });
        };
        let secret = device.secret_name.as_deref().unwrap_or_default();
        let creds = self.device_secrets.get_gateway(secret).await.map_err(|e| {
            tracing::error!(device_id = %device.id, error = %e, "device gateway key unusable");
            error(
                ProviderErrorKind::Credentials,
                "The device's gateway API key could not be read",
            )
        })?;
        let guarded = self
            .guarded
            .get_or_init(|| {
                OutboundHttp::new(
                    self.allow_loopback,
                    concat!("wati-pro/", env!("CARGO_PKG_VERSION")),
                )
                .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                tracing::error!(error = %e, "building the guarded HTTP client failed");
                error(
                    ProviderErrorKind::Unavailable,
                    "The WhatsApp Web gateway client could not be set up",
                )
            })?;
        let (client, _) = guarded.client_for(own).map_err(|r| {
            error(
                ProviderErrorKind::Refused,
                format!("The device's gateway address is refused: {r}"),
            )
        })?;
        Ok(Target {
            base: own.clone(),
            key: creds.api_key.clone().unwrap_or_default(),
            client,
        })
    }

    /// A media file the gateway serves (`/api/files/…`), with the gateway's key. Only the
    /// URL's path is kept: the file is always fetched from the device's own gateway, so the
    /// key never goes anywhere else.
    pub async fn media_bytes(
        &self,
        device: &Device,
        url: &str,
    ) -> Result<reqwest::Response, ProviderError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| {
            error(
                ProviderErrorKind::Refused,
                "The gateway's media URL is not a URL",
            )
        })?;
        let mut path = parsed.path().to_string();
        if let Some(q) = parsed.query() {
            path = format!("{path}?{q}");
        }
        let t = self.target(device).await?;
        let mut req = t
            .client
            .get(format!("{}{path}", t.base.trim_end_matches('/')))
            .timeout(crate::adapters::media_store::DOWNLOAD_TIMEOUT);
        if !t.key.is_empty() {
            req = req.header("X-Api-Key", &t.key);
        }
        let response = req.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(error(
                ProviderErrorKind::Unavailable,
                format!("The WhatsApp Web gateway answered HTTP {status} for the media file"),
            ));
        }
        Ok(response)
    }

    /// One call; the status and the JSON answer (`Null` when empty or not JSON).
    async fn call(
        &self,
        device: &Device,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ProviderError> {
        let t = self.target(device).await?;
        let mut req = t
            .client
            .request(method, format!("{}{path}", t.base))
            .timeout(self.config.timeout)
            .header("Accept", "application/json");
        if !t.key.is_empty() {
            req = req.header("X-Api-Key", &t.key);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let response = req.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let bytes = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| self.transport(&e))?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status == 401 || status == 403 {
            tracing::error!(status, device_id = %device.id, "the gateway refused the API key");
            return Err(error(
                ProviderErrorKind::Credentials,
                "The WhatsApp Web gateway refused our API key (X-Api-Key)",
            ));
        }
        Ok((status, value))
    }

    fn transport(&self, e: &reqwest::Error) -> ProviderError {
        tracing::warn!(error = %e, "gateway request failed");
        if let Some(r) = refusal_of(e) {
            return error(
                ProviderErrorKind::Refused,
                format!("The device's gateway address is refused: {r}"),
            );
        }
        if e.is_timeout() {
            return error(
                ProviderErrorKind::Timeout,
                format!(
                    "The WhatsApp Web gateway did not answer within {} s",
                    self.config.timeout.as_secs()
                ),
            );
        }
        if e.is_connect() {
            return error(
                ProviderErrorKind::Unavailable,
                "The WhatsApp Web gateway could not be reached",
            );
        }
        error(
            ProviderErrorKind::Timeout,
            "The connection to the WhatsApp Web gateway failed before it answered",
        )
    }

    /// Creates and starts the device's session with our webhook (its events, our HMAC key,
    /// WAHA's retries). A session that exists already gets the same configuration.
    pub async fn start_session(
        &self,
        device: &Device,
        webhook_url: &str,
        hmac_key: &str,
    ) -> Result<(), ProviderError> {
        let session = session(device)?;
        let config = json!({
            "webhooks": [{
                "url": webhook_url,
                "events": WEBHOOK_EVENTS,
                "hmac": {"key": hmac_key},
                "retries": {"policy": "exponential", "delaySeconds": 2, "attempts": 15},
            }],
            "metadata": {"tenantId": device.tenant_id, "deviceId": device.id},
        });
        let body = json!({"name": session, "start": true, "config": config});
        let (status, answer) = self
            .call(device, Method::POST, "/api/sessions", Some(&body))
            .await?;
        match status {
            200..=299 => Ok(()),
            422 | 409 => {
                let put = json!({"name": session, "config": config});
                let path = format!("/api/sessions/{session}");
                let (status, answer) = self.call(device, Method::PUT, &path, Some(&put)).await?;
                ok_or(status, &answer)
            }
            _ => ok_or(status, &answer),
        }
    }

    /// WAHA's status of the session (`SCAN_QR_CODE`, `WORKING` …).
    pub async fn session_status(&self, device: &Device) -> Result<String, ProviderError> {
        let path = format!("/api/sessions/{}", session(device)?);
        let (status, answer) = self.call(device, Method::GET, &path, None).await?;
        ok_or(status, &answer)?;
        Ok(answer["status"].as_str().unwrap_or("STOPPED").to_string())
    }

    /// The session's current QR code (raw value and PNG).
    pub async fn qr(&self, device: &Device) -> Result<Qr, ProviderError> {
        let s = session(device)?;
        let raw_path = format!("/api/{s}/auth/qr?format=raw");
        let image_path = format!("/api/{s}/auth/qr?format=image");
        let (raw, image) = tokio::join!(
            self.call(device, Method::GET, &raw_path, None),
            self.call(device, Method::GET, &image_path, None),
        );
        let ((rs, raw), (is, image)) = (raw?, image?);
        ok_or(rs, &raw)?;
        ok_or(is, &image)?;
        let value = raw["value"].as_str().unwrap_or_default().to_string();
        let png_base64 = image["data"].as_str().unwrap_or_default().to_string();
        if value.is_empty() || png_base64.is_empty() {
            return Err(error(ProviderErrorKind::Unavailable, "The WhatsApp Web gateway has no QR code for this session yet; try again in a moment"));
        }
        let mimetype = image["mimetype"]
            .as_str()
            .unwrap_or("image/png")
            .to_string();
        Ok(Qr {
            value,
            mimetype,
            png_base64,
        })
    }

    /// A pairing code for linking with a phone number instead of the QR code.
    pub async fn request_code(
        &self,
        device: &Device,
        phone: &str,
    ) -> Result<String, ProviderError> {
        let path = format!("/api/{}/auth/request-code", session(device)?);
        let body = json!({"phoneNumber": phone});
        let (status, answer) = self.call(device, Method::POST, &path, Some(&body)).await?;
        ok_or(status, &answer)?;
        answer["code"].as_str().map(str::to_string).ok_or_else(|| {
            error(
                ProviderErrorKind::Unavailable,
                "The WhatsApp Web gateway answered without a pairing code",
            )
        })
    }

    /// `restart`, `logout` or `stop` the session.
    pub async fn session_action(&self, device: &Device, action: &str) -> Result<(), ProviderError> {
        let path = format!("/api/sessions/{}/{action}", session(device)?);
        let (status, answer) = self.call(device, Method::POST, &path, None).await?;
        ok_or(status, &answer)
    }

    /// Deletes the session (and its WhatsApp Web login). Gone already is fine.
    pub async fn delete_session(&self, device: &Device) -> Result<(), ProviderError> {
        let path = format!("/api/sessions/{}", session(device)?);
        let (status, answer) = self.call(device, Method::DELETE, &path, None).await?;
        if status == 404 {
            return Ok(());
        }
        ok_or(status, &answer)
    }

    /// The paired number, digits, from `/me`.
    pub async fn me(&self, device: &Device) -> Result<Option<String>, ProviderError> {
        let path = format!("/api/sessions/{}/me", session(device)?);
        let (status, answer) = self.call(device, Method::GET, &path, None).await?;
        ok_or(status, &answer)?;
        Ok(answer["id"].as_str().and_then(phone_of))
    }

    /// The phone number behind a linked id (`…@lid`), cached; `None` when WAHA does not
    /// know it.
    pub async fn lid_phone(
        &self,
        device: &Device,
        lid: &str,
    ) -> Result<Option<String>, ProviderError> {
        let key = (device.id.clone(), lid.to_string());
        if let Some(p) = self.lids.get(&key).await {
            return Ok(Some(p));
        }
        let path = format!("/api/{}/lids/{}", session(device)?, urlencode(lid));
        let (status, answer) = self.call(device, Method::GET, &path, None).await?;
        if status == 404 {
            return Ok(None);
        }
        ok_or(status, &answer)?;
        let phone = answer["pn"].as_str().and_then(phone_of);
        if let Some(p) = &phone {
            self.lids.insert(key, p.clone()).await;
        }
        Ok(phone)
    }

    async fn send_inner(
        &self,
        device: &Device,
        message: &OutboundMessage,
    ) -> Result<Accepted, ProviderError> {
        let session = session(device)?;
        let (path, body) = send_request(&session, &message.to, &message.content)?;
        metrics::milestone(metrics::PROVIDER_CALL);
        let (status, answer) = self.call(device, Method::POST, path, Some(&body)).await?;
        ok_or(status, &answer)?;
        let id = message_id(&answer).ok_or_else(|| {
            tracing::error!(status, body = %answer, "the gateway answered without a message id");
            error(ProviderErrorKind::Timeout, "The WhatsApp Web gateway answered without a message id: the message may or may not have been sent")
        })?;
        Ok(Accepted { wa_message_id: id })
    }
}

impl Provider for WhatsappWeb {
    fn kind(&self) -> ProviderKind {
        ProviderKind::WhatsappWeb
    }

    fn send<'a>(
        &'a self,
        device: &'a Device,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<Accepted, ProviderError>> {
        Box::pin(self.send_inner(device, message))
    }
}

fn session(device: &Device) -> Result<String, ProviderError> {
    device.session.clone().ok_or_else(|| {
        error(
            ProviderErrorKind::Credentials,
            "The device has no WhatsApp Web session: delete it and add it again",
        )
    })
}

/// The endpoint and body of one send: text through `sendText`, media by URL (WAHA fetches
/// it) through `sendImage`, `sendVideo`, `sendVoice` or `sendFile`.
pub fn send_request(
    session: &str,
    to: &str,
    content: &Content,
) -> Result<(&'static str, Value), ProviderError> {
    let chat = chat_id(to);
    match content {
        Content::Text { body } => Ok((
            "/api/sendText",
            json!({"session": session, "chatId": chat, "text": body}),
        )),
        Content::Media {
            kind,
            link,
            caption,
            file_name,
        } => {
            let path = match kind {
                MediaKind::Image => "/api/sendImage",
                MediaKind::Video => "/api/sendVideo",
                MediaKind::Audio => "/api/sendVoice",
                _ => "/api/sendFile",
            };
            let mut file = json!({"url": link, "mimetype": mimetype_for(*kind, link)});
            if let Some(f) = file_name {
                file["filename"] = json!(f);
            }
            let mut body = json!({"session": session, "chatId": chat, "file": file});
            if let (Some(c), true) = (caption, kind.allows_caption()) {
                body["caption"] = json!(c);
            }
            Ok((path, body))
        }
        Content::Template(_) => Err(error(
            ProviderErrorKind::Refused,
            "Templates are for Cloud API devices: a WhatsApp Web device sends text and media",
        )),
    }
}

/// WAHA wants a mimetype with every file; the link's extension says it best.
fn mimetype_for(kind: MediaKind, link: &str) -> &'static str {
    let ext = link
        .rsplit('/')
        .next()
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match (kind, ext.as_deref()) {
        (_, Some("png")) => "image/png",
        (_, Some("webp")) => "image/webp",
        (MediaKind::Image, _) | (_, Some("jpg" | "jpeg")) => "image/jpeg",
        (_, Some("3gp")) => "video/3gpp",
        (MediaKind::Video, _) | (_, Some("mp4")) => "video/mp4",
        (_, Some("mp3")) => "audio/mpeg",
        (MediaKind::Audio, _) | (_, Some("ogg" | "opus")) => "audio/ogg; codecs=opus",
        (_, Some("pdf")) => "application/pdf",
        (_, Some("txt")) => "text/plain",
        _ => "application/octet-stream",
    }
}

/// A WAHA answer's status as success or a clear error.
fn ok_or(status: u16, answer: &Value) -> Result<(), ProviderError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let said = answer["message"]
        .as_str()
        .or_else(|| answer["error"].as_str())
        .or_else(|| answer["exception"]["message"].as_str())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    // WAHA's "session status is not as expected" answer names the session's status.
    if let Some(st) = answer["status"].as_str() {
        if st != "WORKING" && status == 422 {
            return Err(error(
                ProviderErrorKind::Refused,
                format!("{NOT_CONNECTED} (gateway status {st})"),
            ));
        }
    }
    let kind = match status {
        400..=499 => ProviderErrorKind::Refused,
        _ => ProviderErrorKind::Unavailable,
    };
    let message = match (status, said.is_empty()) {
        (404, _) => {
            "The WhatsApp Web gateway has no such session: delete the device and add it again"
                .to_string()
        }
        (_, true) => format!("The WhatsApp Web gateway failed (HTTP {status})"),
        (_, false) => {
            format!("The WhatsApp Web gateway refused the request (HTTP {status}): {said}")
        }
    };
    Err(error(kind, message))
}

/// Digits of `923001234567@c.us` (or a bare number).
fn phone_of(id: &str) -> Option<String> {
    let user = id.split('@').next()?.split(':').next()?;
    (!user.is_empty() && user.len() <= 20 && user.bytes().all(|b| b.is_ascii_digit()))
        .then(|| user.to_string())
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
