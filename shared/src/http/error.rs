//! The one error type handlers return. It becomes `{"error": "…"}` with the right status;
//! internal details are logged, never returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(example = "Invalid API key")]
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

/// One constructor per status that takes only a message.
macro_rules! with_status {
    ($($name:ident => $status:ident,)*) => {
        $(pub fn $name(m: impl Into<String>) -> Self {
            Self::new(StatusCode::$status, m)
        })*
    };
}

impl ApiError {
    with_status! {
        bad_request => BAD_REQUEST,
        unauthorized => UNAUTHORIZED,
        forbidden => FORBIDDEN,
        not_found => NOT_FOUND,
        conflict => CONFLICT,
        unprocessable => UNPROCESSABLE_ENTITY,
        unavailable => SERVICE_UNAVAILABLE,
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn too_many_requests(m: impl Into<String>, retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, m)
        }
    }
    /// A failure that is ours, not the client's: logged in full, answered with a generic 500.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
        };
        json_with_retry_after(self.status, body, self.retry_after)
    }
}

/// `body` as JSON with `status`, and a `Retry-After` header when there is a wait to tell.
pub fn json_with_retry_after(
    status: StatusCode,
    body: impl Serialize,
    retry_after: Option<u64>,
) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::BadCursor => ApiError::bad_request("Invalid \"cursor\""),
            e => ApiError::internal(e),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<crate::services::auth::AuthError> for ApiError {
    fn from(e: crate::services::auth::AuthError) -> Self {
        use crate::services::auth::AuthError as E;
        let m = e.to_string();
        match e {
            E::BadInput(_) => ApiError::bad_request(m),
            E::InvalidCredentials
            | E::InvalidToken(_)
            | E::RefreshReused
            | E::SessionEnded
            | E::NotAMember(_) => ApiError::unauthorized(m),
            E::LockedOut { retry_after } => ApiError::too_many_requests(m, retry_after),
            E::Suspended | E::NotSuperAdmin => ApiError::forbidden(m),
            E::NotFound(_) => ApiError::not_found(m),
            E::Store(e) => e.into(),
            E::Key(e) => ApiError::internal(e),
            E::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<crate::services::sending::device::DeviceError> for ApiError {
    fn from(e: crate::services::sending::device::DeviceError) -> Self {
        use crate::services::sending::device::DeviceError as E;
        let message = e.to_string();
        match e {
            E::NotFound(_) => ApiError::not_found(message),
            E::NotConnected(_) | E::NoneConnected => ApiError::unprocessable(message),
            E::SessionNotConnected { .. } => ApiError::conflict(message),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::sending::SendError> for ApiError {
    fn from(e: crate::services::sending::SendError) -> Self {
        use crate::services::sending::SendError as E;
        let message = e.to_string();
        match e {
            E::IdempotencyKeyReused => ApiError::unprocessable(message),
            E::IdempotencyInProgress(_) | E::IdempotencyOutcomeUnknown(_) | E::DailyLimit(_) => {
                ApiError::conflict(message)
            }
            E::Device(e) => e.into(),
            E::BadMedia(_) | E::TemplateOnWhatsappWeb(_) => ApiError::bad_request(message),
            E::OptedOut(_) => ApiError::unprocessable(message),
            E::Template(r) => r.into(),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::templates::TemplateRefusal> for ApiError {
    fn from(e: crate::services::templates::TemplateRefusal) -> Self {
        use crate::services::templates::TemplateRefusal as E;
        let message = e.to_string();
        match e {
            E::Variables(_) => ApiError::bad_request(message),
            E::Unknown { .. } | E::NotApproved { .. } => ApiError::unprocessable(message),
        }
    }
}

impl From<crate::services::templates::TemplateError> for ApiError {
    fn from(e: crate::services::templates::TemplateError) -> Self {
        use crate::adapters::providers::ProviderErrorKind as K;
        use crate::services::templates::TemplateError as E;
        let message = e.to_string();
        match e {
            E::DeviceNotFound | E::NotFound => ApiError::not_found(message),
            E::NotCloudApi(_) | E::Invalid(_) => ApiError::bad_request(message),
            E::Provider(p) => match p.kind {
                K::Refused => ApiError::unprocessable(message),
                K::Timeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, message),
                K::RateLimited { retry_after } => ApiError::too_many_requests(message, retry_after),
                K::Credentials | K::Unavailable => ApiError::new(StatusCode::BAD_GATEWAY, message),
            },
            E::Store(e) => e.into(),
            E::Event(e) => e.into(),
        }
    }
}

impl From<crate::services::media::MediaError> for ApiError {
    fn from(e: crate::services::media::MediaError) -> Self {
        use crate::services::media::MediaError as E;
        let message = e.to_string();
        match e {
            E::NotFound => ApiError::not_found(message),
            E::LinkInvalid | E::LinkExpired => ApiError::forbidden(message),
            E::Store(e) => e.into(),
            E::NotConfigured | E::Key(_) | E::S3(_) => ApiError::internal(message),
        }
    }
}

impl From<crate::services::gateway::GatewayError> for ApiError {
    fn from(e: crate::services::gateway::GatewayError) -> Self {
        use crate::adapters::providers::ProviderErrorKind as K;
        use crate::services::gateway::GatewayError as E;
        let message = e.to_string();
        match e {
            E::NotConfigured | E::BadGatewayUrl(_) | E::NotWhatsappWeb(_) => {
                ApiError::bad_request(message)
            }
            E::AlreadyConnected(_) => ApiError::conflict(message),
            E::Gateway(p) => match p.kind {
                K::Timeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, message),
                K::Refused => ApiError::conflict(message),
                _ => ApiError::new(StatusCode::BAD_GATEWAY, message),
            },
            E::Store(e) => e.into(),
            E::Secrets(_) | E::Random(_) => ApiError::internal(message),
        }
    }
}

impl From<crate::services::gateway::webhook::GatewayWebhookError> for ApiError {
    fn from(e: crate::services::gateway::webhook::GatewayWebhookError) -> Self {
        use crate::services::gateway::webhook::GatewayWebhookError as E;
        let message = e.to_string();
        match e {
            E::UnknownDevice => ApiError::not_found(message),
            E::MissingSignature | E::InvalidSignature => ApiError::unauthorized(message),
            E::NotEnvelope(_) => ApiError::bad_request(message),
            E::Lid => ApiError::unavailable(message),
            E::Store(e) => e.into(),
            E::Secrets(_) | E::Enqueue(_) | E::Publish(_) => ApiError::internal(message),
        }
    }
}

impl From<crate::services::analytics::AnalyticsError> for ApiError {
    fn from(e: crate::services::analytics::AnalyticsError) -> Self {
        use crate::services::analytics::AnalyticsError as E;
        match e {
            E::BadParameter(m) => ApiError::bad_request(m),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::campaigns::CampaignError> for ApiError {
    fn from(e: crate::services::campaigns::CampaignError) -> Self {
        match e {
            crate::services::campaigns::CampaignError::Store(s) => s.into(),
            e => ApiError::internal(e),
        }
    }
}

impl From<crate::services::campaigns::CreateError> for ApiError {
    fn from(e: crate::services::campaigns::CreateError) -> Self {
        use crate::services::campaigns::CreateError as E;
        let message = e.to_string();
        match e {
            E::Invalid(_) => ApiError::bad_request(message),
            E::ContactListNotFound(_) => ApiError::not_found(message),
            E::Device(e) => e.into(),
            E::TemplateOnWhatsappWeb(_) => ApiError::bad_request(message),
            E::Template(r) => r.into(),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::contact_jobs::ImportError> for ApiError {
    fn from(e: crate::services::contact_jobs::ImportError) -> Self {
        use crate::services::contact_jobs::ImportError as E;
        let message = e.to_string();
        match e {
            E::Invalid(_) => ApiError::bad_request(message),
            E::ListNotFound(_) => ApiError::not_found(message),
            E::Store(e) => e.into(),
            E::NoQueue | E::NoBucket | E::Queue(_) => ApiError::internal(e),
        }
    }
}

impl From<crate::services::events::PublishError> for ApiError {
    fn from(e: crate::services::events::PublishError) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::services::inbox::InboxError> for ApiError {
    fn from(e: crate::services::inbox::InboxError) -> Self {
        use crate::services::inbox::InboxError as E;
        let message = e.to_string();
        match e {
            E::NotFound | E::CannedNotFound => ApiError::not_found(message),
            E::Invalid(_) | E::NotMember(_) => ApiError::bad_request(message),
            E::AssignConflict { .. } | E::ShortcutTaken(_) | E::TooManyCanned | E::Busy => {
                ApiError::conflict(message)
            }
            E::Send(e) => e.into(),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::inbound::EnqueueError> for ApiError {
    fn from(e: crate::services::inbound::EnqueueError) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::services::inbound::webhook::VerifyError> for ApiError {
    fn from(e: crate::services::inbound::webhook::VerifyError) -> Self {
        use crate::services::inbound::webhook::VerifyError as E;
        match e {
            E::UnknownToken => ApiError::forbidden(e.to_string()),
            E::Secrets(e) => ApiError::internal(e),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::services::inbound::webhook::WebhookError> for ApiError {
    fn from(e: crate::services::inbound::webhook::WebhookError) -> Self {
        use crate::services::inbound::webhook::WebhookError as E;
        let message = e.to_string();
        match e {
            E::MissingSignature | E::MalformedSignature => ApiError::unauthorized(message),
            E::NotEnvelope(_) => ApiError::bad_request(message),
            E::UnknownAccount | E::UnknownPhoneNumber(_) | E::InvalidSignature => {
                ApiError::forbidden(message)
            }
            E::Secrets(e) => ApiError::internal(e),
            E::Templates(e) => ApiError::internal(e),
            E::Store(e) => e.into(),
            E::Enqueue(e) => e.into(),
        }
    }
}

impl From<crate::services::inbound::webhook::SandboxError> for ApiError {
    fn from(e: crate::services::inbound::webhook::SandboxError) -> Self {
        use crate::services::inbound::webhook::SandboxError as E;
        let message = e.to_string();
        match e {
            E::DeviceNotFound(_) => ApiError::not_found(message),
            E::NotSandbox(_) | E::NotConnected(_) => ApiError::unprocessable(message),
            E::Store(e) => e.into(),
            E::Enqueue(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::inbound::webhook::{SandboxError, VerifyError, WebhookError};

    fn answer(e: impl Into<ApiError>) -> (u16, String) {
        let e = e.into();
        (e.status.as_u16(), e.message)
    }

    #[test]
    fn inbound_errors_keep_the_entry_points_statuses_and_messages() {
        assert_eq!(
            answer(WebhookError::MissingSignature),
            (
                401,
                "Missing X-Hub-Signature-256 header: Meta signs every webhook".into()
            )
        );
        assert_eq!(
            answer(WebhookError::MalformedSignature).0,
            401,
            "a malformed signature is an unauthenticated call"
        );
        assert_eq!(
            answer(WebhookError::NotEnvelope("\"object\" must be ...".into())),
            (400, "\"object\" must be ...".into())
        );
        assert_eq!(
            answer(WebhookError::UnknownAccount),
            (403, "Unknown account".into())
        );
        assert_eq!(
            answer(WebhookError::UnknownPhoneNumber("123".into())),
            (
                403,
                "No Cloud API device of this account has phone_number_id 123".into()
            )
        );
        assert_eq!(
            answer(WebhookError::InvalidSignature),
            (
                403,
                "Invalid signature: the webhook is not signed with the device's App Secret".into()
            )
        );
        assert_eq!(answer(VerifyError::UnknownToken).0, 403);
        assert_eq!(
            answer(SandboxError::DeviceNotFound("d1".into())),
            (404, "\"deviceId\": device d1 not found".into())
        );
        assert_eq!(
            answer(SandboxError::NotConnected("d1".into())),
            (422, "\"deviceId\": device d1 is not connected".into())
        );
        assert_eq!(answer(SandboxError::NotSandbox("d1".into())).0, 422);
    }

    #[test]
    fn a_failure_to_queue_is_an_internal_error_without_its_detail() {
        let e = crate::services::inbound::EnqueueError::Queue("sqs said no".into());
        assert_eq!(
            answer(WebhookError::Enqueue(e)),
            (500, "Internal server error".into())
        );
    }
}
