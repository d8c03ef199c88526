//! `POST /api/public/v1/send` and `/send-media`: a request validated into a send.

use crate::reply::{answer, device_id, idempotency};
use axum::http::{HeaderMap, HeaderName};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::adapters::providers::Content;
use wati_shared::domain::analytics::CountsAs;
use wati_shared::domain::media::{
    file_name, file_name_from_path, is_mimetype, normalize_mimetype, MediaKind,
};
use wati_shared::domain::messages::{self as rules, MessageStatus, TemplateSpec};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{parse_json, required, ApiBody};
use wati_shared::services::phones;
use wati_shared::services::sending::{self, ConsentCheck, MediaCheck, SendRequest, Sender};
use wati_shared::store::messages::MessageSource;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTextRequest {
    /// Required. E.164 (`+923001234567`) or local digits; normalised to digits (with the
    /// tenant's `defaultCountryCode`, local numbers by that country's rules).
    #[schema(example = "+923001234567")]
    pub to: Option<String>,
    /// Required unless `template` is given: 1–4096 characters.
    #[schema(example = "Hello from WATI")]
    pub message: Option<String>,
    /// Optional: the device to send from; the first connected device when omitted.
    pub device_id: Option<String>,
    /// Optional, Cloud API: an approved template (first contact, or outside the 24-hour
    /// customer service window).
    pub template: Option<TemplateSpec>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMediaRequest {
    /// Required. E.164 or local digits.
    #[schema(example = "+923001234567")]
    pub to: Option<String>,
    /// Required: `image`, `video`, `audio` or `document`.
    #[serde(rename = "type")]
    #[schema(example = "document")]
    pub kind: Option<String>,
    /// Required: a public HTTPS URL of the file (image 5 MB, video 16 MB, audio 16 MB,
    /// document 100 MB).
    #[schema(example = "https://example.com/files/invoice-2026-001.pdf")]
    pub url: Option<String>,
    /// Optional (image, video, document).
    pub caption: Option<String>,
    /// Recommended for documents (defaults to the URL's file name). Ignored for other types.
    #[schema(example = "invoice-2026-001.pdf")]
    pub file_name: Option<String>,
    /// Optional: detected from the server's Content-Type or the URL's extension.
    #[schema(example = "application/pdf")]
    pub mimetype: Option<String>,
    pub device_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    #[schema(example = true)]
    pub ok: bool,
    /// Our id of the message.
    #[schema(example = "01974f6a-9b7c-7d0e-8c2a-3f1b2c4d5e6f")]
    pub id: String,
    /// WhatsApp's id of the message.
    #[schema(example = "wamid.HBgMOTIzMDAxMjM0NTY3FQIAERgSQ0E2")]
    pub message_id: String,
    #[schema(example = "sent")]
    pub status: MessageStatus,
    #[schema(example = "923001234567")]
    pub to: String,
}

/// A send that failed. When the provider refused it, the message was recorded as `failed` and
/// `id` and `status` say which; a refusal before anything was recorded (no connected device,
/// an `Idempotency-Key` reused with another body, a rate limit) has only `error`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Serialize, ToSchema)]
pub struct SendFailure {
    #[schema(
        example = "WhatsApp Cloud API refused the message (#131030): Recipient phone number not in allowed list: add it as a test number in Meta's API Setup, or move your number to production"
    )]
    pub error: String,
    /// Our id of the (failed) message.
    #[schema(required = false)]
    pub id: String,
    #[schema(example = "failed", required = false)]
    pub status: MessageStatus,
    /// The provider's error code.
    #[schema(example = 131030)]
    pub code: Option<i64>,
}

/// Send a WhatsApp text message from one of your connected devices.
///
/// With an `Idempotency-Key` header, a retry within 24 hours answers the first response
/// and sends nothing again; the same key with a different body is a 422.
#[utoipa::path(post, path = "/api/public/v1/send", tag = "messages",
    request_body = SendTextRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 visible ASCII characters")),
    responses(
        (status = 200, body = SendResponse),
        (status = 400, body = ErrorBody),
        (status = 404, description = "deviceId not found", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = ErrorBody),
        (status = 422, description = "The provider refused the message (recorded as failed), no connected device, or an Idempotency-Key reused with another body", body = SendFailure),
        (status = 429, description = "Rate limited (this API key, or the provider for this recipient)", body = SendFailure),
        (status = 502, description = "The provider failed or rejected the device's credentials", body = SendFailure),
        (status = 504, description = "The provider did not answer in time", body = SendFailure)))]
pub(crate) async fn send(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let req: SendTextRequest = parse_json(&body)?;
    let raw_to = required("to", &req.to)?;
    let to = phones::rules(&state, &caller.tenant_id)
        .await?
        .parse("to", raw_to)
        .map_err(ApiError::bad_request)?;
    let (content, text) = match &req.template {
        Some(t) => {
            let t = rules::template(t).map_err(ApiError::bad_request)?;
            let text = req
                .message
                .as_deref()
                .map(|m| rules::message_text("message", m).map_err(ApiError::bad_request))
                .transpose()?;
            (Content::Template(t), text)
        }
        None => {
            let text = rules::message_text("message", required("message", &req.message)?)
                .map_err(ApiError::bad_request)?;
            (Content::Text { body: text.clone() }, Some(text))
        }
    };
    let request = SendRequest {
        to,
        content,
        text,
        device_id: device_id(&req.device_id)?,
        media_check: None,
        idempotency: idempotency(&headers, "send", &body)?,
        source: MessageSource::Api,
        consent: ConsentCheck::Direct,
        counts_as: CountsAs::Message,
    };
    Ok(answer(
        sending::send(&state, &Sender::from(&caller), request).await?,
    ))
}

/// Send an image, video, audio or document from a public HTTPS URL.
///
/// The URL is checked first (HTTPS, public address, reachable, within the size limit, a
/// type WhatsApp accepts); the file is never downloaded by the API itself.
#[utoipa::path(post, path = "/api/public/v1/send-media", tag = "messages",
    request_body = SendMediaRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 visible ASCII characters")),
    responses(
        (status = 200, body = SendResponse),
        (status = 400, description = "Invalid input, or a media URL that fails a check", body = ErrorBody),
        (status = 404, description = "deviceId not found", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = ErrorBody),
        (status = 422, description = "The provider refused the message (recorded as failed)", body = SendFailure),
        (status = 429, body = SendFailure), (status = 502, body = SendFailure),
        (status = 504, body = SendFailure)))]
pub(crate) async fn send_media(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let req: SendMediaRequest = parse_json(&body)?;
    let raw_to = required("to", &req.to)?;
    let to = phones::rules(&state, &caller.tenant_id)
        .await?
        .parse("to", raw_to)
        .map_err(ApiError::bad_request)?;
    let kinds = "image, video, audio or document";
    let kind = match req.kind.as_deref() {
        None => {
            return Err(ApiError::bad_request(format!(
                "\"type\" is required: {kinds}"
            )))
        }
        Some(k) => MediaKind::parse(k.trim())
            .ok_or_else(|| ApiError::bad_request(format!("\"type\" must be {kinds}")))?,
    };
    let raw_url = required("url", &req.url)?.trim();
    if raw_url.len() > MAX_URL_LEN {
        return Err(ApiError::bad_request(format!(
            "\"url\" must be at most {MAX_URL_LEN} characters"
        )));
    }
    let url = reqwest::Url::parse(raw_url)
        .map_err(|_| ApiError::bad_request("\"url\" must be a valid https:// URL"))?;
    let http_allowed = state.media.policy().allow_loopback;
    if !(url.scheme() == "https" || (url.scheme() == "http" && http_allowed)) {
        return Err(ApiError::bad_request("\"url\" must be an https:// URL"));
    }
    let caption = rules::caption(req.caption.as_deref()).map_err(ApiError::bad_request)?;
    if caption.is_some() && !kind.allows_caption() {
        return Err(ApiError::bad_request(
            "\"caption\" is not supported for audio messages",
        ));
    }
    let declared_mimetype = match req.mimetype.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => {
            let m = normalize_mimetype(m);
            if !is_mimetype(&m) || !kind.accepts(&m) {
                return Err(ApiError::bad_request(format!(
                    "\"mimetype\" must be one WhatsApp accepts for {kind} messages: {}",
                    kind.accepted_mimetypes().join(", ")
                )));
            }
            Some(m)
        }
    };
    let file_name = match (kind, req.file_name.as_deref()) {
        (MediaKind::Document, Some(f)) => Some(file_name(f).map_err(ApiError::bad_request)?),
        (MediaKind::Document, None) => file_name_from_path(url.path()),
        _ => None,
    };
    let request = SendRequest {
        to,
        content: Content::Media {
            kind,
            link: url.to_string(),
            caption: caption.clone(),
            file_name,
        },
        text: caption,
        device_id: device_id(&req.device_id)?,
        media_check: Some(MediaCheck {
            kind,
            url,
            declared_mimetype,
        }),
        idempotency: idempotency(&headers, "send-media", &body)?,
        source: MessageSource::Api,
        consent: ConsentCheck::Direct,
        counts_as: CountsAs::Message,
    };
    Ok(answer(
        sending::send(&state, &Sender::from(&caller), request).await?,
    ))
}
