//! What the send endpoints and the inbox's replies share: a request's `Idempotency-Key`
//! and `deviceId`, a text-or-template and a media body checked into provider content, and
//! how a send's outcome is answered (status, body, `Retry-After`, `Idempotent-Replayed`).

use crate::adapters::providers::Content;
use crate::domain::media::{
    file_name, file_name_from_path, is_mimetype, normalize_mimetype, MediaKind,
};
use crate::domain::messages::{
    self as rules, idempotency_key, idempotency_key_hash, request_fingerprint, MessageStatus,
    TemplateSpec,
};
use crate::domain::url_guard::MAX_URL_LEN;
use crate::http::error::{json_with_retry_after, ApiResult};
use crate::http::{parse_json, required, ApiError};
use crate::runtime::state::AppState;
use crate::services::sending::{Idempotency, MediaCheck, SendReply};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

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

/// A text (`message`, required) or a template (with an optional recorded `message`).
pub fn text_or_template(
    field: &str,
    message: &Option<String>,
    template: Option<&TemplateSpec>,
) -> ApiResult<(Content, Option<String>)> {
    Ok(match template {
        Some(t) => {
            let t = rules::template(t).map_err(ApiError::bad_request)?;
            let text = message
                .as_deref()
                .map(|m| rules::message_text(field, m).map_err(ApiError::bad_request))
                .transpose()?;
            (Content::Template(t), text)
        }
        None => {
            let text = rules::message_text(field, required(field, message)?)
                .map_err(ApiError::bad_request)?;
            (Content::Text { body: text.clone() }, Some(text))
        }
    })
}

/// A media body as a client sent it.
pub struct MediaFields<'a> {
    pub kind: Option<&'a str>,
    pub url: &'a Option<String>,
    pub caption: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub mimetype: Option<&'a str>,
}

/// A media body checked: the content, its caption (the recorded text) and the check the
/// URL must pass before anything is sent.
pub fn media(
    state: &AppState,
    req: MediaFields<'_>,
) -> ApiResult<(Content, Option<String>, MediaCheck)> {
    let kinds = "image, video, audio or document";
    let kind = match req.kind {
        None => {
            return Err(ApiError::bad_request(format!(
                "\"type\" is required: {kinds}"
            )))
        }
        Some(k) => MediaKind::parse(k.trim())
            .ok_or_else(|| ApiError::bad_request(format!("\"type\" must be {kinds}")))?,
    };
    let raw_url = required("url", req.url)?.trim();
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
    let caption = rules::caption(req.caption).map_err(ApiError::bad_request)?;
    if caption.is_some() && !kind.allows_caption() {
        return Err(ApiError::bad_request(
            "\"caption\" is not supported for audio messages",
        ));
    }
    let declared_mimetype = match req.mimetype.map(str::trim) {
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
    let file_name = match (kind, req.file_name) {
        (MediaKind::Document, Some(f)) => Some(file_name(f).map_err(ApiError::bad_request)?),
        (MediaKind::Document, None) => file_name_from_path(url.path()),
        _ => None,
    };
    Ok((
        Content::Media {
            kind,
            link: url.to_string(),
            caption: caption.clone(),
            file_name,
        },
        caption,
        MediaCheck {
            kind,
            url,
            declared_mimetype,
        },
    ))
}

/// The `Idempotency-Key` of a request (with the body it must match), if it has one.
pub fn idempotency(
    headers: &HeaderMap,
    endpoint: &str,
    body: &[u8],
) -> ApiResult<Option<Idempotency>> {
    let Some(value) = headers.get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::bad_request("\"Idempotency-Key\" must be visible ASCII characters"))
        .and_then(|v| idempotency_key(v).map_err(ApiError::bad_request))?;
    let json: serde_json::Value = parse_json(body)?;
    Ok(Some(Idempotency {
        key_hash: idempotency_key_hash(key),
        fingerprint: request_fingerprint(endpoint, &json),
    }))
}

pub fn device_id(v: &Option<String>) -> ApiResult<Option<String>> {
    v.as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| rules::device_id(d).map_err(ApiError::bad_request))
        .transpose()
}

/// The HTTP answer for a send's outcome.
pub fn answer(reply: SendReply) -> Response {
    let mut res = match reply.outcome {
        Ok(sent) => (
            StatusCode::OK,
            Json(SendResponse {
                ok: true,
                id: sent.id,
                message_id: sent.wa_message_id,
                status: MessageStatus::Sent,
                to: sent.to,
            }),
        )
            .into_response(),
        Err(failed) => {
            let status =
                StatusCode::from_u16(failed.http_status).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = SendFailure {
                error: failed.error,
                id: failed.id,
                status: MessageStatus::Failed,
                code: failed.code,
            };
            json_with_retry_after(status, body, failed.retry_after)
        }
    };
    if reply.replayed {
        res.headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    res
}
