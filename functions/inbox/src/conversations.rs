//! Conversations: listing, counts, one conversation, assignment, status, read, labels.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wati_shared::domain::time;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{ApiError, ApiJson, ApiPath, ApiQuery, PageParams};
use wati_shared::services::inbox::{self, Assignee, ListFilter, Viewer};
use wati_shared::store::conversations::{Conversation, ConversationStatus, ConversationView};
use wati_shared::store::inbox::StatusCounts;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    /// `open`, `pending`, `resolved`, `snoozed` or `all` (default).
    pub status: Option<String>,
    /// `me`, `unassigned`, `all` (default) or a member's id. Agents always get `me`.
    pub assignee: Option<String>,
    /// Only this device's conversations.
    #[serde(rename = "deviceId")]
    #[param(rename = "deviceId")]
    pub device_id: Option<String>,
    /// Only conversations with this label.
    pub label: Option<String>,
    /// A phone prefix (digits, `+` and separators) in phone order, or a name prefix in name
    /// order. Combines with every other filter.
    pub q: Option<String>,
    /// Items per page, 1–100 (default 50).
    pub limit: Option<i32>,
    /// The `nextCursor` of the previous page (of the same query).
    pub cursor: Option<String>,
}

wati_shared::page!(
    /// Conversations, most recent activity first (`q`: in phone or name order).
    ConversationPage,
    conversations: ConversationView
);
wati_shared::envelope!(ConversationEnvelope, conversation: ConversationView);

fn envelope(c: &Conversation) -> Json<ConversationEnvelope> {
    Json(ConversationEnvelope {
        conversation: c.view(),
    })
}

/// List conversations.
#[utoipa::path(get, path = "/api/inbox/conversations", tag = "inbox",
    params(ConversationQuery),
    responses((status = 200, body = ConversationPage), (status = 400, body = ErrorBody)))]
pub async fn list_conversations(
    Authed { state, caller }: Authed,
    ApiQuery(q): ApiQuery<ConversationQuery>,
) -> ApiResult<Json<ConversationPage>> {
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("all") => None,
        Some(s) => Some(ConversationStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("\"status\" must be open, pending, resolved, snoozed or all")
        })?),
    };
    let assignee = match q.assignee.as_deref().map(str::trim) {
        None => Assignee::All,
        Some(a) => Assignee::parse(a).ok_or_else(|| {
            ApiError::bad_request("\"assignee\" must be me, unassigned, all or a member's id")
        })?,
    };
    let filter = ListFilter {
        status,
        assignee,
        device_id: q.device_id.filter(|d| !d.is_empty()),
        label: q.label.filter(|l| !l.is_empty()),
        q: q.q.filter(|v| !v.is_empty()),
    };
    let (conversations, next_cursor) = inbox::list(
        &state,
        &Viewer::from(&caller),
        filter,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(Json(ConversationPage {
        conversations: conversations.iter().map(|c| c.view()).collect(),
        next_cursor,
    }))
}

/// Counts of one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsOf {
    pub mine: u64,
    pub unassigned: u64,
    pub all: u64,
}

impl From<StatusCounts> for CountsOf {
    fn from(c: StatusCounts) -> Self {
        CountsOf {
            mine: c.mine,
            unassigned: c.unassigned,
            all: c.all,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxCounts {
    pub open: CountsOf,
    pub pending: CountsOf,
    pub resolved: CountsOf,
    pub snoozed: CountsOf,
}

/// Conversation counts per status: mine, unassigned and all (an agent's are their own).
/// Kept as counters: one read.
#[utoipa::path(get, path = "/api/inbox/conversations/counts", tag = "inbox",
    responses((status = 200, body = InboxCounts)))]
pub async fn conversation_counts(Authed { state, caller }: Authed) -> ApiResult<Json<InboxCounts>> {
    let counts = inbox::counts(&state, &Viewer::from(&caller)).await?;
    let of = |s: ConversationStatus| -> CountsOf {
        counts
            .iter()
            .find(|(st, _)| *st == s)
            .map(|(_, c)| (*c).into())
            .unwrap_or(CountsOf {
                mine: 0,
                unassigned: 0,
                all: 0,
            })
    };
    Ok(Json(InboxCounts {
        open: of(ConversationStatus::Open),
        pending: of(ConversationStatus::Pending),
        resolved: of(ConversationStatus::Resolved),
        snoozed: of(ConversationStatus::Snoozed),
    }))
}

/// One conversation.
#[utoipa::path(get, path = "/api/inbox/conversations/{id}", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get_conversation(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConversationEnvelope>> {
    let c = inbox::get(&state, &Viewer::from(&caller), &id).await?;
    Ok(envelope(&c))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignRequest {
    /// A member's id, or null to unassign. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub user_id: Option<Option<String>>,
}

/// `Some(None)` for an explicit null, `None` when the field is missing.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Assign a conversation to a member, or unassign it (`null`). Publishes
/// `conversation.assigned`. Two at once: one wins, the other is 409 naming the assignee.
#[utoipa::path(post, path = "/api/inbox/conversations/{id}/assign", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = AssignRequest,
    responses((status = 200, body = ConversationEnvelope), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Assigned by another request meanwhile", body = ErrorBody)))]
pub async fn assign(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Json<ConversationEnvelope>> {
    let user_id = req
        .user_id
        .ok_or_else(|| ApiError::bad_request("\"userId\" is required (null to unassign)"))?;
    let c = inbox::assign(&state, &Viewer::from(&caller), &id, user_id).await?;
    Ok(envelope(&c))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusRequest {
    /// Required: `open`, `pending`, `resolved` or `snoozed`.
    pub status: Option<String>,
    /// Required for `snoozed` (RFC 3339, in the future): it opens again then, or on the
    /// customer's next message.
    pub snoozed_until: Option<String>,
}

/// Change a conversation's status.
#[utoipa::path(post, path = "/api/inbox/conversations/{id}/status", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = StatusRequest,
    responses((status = 200, body = ConversationEnvelope), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_status(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<Json<ConversationEnvelope>> {
    let status = req
        .status
        .as_deref()
        .and_then(|s| ConversationStatus::parse(s.trim()))
        .ok_or_else(|| {
            ApiError::bad_request("\"status\" must be open, pending, resolved or snoozed")
        })?;
    let until = req
        .snoozed_until
        .as_deref()
        .map(|u| {
            time::parse(u.trim())
                .ok_or_else(|| ApiError::bad_request("\"snoozedUntil\" must be an RFC 3339 time"))
        })
        .transpose()?;
    let c = inbox::set_status(&state, &Viewer::from(&caller), &id, status, until).await?;
    Ok(envelope(&c))
}

/// Mark a conversation read (unread count 0).
#[utoipa::path(post, path = "/api/inbox/conversations/{id}/read", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationEnvelope), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn mark_read(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConversationEnvelope>> {
    let c = inbox::mark_read(&state, &Viewer::from(&caller), &id).await?;
    Ok(envelope(&c))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsRequest {
    /// Required: the conversation's labels (replacing its others), at most 10.
    #[schema(example = json!(["vip", "billing"]))]
    pub labels: Option<Vec<String>>,
}

/// Set a conversation's labels.
#[utoipa::path(put, path = "/api/inbox/conversations/{id}/labels", tag = "inbox",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = LabelsRequest,
    responses((status = 200, body = ConversationEnvelope), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_labels(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<LabelsRequest>,
) -> ApiResult<Json<ConversationEnvelope>> {
    let labels = req
        .labels
        .ok_or_else(|| ApiError::bad_request("\"labels\" is required"))?;
    let c = inbox::set_labels(&state, &Viewer::from(&caller), &id, &labels).await?;
    Ok(envelope(&c))
}
