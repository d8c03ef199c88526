//! Meta's WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages`
//! with `Authorization: Bearer <token>` and Meta's exact JSON bodies; Meta's error codes
//! become messages a client can act on.

use super::{
    read_limited, Accepted, Content, LazyClient, OutboundMessage, Provider, ProviderError,
    ProviderErrorKind,
};
use crate::adapters::secrets::{DeviceSecrets, SecretError};
use crate::domain::devices::ProviderKind;
use crate::domain::media::MediaKind;
use crate::runtime::metrics;
use crate::store::devices::Device;
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Largest provider answer read (Meta's are a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

pub struct CloudApi {
    base_url: String,
    version: String,
    timeout: Duration,
    secrets: Arc<DeviceSecrets>,
    http: LazyClient,
}

mod graph;
pub use graph::{MediaNode, TemplatePage};

impl CloudApi {
    /// The device's access token (Secrets Manager, cached), or why it cannot be used.
    async fn credentials(
        &self,
        device: &Device,
        secret_name: &str,
    ) -> Result<Arc<crate::domain::devices::CloudApiCredentials>, ProviderError> {
        self.secrets.get(secret_name).await.map_err(|e| match e {
            SecretError::NotFound(_) | SecretError::Malformed(_) => {
                tracing::error!(device_id = %device.id, error = %e, "device credentials unusable");
                ProviderError::new(
                    ProviderErrorKind::Credentials,
                    None,
                    "The device's Cloud API credentials are missing: delete the device and add it again",
                )
            }
            SecretError::Aws { .. } => {
                tracing::error!(device_id = %device.id, error = %e, "reading device credentials failed");
                ProviderError::new(
                    ProviderErrorKind::Unavailable,
                    None,
                    "The device's Cloud API credentials could not be read; try again",
                )
            }
        })
    }

    pub fn new(
        base_url: String,
        version: String,
        timeout: Duration,
        secrets: Arc<DeviceSecrets>,
    ) -> Self {
        CloudApi {
            base_url,
            version,
            timeout,
            secrets,
            http: LazyClient::new(timeout, "WhatsApp Cloud API client could not be set up"),
        }
    }

    pub fn messages_url(&self, phone_number_id: &str) -> String {
        format!(
            "{}/{}/{phone_number_id}/messages",
            self.base_url, self.version
        )
    }

    async fn send_inner(
        &self,
        device: &Device,
        message: &OutboundMessage,
    ) -> Result<Accepted, ProviderError> {
        let (Some(phone_number_id), Some(secret_name)) =
            (&device.phone_number_id, &device.secret_name)
        else {
            return Err(ProviderError::new(
                ProviderErrorKind::Credentials,
                None,
                "The device has no Cloud API phone number id or credentials: add it again with POST /api/devices",
            ));
        };
        let credentials = self.credentials(device, secret_name).await?;
        let client = self.http.get()?;
        let body = request_body(&message.to, &message.content);
        metrics::milestone(metrics::PROVIDER_CALL);
        let sent = client
            .post(self.messages_url(phone_number_id))
            .bearer_auth(&credentials.access_token)
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(transport_error(&e, self.timeout)),
        };
        let status = response.status().as_u16();
        let bytes = match read_limited(response, MAX_RESPONSE_BYTES).await {
            Ok(b) => b,
            Err(e) => return Err(transport_error(&e, self.timeout)),
        };
        if (200..300).contains(&status) {
            return accepted(&bytes).ok_or_else(|| {
                tracing::error!(status, body = %String::from_utf8_lossy(&bytes), "Graph API answered without a message id");
                ProviderError::new(
                    ProviderErrorKind::Timeout,
                    None,
                    "WhatsApp Cloud API answered without a message id: the message may or may not have been sent",
                )
            });
        }
        let err = map_error(status, &bytes);
        tracing::warn!(
            status,
            code = ?err.code,
            device_id = %device.id,
            "Graph API refused the message"
        );
        if err.kind == ProviderErrorKind::Credentials {
            self.secrets.invalidate(secret_name).await;
        }
        Err(err)
    }
}

impl Provider for CloudApi {
    fn kind(&self) -> ProviderKind {
        ProviderKind::CloudApi
    }

    fn send<'a>(
        &'a self,
        device: &'a Device,
        message: &'a OutboundMessage,
    ) -> BoxFuture<'a, Result<Accepted, ProviderError>> {
        Box::pin(self.send_inner(device, message))
    }
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> ProviderError {
    tracing::warn!(error = %e, "Graph API request failed");
    if e.is_connect() {
        ProviderError::new(
            ProviderErrorKind::Unavailable,
            None,
            "WhatsApp Cloud API could not be reached; the message was not sent",
        )
    } else if e.is_timeout() {
        ProviderError::new(
            ProviderErrorKind::Timeout,
            None,
            format!(
                "WhatsApp Cloud API did not answer within {} s: the message may or may not have been sent; check its status before sending it again",
                timeout.as_secs()
            ),
        )
    } else {
        ProviderError::new(
            ProviderErrorKind::Timeout,
            None,
            "The connection to WhatsApp Cloud API failed before it answered: the message may or may not have been sent",
        )
    }
}

/// Meta's request body for one message, exactly as its documentation gives it.
pub fn request_body(to: &str, content: &Content) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    });
    let (kind, object) = match content {
        Content::Text { body } => ("text", json!({"preview_url": false, "body": body})),
        Content::Media {
            kind,
            link,
            caption,
            file_name,
        } => {
            let mut media = json!({ "link": link });
            if let (Some(c), true) = (caption, kind.allows_caption()) {
                media["caption"] = json!(c);
            }
            if let (Some(f), MediaKind::Document) = (file_name, kind) {
                media["filename"] = json!(f);
            }
            (kind.as_str(), media)
        }
        Content::Template(t) => {
            let mut template = json!({
                "name": t.name,
                "language": {"code": t.language},
            });
            if let Some(components) = &t.components {
                template["components"] = Value::Array(components.clone());
            }
            ("template", template)
        }
    };
    body["type"] = json!(kind);
    body[kind] = object;
    body
}

/// The `wamid` from Meta's success answer: `{"messages": [{"id": "wamid.…"}], …}`.
pub fn accepted(body: &[u8]) -> Option<Accepted> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v["messages"][0]["id"].as_str()?.trim();
    (!id.is_empty()).then(|| Accepted {
        wa_message_id: id.to_string(),
    })
}

/// Meta's error answer `{"error": {"message", "type", "code", "error_subcode",
/// "error_data": {"details"}, "fbtrace_id"}}` as a [`ProviderError`] with a clear message.
pub fn map_error(http_status: u16, body: &[u8]) -> ProviderError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let Some(code) = err["code"].as_i64() else {
        let kind = ProviderErrorKind::Unavailable;
        return ProviderError::new(
            kind,
            None,
            format!("WhatsApp Cloud API failed (HTTP {http_status}); the message was not sent"),
        );
    };
    let subcode = err["error_subcode"].as_i64();
    let meta_message = err["message"].as_str().unwrap_or("").trim();
    let details = err["error_data"]["details"]
        .as_str()
        .map(str::trim)
        .filter(|d| !d.is_empty() && *d != meta_message);
    let with_details = |text: &str| match details {
        Some(d) => format!("{text} ({d})"),
        None => text.to_string(),
    };
    use ProviderErrorKind::*;
    let (kind, text): (ProviderErrorKind, String) = match code {
        190 => (
            Credentials,
            "the device's access token has expired or was revoked: generate a new permanent token and add the device again".into(),
        ),
        10 | 200..=299 => (
            Credentials,
            "the access token is not allowed to send from this phone number: check the device's phoneNumberId and the token's whatsapp_business_messaging permission".into(),
        ),
        100 if subcode == Some(33) => (
            Credentials,
            "the device's phoneNumberId does not exist or the token cannot use it".into(),
        ),
        131030 => (
            Refused,
            "Recipient phone number not in allowed list: add it as a test number in Meta's API Setup, or move your number to production".into(),
        ),
        131047 => (
            Refused,
            "more than 24 hours have passed since the recipient last wrote: only an approved template can be sent now (the \"template\" field)".into(),
        ),
        132000..=132999 => (
            Refused,
            with_details(&format!(
                "template problem: {}: check that the template exists and is approved in this language and that \"components\" matches its parameters",
                if meta_message.is_empty() { "the template was rejected" } else { meta_message }
            )),
        ),
        130429 => (
            RateLimited { retry_after: 1 },
            "the phone number's throughput limit was reached (about 80 messages per second by default): retry shortly".into(),
        ),
        131056 => (
            RateLimited { retry_after: 6 },
            "too many messages to this recipient in a short time: wait a few seconds before writing to them again".into(),
        ),
        131048 => (
            RateLimited { retry_after: 60 },
            "the number is rate-limited for spam: slow down and check your message quality in WhatsApp Manager".into(),
        ),
        131026 => (
            Refused,
            "message undeliverable: the recipient may not use WhatsApp or may need to accept its latest terms".into(),
        ),
        131052 | 131053 => (
            Refused,
            with_details("WhatsApp could not download or process the media at \"url\""),
        ),
        1 | 2 | 131000 | 131016 => (
            Unavailable,
            with_details("WhatsApp Cloud API had an internal error; the message was not sent, try again"),
        ),
        4 | 80007 => (
            RateLimited { retry_after: 60 },
            "the WhatsApp Business Account's API rate limit was reached: retry later".into(),
        ),
        _ if http_status >= 500 => (
            Unavailable,
            with_details(if meta_message.is_empty() { "WhatsApp Cloud API failed" } else { meta_message }),
        ),
        _ => (
            Refused,
            with_details(if meta_message.is_empty() { "the message was rejected" } else { meta_message }),
        ),
    };
    let verb = match kind {
        Unavailable => "failed",
        _ => "refused the message",
    };
    ProviderError::new(
        kind,
        Some(code),
        format!("WhatsApp Cloud API {verb} (#{code}): {text}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::messages::TemplateSpec;

    #[test]
    fn text_body_is_metas() {
        assert_eq!(
            request_body("923001234567", &Content::Text { body: "Hi".into() }),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"923001234567","type":"text","text":{"preview_url":false,"body":"Hi"}})
        );
    }

    #[test]
    fn media_bodies_are_metas() {
        let media = |kind, caption: Option<&str>, file: Option<&str>| {
            request_body(
                "1234567",
                &Content::Media {
                    kind,
                    link: "https://cdn.example/f".into(),
                    caption: caption.map(String::from),
                    file_name: file.map(String::from),
                },
            )
        };
        assert_eq!(
            media(MediaKind::Image, Some("c"), None),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"1234567","type":"image","image":{"link":"https://cdn.example/f","caption":"c"}})
        );
        assert_eq!(
            media(MediaKind::Document, Some("c"), Some("a.pdf"))["document"],
            json!({"link":"https://cdn.example/f","caption":"c","filename":"a.pdf"})
        );
        assert_eq!(
            media(MediaKind::Audio, Some("no"), Some("no"))["audio"],
            json!({"link":"https://cdn.example/f"}),
            "no caption or filename on audio"
        );
        assert_eq!(
            media(MediaKind::Video, None, Some("x.mp4"))["video"],
            json!({"link":"https://cdn.example/f"}),
            "filename only on documents"
        );
    }

    #[test]
    fn template_body_is_metas() {
        let t = TemplateSpec {
            name: "order_update".into(),
            language: "en_US".into(),
            components: Some(vec![
                json!({"type":"body","parameters":[{"type":"text","text":"42"}]}),
            ]),
            variables: None,
        };
        assert_eq!(
            request_body("1234567", &Content::Template(t)),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"1234567","type":"template",
                   "template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"42"}]}]}})
        );
    }

    #[test]
    fn success_answers() {
        let ok = br#"{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"wamid.HBgM"}]}"#;
        assert_eq!(
            accepted(ok).map(|a| a.wa_message_id),
            Some("wamid.HBgM".into())
        );
        assert_eq!(accepted(b"{}"), None);
        assert_eq!(accepted(b"not json"), None);
    }

    fn meta_error(code: i64, message: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "details here"}, "fbtrace_id": "Az8"}}))
        .unwrap_or_default()
    }

    #[test]
    fn meta_errors_become_clear_messages() {
        let e = map_error(
            400,
            &meta_error(131030, "Recipient phone number not in allowed list"),
        );
        assert_eq!(e.kind, ProviderErrorKind::Refused);
        assert_eq!(e.code, Some(131030));
        assert_eq!(e.http_status(), 422);
        assert!(e.message.starts_with("WhatsApp Cloud API refused the message (#131030): Recipient phone number not in allowed list"), "{}", e.message);

        let e = map_error(400, &meta_error(131047, "Re-engagement message"));
        assert!(
            e.message.contains("only an approved template"),
            "{}",
            e.message
        );

        let e = map_error(
            404,
            &meta_error(
                132000,
                "Number of parameters does not match the expected number of params",
            ),
        );
        assert_eq!(e.kind, ProviderErrorKind::Refused);
        assert!(
            e.message
                .contains("(#132000): template problem: Number of parameters"),
            "{}",
            e.message
        );
        assert!(e.message.contains("(details here)"), "{}", e.message);

        let e = map_error(400, &meta_error(130429, "Rate limit hit"));
        assert_eq!(
            (e.kind, e.http_status(), e.retry_after()),
            (
                ProviderErrorKind::RateLimited { retry_after: 1 },
                429,
                Some(1)
            )
        );
        let e = map_error(400, &meta_error(131056, "pair rate limit"));
        assert_eq!(e.retry_after(), Some(6));
        assert!(e.message.contains("(#131056)"));

        let e = map_error(401, &meta_error(190, "Error validating access token"));
        assert_eq!(
            (e.kind, e.http_status()),
            (ProviderErrorKind::Credentials, 502)
        );
        assert!(
            e.message.contains("access token has expired"),
            "{}",
            e.message
        );

        let e = map_error(503, b"<html>oops</html>");
        assert_eq!(
            (e.kind, e.code, e.http_status()),
            (ProviderErrorKind::Unavailable, None, 502)
        );
        assert!(e.certainly_not_sent());

        let e = map_error(400, &meta_error(100, "Invalid parameter"));
        assert_eq!(e.kind, ProviderErrorKind::Refused);
        assert!(
            e.message.contains("Invalid parameter (details here)"),
            "{}",
            e.message
        );
    }
}
