//! `POST /api/public/v1/send` and `/send-media`: a request validated into a send.

use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use wati_shared::adapters::providers::Content;
use wati_shared::domain::analytics::CountsAs;
use wati_shared::domain::messages::TemplateSpec;
use wati_shared::domain::phone::Phone;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::sends::{
    answer, device_id, idempotency, media, text_or_template, MediaFields,
};
pub use wati_shared::http::sends::{SendFailure, SendResponse};
use wati_shared::http::ApiError;
use wati_shared::http::{parse_json, required, ApiBody};
use wati_shared::services::phones;
use wati_shared::services::sending::{self, ConsentCheck, SendRequest};
use wati_shared::store::api_keys::Principal;
use wati_shared::store::messages::MessageSource;
use wati_shared::AppState;

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
    let to = recipient(&state, &caller, &req.to).await?;
    let (content, text) = text_or_template("message", &req.message, req.template.as_ref())?;
    let mut request = direct(to, content, text, &req.device_id)?;
    request.idempotency = idempotency(&headers, "send", &body)?;
    Ok(answer(sending::send_by(&state, &caller, request).await?))
}

/// The recipient a send names, read by the tenant's phone rules.
async fn recipient(state: &AppState, caller: &Principal, to: &Option<String>) -> ApiResult<Phone> {
    let raw_to = required("to", to)?;
    phones::rules(state, &caller.tenant_id)
        .await?
        .parse("to", raw_to)
        .map_err(ApiError::bad_request)
}

/// A direct send through the public API (refused to an opted-out recipient, counted as a
/// message); no media check and no `Idempotency-Key` until the caller adds them.
fn direct(
    to: Phone,
    content: Content,
    text: Option<String>,
    device: &Option<String>,
) -> ApiResult<SendRequest> {
    Ok(SendRequest {
        to,
        content,
        text,
        device_id: device_id(device)?,
        media_check: None,
        idempotency: None,
        source: MessageSource::Api,
        consent: ConsentCheck::Direct,
        counts_as: CountsAs::Message,
    })
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
    let to = recipient(&state, &caller, &req.to).await?;
    let (content, caption, check) = media(
        &state,
        MediaFields {
            kind: req.kind.as_deref(),
            url: &req.url,
            caption: req.caption.as_deref(),
            file_name: req.file_name.as_deref(),
            mimetype: req.mimetype.as_deref(),
        },
    )?;
    let mut request = direct(to, content, caption, &req.device_id)?;
    request.media_check = Some(check);
    request.idempotency = idempotency(&headers, "send-media", &body)?;
    Ok(answer(sending::send_by(&state, &caller, request).await?))
}
