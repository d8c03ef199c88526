//! A conversation's thread (messages both ways, with statuses, and private notes) and
//! replies: text, media, a template, a canned response, or a note (never sent).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::messages::{MessageKind, MessageStatus, TemplateSpec};
use wati_shared::domain::time;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::sends::{
    answer, idempotency, media, text_or_template, MediaFields, SendFailure, SendResponse,
};
use wati_shared::http::{
    parse_json, public_base_url, ApiBody, ApiError, ApiPath, ApiQuery, PageParams,
};
use wati_shared::services::inbox::{self, Replied, Reply, Viewer};
use wati_shared::services::media::kept_link;
use wati_shared::store::inbox::{Author, Note, ThreadItem};
use wati_shared::store::messages::{Direction, Message};

/// One entry of a conversation's thread.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadEntry {
    pub id: String,
    /// `in` (the customer) or `out`; notes are `out`.
    #[schema(value_type = String, example = "in")]
    pub direction: Direction,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "text")]
    pub kind: Option<MessageKind>,
    pub text: Option<String>,
    /// The message's status (`received`, `sent`, `delivered`, `read`, `failed`…); null for a note.
    #[schema(value_type = Option<String>, example = "delivered")]
    pub status: Option<MessageStatus>,
    /// A note: seen by the team only, never sent.
    pub private: bool,
    /// Who wrote it (a member or an API key); null for the customer and automatic replies.
    pub author: Option<Author>,
    pub media_url: Option<String>,
    pub device_id: Option<String>,
    /// Why a message failed.
    pub error: Option<String>,
    #[schema(value_type = String, example = "2026-06-11T09:12:33Z")]
    #[serde(with = "time::secs")]
    pub at: chrono::DateTime<chrono::Utc>,
}

fn author_of(m: &Message) -> Option<Author> {
    match (&m.user_id, &m.api_key_id) {
        (Some(u), _) => Some(Author {
            kind: "user".into(),
            id: u.clone(),
        }),
        (None, Some(k)) => Some(Author {
            kind: "key".into(),
            id: k.clone(),
        }),
        _ => None,
    }
}

fn note_entry(n: Note) -> ThreadEntry {
    ThreadEntry {
        id: n.id,
        direction: Direction::Out,
        kind: Some(MessageKind::Text),
        text: Some(n.text),
        status: None,
        private: true,
        author: Some(n.author),
        media_url: None,
        device_id: Some(n.device_id),
        error: None,
        at: n.created_at,
    }
}

impl From<ThreadItem> for ThreadEntry {
    fn from(item: ThreadItem) -> Self {
        match item {
            ThreadItem::Note(n) => note_entry(n),
            ThreadItem::Message(m) => ThreadEntry {
                author: author_of(&m),
                id: m.id,
                direction: m.direction,
                kind: Some(m.kind),
                text: m.text,
                status: Some(m.status),
                private: false,
                media_url: m.media_url,
                device_id: m.device_id,
                error: m.error,
                at: m.sent_at.unwrap_or(m.created_at),
            },
        }
    }
}

wati_shared::page!(
    /// A conversation's messages and notes, newest first.
    ThreadPage,
    messages: ThreadEntry
);

/// A conversation's messages (both directions, with statuses) and notes, newest first.
/// The thread is the customer's history with the tenant (every device).
#[utoipa::path(get, path = "/api/inbox/conversations/{id}/messages", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id"), PageParams),
    responses((status = 200, body = ThreadPage), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_messages(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<ThreadPage>> {
    let (items, next_cursor) = inbox::thread(
        &state,
        &Viewer::from(&caller),
        &id,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    let base = public_base_url(&state, &headers);
    let mut messages = Vec::with_capacity(items.len());
    for item in items {
        let signed = match &item {
            ThreadItem::Message(m) => kept_link(&state, m, base.as_deref()).await?,
            ThreadItem::Note(_) => None,
        };
        let mut entry = ThreadEntry::from(item);
        if signed.is_some() {
            entry.media_url = signed;
        }
        messages.push(entry);
    }
    Ok(Json(ThreadPage {
        messages,
        next_cursor,
    }))
}

/// A reply: exactly one of `text`, `type` + `url` (media), `template` or
/// `cannedResponseId`; `"private": true` with `text` is a note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyRequest {
    /// A text message (1–4096 characters), or the note's text.
    pub text: Option<String>,
    /// A note: stored in the thread, seen by the team only, never sent.
    pub private: Option<bool>,
    /// Media: `image`, `video`, `audio` or `document`, with `url`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Media: a public HTTPS URL of the file.
    pub url: Option<String>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub mimetype: Option<String>,
    /// A Cloud API template (outside the 24-hour window).
    pub template: Option<TemplateSpec>,
    /// A canned response, `{{name}}` and `{{phone}}` filled from the contact.
    pub canned_response_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteEnvelope {
    pub note: ThreadEntry,
}

/// Reply in a conversation (through the send flow, from the conversation's device: daily
/// cap, 24-hour window, opt-out; `Idempotency-Key` as `/send`), or add a private note.
/// Replying marks the conversation read.
#[utoipa::path(post, path = "/api/inbox/conversations/{id}/messages", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1–255 visible ASCII characters")),
    request_body = ReplyRequest,
    responses(
        (status = 200, description = "Sent", body = SendResponse),
        (status = 201, description = "A note, stored", body = NoteEnvelope),
        (status = 400, body = ErrorBody),
        (status = 404, description = "No such conversation or canned response", body = ErrorBody),
        (status = 409, description = "An Idempotency-Key in progress, or the daily cap", body = ErrorBody),
        (status = 422, description = "The provider refused the message, the window is closed, or the customer opted out", body = SendFailure),
        (status = 429, body = SendFailure), (status = 502, body = SendFailure),
        (status = 504, body = SendFailure)))]
pub async fn post_message(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> ApiResult<Response> {
    let req: ReplyRequest = parse_json(&body)?;
    let given = [
        req.text.is_some() && req.template.is_none(),
        req.kind.is_some() || req.url.is_some(),
        req.template.is_some(),
        req.canned_response_id.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::bad_request(
            "Give exactly one of \"text\", \"type\" with \"url\", \"template\" or \"cannedResponseId\"",
        ));
    }
    let private = req.private.unwrap_or(false);
    if private && (req.text.is_none() || !given[0]) {
        return Err(ApiError::bad_request(
            "A note (\"private\": true) is \"text\" only",
        ));
    }
    // The conversation is part of the request: the same key and body for another
    // conversation is another request.
    let endpoint = format!("inbox-reply:{id}");
    let key = || idempotency(&headers, &endpoint, &body);
    let reply = if private {
        Reply::Note(req.text.clone().unwrap_or_default())
    } else if let Some(c) = &req.canned_response_id {
        Reply::Canned {
            id: c.clone(),
            idempotency: key()?,
        }
    } else if given[1] {
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
        Reply::Send {
            content: Box::new(content),
            text: caption,
            media_check: Some(check),
            idempotency: key()?,
        }
    } else {
        let (content, text) = text_or_template("text", &req.text, req.template.as_ref())?;
        Reply::Send {
            content: Box::new(content),
            text,
            media_check: None,
            idempotency: key()?,
        }
    };
    match inbox::reply(&state, &caller, &id, reply).await? {
        Replied::Sent(sent) => Ok(answer(sent)),
        Replied::Note(note) => Ok((
            StatusCode::CREATED,
            Json(NoteEnvelope {
                note: note_entry(note),
            }),
        )
            .into_response()),
    }
}
