//! What a send request's headers ask for (`Idempotency-Key`, `deviceId`), and how a send's
//! outcome is answered (status, body, `Retry-After`, `Idempotent-Replayed`).

use super::*;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use wati_shared::domain::messages::{
    self as rules, idempotency_key, idempotency_key_hash, request_fingerprint, MessageStatus,
};
use wati_shared::http::error::{json_with_retry_after, ApiResult};
use wati_shared::http::{parse_json, ApiError};
use wati_shared::services::sending::{Idempotency, SendReply};

/// The `Idempotency-Key` of a request (with the body it must match), if it has one.
pub(crate) fn idempotency(
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

pub(crate) fn device_id(v: &Option<String>) -> ApiResult<Option<String>> {
    v.as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| rules::device_id(d).map_err(ApiError::bad_request))
        .transpose()
}

/// The HTTP answer for a send's outcome.
pub(crate) fn answer(reply: SendReply) -> Response {
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
