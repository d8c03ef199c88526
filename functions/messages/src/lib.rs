//! The spec's messaging endpoints: `POST /api/public/v1/send`, `POST /api/public/v1/send-media`
//! and `GET /api/public/v1/messages/{id}`. Handlers validate and hand over to
//! [`wati_shared::services::sending::send`]; every route needs a tenant API key.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::adapters::providers::Content;
use wati_shared::domain::media::{
    file_name, file_name_from_path, is_mimetype, normalize_mimetype, MediaKind,
};
use wati_shared::domain::messages::{
    self as rules, idempotency_key, idempotency_key_hash, request_fingerprint, MessageStatus,
    TemplateSpec,
};
use wati_shared::http::auth::Caller;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::parse_json;
use wati_shared::http::ApiError;
use wati_shared::http::{guarded, Access};
use wati_shared::services::sending::{self, Idempotency, MediaCheck, SendReply, SendRequest};
use wati_shared::store::messages::{Direction, Message, MessageKind, MessageSource};
use wati_shared::AppState;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const MAX_URL_LEN: usize = 2048;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(send_media))
        .routes(routes!(get_message))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    guarded(routes(), Access::PublicApi, state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTextRequest {
    /// Required. E.164 (`+923001234567`) or local digits; normalised to digits.
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

/// A send the provider refused: recorded as `failed`, with its id.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendFailure {
    #[schema(
        example = "WhatsApp Cloud API refused the message (#131030): Recipient phone number not in allowed list: add it as a test number in Meta's API Setup, or move your number to production"
    )]
    pub error: String,
    /// Our id of the (failed) message.
    pub id: String,
    #[schema(example = "failed")]
    pub status: MessageStatus,
    /// The provider's error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 131030)]
    pub code: Option<i64>,
}

fn required<'a>(field: &str, v: &'a Option<String>) -> ApiResult<&'a str> {
    v.as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("\"{field}\" is required")))
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request(message)
}

/// The `Idempotency-Key` of a request (with the body it must match), if it has one.
fn idempotency(headers: &HeaderMap, endpoint: &str, body: &[u8]) -> ApiResult<Option<Idempotency>> {
    let Some(value) = headers.get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| bad("\"Idempotency-Key\" must be visible ASCII characters".into()))
        .and_then(|v| idempotency_key(v).map_err(bad))?;
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("Request body is not valid JSON: {e}")))?;
    Ok(Some(Idempotency {
        key_hash: idempotency_key_hash(key),
        fingerprint: request_fingerprint(endpoint, &json),
    }))
}

fn device_id(v: &Option<String>) -> ApiResult<Option<String>> {
    v.as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| rules::device_id(d).map_err(bad))
        .transpose()
}

/// The HTTP answer for a send's outcome.
fn answer(reply: SendReply) -> Response {
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
            let mut res = (
                status,
                Json(SendFailure {
                    error: failed.error,
                    id: failed.id,
                    status: MessageStatus::Failed,
                    code: failed.code,
                }),
            )
                .into_response();
            if let Some(secs) = failed.retry_after {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            res
        }
    };
    if reply.replayed {
        res.headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    res
}

/// Send a WhatsApp text message from one of your connected devices.
///
/// With an `Idempotency-Key` header, a retry within 24 hours answers the first response
/// and sends nothing again; the same key with a different body is a 422.
#[utoipa::path(post, path = "/api/public/v1/send", tag = "messages",
    request_body = SendTextRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 visible ASCII characters")),
    security(("apiKey" = [])),
    responses(
        (status = 200, body = SendResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "deviceId not found", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = ErrorBody),
        (status = 422, description = "The provider refused the message (recorded as failed), no connected device, or an Idempotency-Key reused with another body", body = SendFailure),
        (status = 429, description = "Rate limited (this API key, or the provider for this recipient)", body = SendFailure),
        (status = 502, description = "The provider failed or rejected the device's credentials", body = SendFailure),
        (status = 504, description = "The provider did not answer in time", body = SendFailure)))]
async fn send(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let req: SendTextRequest = parse_json(&body)?;
    let to = wati_shared::domain::phone::normalize("to", required("to", &req.to)?).map_err(bad)?;
    let (content, text) = match &req.template {
        Some(t) => {
            let t = rules::template(t).map_err(bad)?;
            let text = req
                .message
                .as_deref()
                .map(|m| rules::message_text("message", m).map_err(bad))
                .transpose()?;
            (Content::Template(t), text)
        }
        None => {
            let text =
                rules::message_text("message", required("message", &req.message)?).map_err(bad)?;
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
    };
    Ok(answer(
        sending::send(&state, &(&caller).into(), request).await?,
    ))
}

/// Send an image, video, audio or document from a public HTTPS URL.
///
/// The URL is checked first (HTTPS, public address, reachable, within the size limit, a
/// type WhatsApp accepts); the file is never downloaded by the API itself.
#[utoipa::path(post, path = "/api/public/v1/send-media", tag = "messages",
    request_body = SendMediaRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 visible ASCII characters")),
    security(("apiKey" = [])),
    responses(
        (status = 200, body = SendResponse),
        (status = 400, description = "Invalid input, or a media URL that fails a check", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "deviceId not found", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is in progress", body = ErrorBody),
        (status = 422, description = "The provider refused the message (recorded as failed)", body = SendFailure),
        (status = 429, body = SendFailure), (status = 502, body = SendFailure),
        (status = 504, body = SendFailure)))]
async fn send_media(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let req: SendMediaRequest = parse_json(&body)?;
    let to = wati_shared::domain::phone::normalize("to", required("to", &req.to)?).map_err(bad)?;
    let kinds = "image, video, audio or document";
    let kind = match req.kind.as_deref() {
        None => return Err(bad(format!("\"type\" is required: {kinds}"))),
        Some(k) => {
            MediaKind::parse(k.trim()).ok_or_else(|| bad(format!("\"type\" must be {kinds}")))?
        }
    };
    let raw_url = required("url", &req.url)?.trim();
    if raw_url.len() > MAX_URL_LEN {
        return Err(bad(format!(
            "\"url\" must be at most {MAX_URL_LEN} characters"
        )));
    }
    let url = reqwest::Url::parse(raw_url)
        .map_err(|_| bad("\"url\" must be a valid https:// URL".into()))?;
    let http_allowed = state.media.policy().allow_loopback;
    if !(url.scheme() == "https" || (url.scheme() == "http" && http_allowed)) {
        return Err(bad("\"url\" must be an https:// URL".into()));
    }
    let caption = rules::caption(req.caption.as_deref()).map_err(bad)?;
    if caption.is_some() && !kind.allows_caption() {
        return Err(bad("\"caption\" is not supported for audio messages".into()));
    }
    let declared_mimetype = match req.mimetype.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => {
            let m = normalize_mimetype(m);
            if !is_mimetype(&m) || !kind.accepts(&m) {
                return Err(bad(format!(
                    "\"mimetype\" must be one WhatsApp accepts for {kind} messages: {}",
                    kind.accepted_mimetypes().join(", ")
                )));
            }
            Some(m)
        }
    };
    let file_name = match (kind, req.file_name.as_deref()) {
        (MediaKind::Document, Some(f)) => Some(file_name(f).map_err(bad)?),
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
    };
    Ok(answer(
        sending::send(&state, &(&caller).into(), request).await?,
    ))
}

/// A message as the spec's lookup shows it (snake_case).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    #[schema(example = "01974f6a-9b7c-7d0e-8c2a-3f1b2c4d5e6f")]
    pub id: String,
    /// WhatsApp's id; null until the provider accepted the message.
    #[schema(example = "wamid.HBgMOTIzMDAxMjM0NTY3FQIAERgSQ0E2")]
    pub message_id: Option<String>,
    pub direction: Direction,
    #[schema(example = "923001234567")]
    pub peer: String,
    /// The text, or a media message's caption.
    #[schema(example = "Hello from WATI")]
    pub text: Option<String>,
    pub status: MessageStatus,
    #[schema(example = "2026-06-10T12:34:56Z")]
    pub created_at: String,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// Why the message failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        let template = match (m.template_name, m.template_language) {
            (Some(name), Some(language)) => Some(TemplateRef { name, language }),
            _ => None,
        };
        MessageView {
            id: m.id,
            message_id: m.wa_message_id,
            direction: m.direction,
            peer: m.peer,
            text: m.text,
            status: m.status,
            created_at: m.created_at,
            kind: m.kind,
            device_id: m.device_id,
            media_url: m.media_url,
            mimetype: m.media_mimetype,
            file_name: m.media_file_name,
            template,
            error: m.error,
            error_code: m.error_code,
            updated_at: m.updated_at,
            sent_at: m.sent_at,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
            failed_at: m.failed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageEnvelope {
    pub message: MessageView,
}

/// Look up a message by our id (from `/send`) or by WhatsApp's `messageId`.
#[utoipa::path(get, path = "/api/public/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "Our message id (UUID) or WhatsApp's messageId")),
    security(("apiKey" = [])),
    responses((status = 200, body = MessageEnvelope), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MessageEnvelope>> {
    let not_found = || ApiError::not_found("Message not found");
    let id = id.trim();
    let found = if let Ok(uuid) = uuid::Uuid::parse_str(id) {
        state
            .store
            .get_message(&caller.tenant_id, &uuid.hyphenated().to_string())
            .await?
    } else if !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| b.is_ascii_graphic()) {
        state
            .store
            .find_message_by_wamid(&caller.tenant_id, id)
            .await?
    } else {
        None
    };
    let message = found.ok_or_else(not_found)?;
    Ok(Json(MessageEnvelope {
        message: message.into(),
    }))
}
