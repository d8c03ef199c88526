//! `GET /api/public/v1/messages/{id}`: one message as the spec's lookup shows it.

use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use wati_shared::domain::messages::MessageKind;
use wati_shared::domain::messages::MessageStatus;
use wati_shared::domain::time;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{public_base_url, ApiPath};
use wati_shared::services::media;
use wati_shared::store::messages::{Direction, Message};

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
    #[serde(with = "time::secs")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "type")]
    pub kind: MessageKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// An inbound media: our signed link (works without a credential until it expires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    /// Why an inbound media could not be kept (then there is no `media_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
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
    #[serde(with = "time::secs")]
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub read_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::secs_opt")]
    pub failed_at: Option<DateTime<Utc>>,
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
            media_url: if m.media_error.is_some() {
                None
            } else {
                m.media_url
            },
            media_error: m.media_error,
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

wati_shared::envelope!(MessageEnvelope, message: MessageView);

/// Look up a message by our id (from `/send`) or by WhatsApp's `messageId`.
#[utoipa::path(get, path = "/api/public/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "Our message id (UUID) or WhatsApp's messageId")),
    responses((status = 200, body = MessageEnvelope),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn get_message(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
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
    let base = public_base_url(&state, &headers);
    let signed = media::kept_link(&state, &message, base.as_deref()).await?;
    let mut view = MessageView::from(message);
    if signed.is_some() {
        view.media_url = signed;
    }
    Ok(Json(MessageEnvelope { message: view }))
}
