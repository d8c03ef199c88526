//! The Team Inbox: who sees which conversation, listings, replies and notes, assignment,
//! status, labels, canned responses, auto-assignment and snoozes ending. See `docs/inbox.md`.

pub mod happenings;

use crate::adapters::providers::Content;
use crate::domain::inbox::{self as rules, Search, ANY, UNASSIGNED};
use crate::domain::phone::Phone;
use crate::domain::roles::Role;
use crate::runtime::state::AppState;
use crate::services::sending::{self, ConsentCheck, SendError, SendReply, SendRequest, Sender};
use crate::store::api_keys::Principal;
use crate::store::conversations::{Conversation, ConversationStatus, LastMessage};
use crate::store::inbox::{
    Author, AutoAssign, CannedResponse, InboxSettings, Note, StatusCounts, ThreadItem,
};
use crate::store::messages::{Direction, MessageSource};
use crate::store::team::MemberStatus;
use crate::store::StoreError;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("Conversation not found")]
    NotFound,
    #[error("Canned response not found")]
    CannedNotFound,
    /// Bad input; the message says what.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} is not a member of this team")]
    NotMember(String),
    #[error("{}", match .current {
        Some(u) => format!("The conversation was just assigned to {u} by another request"),
        None => "The conversation was just unassigned by another request".to_string(),
    })]
    AssignConflict { current: Option<String> },
    #[error("A canned response with the shortcut \"{0}\" exists already")]
    ShortcutTaken(String),
    #[error("At most {} canned responses", rules::MAX_CANNED_RESPONSES)]
    TooManyCanned,
    #[error("The conversation is being changed by other requests: try again")]
    Busy,
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, InboxError>;

/// Who looks at the inbox: managers and admins (and API keys) see every conversation;
/// agents only those assigned to them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub tenant_id: String,
    pub role: Role,
    pub user_id: Option<String>,
    pub key_id: Option<String>,
}

impl From<&Principal> for Viewer {
    fn from(p: &Principal) -> Self {
        Viewer {
            tenant_id: p.tenant_id.clone(),
            role: p.role,
            user_id: p.user.as_ref().map(|u| u.user_id.clone()),
            key_id: Some(p.key_id.clone()).filter(|k| !k.is_empty()),
        }
    }
}

impl Viewer {
    pub fn sees_all(&self) -> bool {
        self.role >= Role::Manager
    }

    pub fn sees(&self, c: &Conversation) -> bool {
        self.sees_all() || (self.user_id.is_some() && c.assigned_to == self.user_id)
    }

    fn author(&self) -> Author {
        match (&self.user_id, &self.key_id) {
            (Some(u), _) => Author {
                kind: "user".into(),
                id: u.clone(),
            },
            (None, k) => Author {
                kind: "key".into(),
                id: k.clone().unwrap_or_default(),
            },
        }
    }
}

/// The `assignee` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Me,
    Unassigned,
    All,
    User(String),
}

impl Assignee {
    /// `None`: neither a keyword nor a user id (ids are UUIDs), so no member could match.
    pub fn parse(v: &str) -> Option<Assignee> {
        match v {
            "me" => Some(Assignee::Me),
            "unassigned" => Some(Assignee::Unassigned),
            "all" => Some(Assignee::All),
            u if crate::store::is_id(u) => Some(Assignee::User(u.to_string())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    /// `None`: every status.
    pub status: Option<ConversationStatus>,
    pub assignee: Assignee,
    pub device_id: Option<String>,
    pub label: Option<String>,
    pub q: Option<String>,
}

/// A page of conversations for `viewer`; an agent's filter is always "assigned to me".
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    filter: ListFilter,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<Conversation>, Option<String>)> {
    let assignee = if viewer.sees_all() {
        filter.assignee
    } else {
        Assignee::Me
    };
    let assignee = match assignee {
        Assignee::Me => viewer.user_id.clone().ok_or_else(|| {
            InboxError::Invalid(
                "\"assignee=me\" needs a signed-in team member (an API key is nobody)".into(),
            )
        })?,
        Assignee::Unassigned => UNASSIGNED.to_string(),
        Assignee::All => ANY.to_string(),
        Assignee::User(u) => {
            if u.is_empty() || u.contains('#') || u.len() > 100 {
                return Err(InboxError::Invalid(
                    "\"assignee\" must be me, unassigned, all or a member's id".into(),
                ));
            }
            u
        }
    };
    let status = filter.status.map_or(ANY, ConversationStatus::as_str);
    let tenant_id = &viewer.tenant_id;
    let device = match filter.device_id.as_deref() {
        None => ANY.to_string(),
        Some(d) => crate::domain::messages::device_id(d).map_err(InboxError::Invalid)?,
    };
    let label = match filter.label.as_deref() {
        None => ANY.to_string(),
        Some(l) => rules::label_filter(l).map_err(InboxError::Invalid)?,
    };
    if let Some(q) = filter.q.as_deref() {
        let search: Search = rules::search(q).map_err(InboxError::Invalid)?;
        let partition = rules::search_partition(status, &assignee, &device, &label);
        return Ok(state
            .store
            .search_inbox(tenant_id, &partition, &search, limit, cursor)
            .await?);
    }
    let partition = rules::partition(status, &assignee, &device, &label);
    Ok(state
        .store
        .list_inbox(tenant_id, &partition, limit, cursor)
        .await?)
}

/// The counters: for an agent only their own (`unassigned` 0, `all` = `mine`).
pub async fn counts(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Vec<(ConversationStatus, StatusCounts)>> {
    let mut counts = state
        .store
        .inbox_counts(&viewer.tenant_id, viewer.user_id.as_deref())
        .await?;
    if !viewer.sees_all() {
        for (_, c) in &mut counts {
            *c = StatusCounts {
                mine: c.mine,
                unassigned: 0,
                all: c.mine,
            };
        }
    }
    Ok(counts)
}

/// A conversation the viewer may see (another agent's is "not found").
pub async fn get(state: &AppState, viewer: &Viewer, id: &str) -> Result<Conversation> {
    match state
        .store
        .conversation_by_id(&viewer.tenant_id, id)
        .await?
    {
        Some(c) if viewer.sees(&c) => Ok(c),
        _ => Err(InboxError::NotFound),
    }
}

/// A page of a conversation's messages and notes, newest first.
pub async fn thread(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<ThreadItem>, Option<String>)> {
    let c = get(state, viewer, id).await?;
    Ok(state
        .store
        .thread(&viewer.tenant_id, &c.peer, limit, cursor)
        .await?)
}

/// Reads the conversation, changes it with `change` (`None`: nothing to do) and stores it,
/// again from a fresh read when something else changed it meanwhile.
async fn update<F>(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    change: F,
) -> Result<(Conversation, Option<Conversation>)>
where
    F: FnMut(&Conversation) -> Result<Option<Conversation>>,
{
    update_from(state, viewer, id, None, change).await
}

/// [`update`], trying `known` (a copy this request has already read) before reading again:
/// its version guard tells whether it is still current.
async fn update_from<F>(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    mut known: Option<Conversation>,
    mut change: F,
) -> Result<(Conversation, Option<Conversation>)>
where
    F: FnMut(&Conversation) -> Result<Option<Conversation>>,
{
    for _ in 0..6 {
        let prev = match known.take() {
            Some(c) => c,
            None => get(state, viewer, id).await?,
        };
        let Some(mut next) = change(&prev)? else {
            return Ok((prev, None));
        };
        next.version = prev.version + 1;
        if state.store.save_conversation(&prev, &next).await? {
            return Ok((prev, Some(next)));
        }
    }
    Err(InboxError::Busy)
}

/// What a reply sends.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Through the provider: content, recorded text, media check, idempotency.
    Send {
        content: Box<Content>,
        text: Option<String>,
        media_check: Option<sending::MediaCheck>,
        idempotency: Option<sending::Idempotency>,
    },
    /// A canned response, filled for the customer.
    Canned {
        id: String,
        idempotency: Option<sending::Idempotency>,
    },
    /// A private note: stored, never sent.
    Note(String),
}

pub enum Replied {
    Sent(SendReply),
    Note(Note),
}

/// A reply in a conversation: sent through the send flow from the conversation's device
/// (daily cap, 24-hour window, opt-out, idempotency), then the conversation moves (last
/// message, read, first response). A note is only stored.
pub async fn reply(
    state: &AppState,
    caller: &Principal,
    id: &str,
    reply: Reply,
) -> Result<Replied> {
    let viewer = Viewer::from(caller);
    let conversation = get(state, &viewer, id).await?;
    let (content, text, media_check, idempotency) = match reply {
        Reply::Note(text) => {
            let note = Note {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: viewer.tenant_id.clone(),
                conversation_id: conversation.id.clone(),
                peer: conversation.peer.clone(),
                device_id: conversation.device_id.clone(),
                text: rules::note_text(&text).map_err(InboxError::Invalid)?,
                author: viewer.author(),
                created_at: state.clock.now(),
            };
            state.store.add_note(&note).await?;
            return Ok(Replied::Note(note));
        }
        Reply::Send {
            content,
            text,
            media_check,
            idempotency,
        } => (*content, text, media_check, idempotency),
        Reply::Canned { id, idempotency } => {
            let canned = state
                .store
                .get_canned(&viewer.tenant_id, &id)
                .await?
                .ok_or(InboxError::CannedNotFound)?;
            let name = conversation.contact.as_ref().map(|c| c.name.as_str());
            let name = name.or(conversation.profile_name.as_deref());
            let body = rules::fill_canned(&canned.text, name, &conversation.peer);
            let body = crate::domain::messages::message_text("text", &body)
                .map_err(InboxError::Invalid)?;
            (
                Content::Text { body: body.clone() },
                Some(body),
                None,
                idempotency,
            )
        }
    };
    let kind = match &content {
        Content::Text { .. } => crate::domain::messages::MessageKind::Text,
        Content::Media { kind, .. } => (*kind).into(),
        Content::Template(_) => crate::domain::messages::MessageKind::Template,
    };
    let to = Phone::parse("peer", &conversation.peer).map_err(InboxError::Invalid)?;
    let request = SendRequest {
        to,
        content,
        text: text.clone(),
        device_id: Some(conversation.device_id.clone()),
        media_check,
        idempotency,
        source: MessageSource::Inbox,
        consent: ConsentCheck::Direct,
        counts_as: crate::domain::analytics::CountsAs::Message,
    };
    let sent = sending::send(state, &Sender::from(caller), request).await?;
    if sent.outcome.is_ok() && !sent.replayed {
        let now = state.clock.now();
        let mut first = false;
        // The copy read before the send is tried first: usually nothing changed meanwhile.
        let moved = update_from(state, &viewer, id, Some(conversation), |c| {
            let (next, f) = after_reply(c, text.clone(), kind, now);
            first = f;
            Ok(Some(next))
        })
        .await;
        match moved {
            Ok((_, Some(next))) => {
                happenings::replied_by_agent(state, &next, first, viewer.user_id.as_deref()).await
            }
            Ok(_) => {}
            // The message went out: a conversation that could not be moved is logged, not
            // answered as a failure of the send.
            Err(e) => tracing::warn!(error = %e, "conversation not updated after a reply"),
        }
    }
    Ok(Replied::Sent(sent))
}

/// The conversation after a reply went out: its last message, read, and the first
/// response time when this is the first since it opened.
fn after_reply(
    c: &Conversation,
    text: Option<String>,
    kind: crate::domain::messages::MessageKind,
    now: DateTime<Utc>,
) -> (Conversation, bool) {
    let mut next = c.clone();
    next.last_message = Some(LastMessage {
        text,
        direction: Direction::Out,
        kind,
        at: now,
    });
    next.last_message_at = next.last_message_at.max(now);
    next.listed_at = Some(next.listed().max(now));
    next.unread_count = 0;
    next.updated_at = now;
    let first = next.first_response_at.is_none() && next.opened_at.is_some();
    if first {
        next.first_response_at = Some(now);
        next.first_response_seconds = next.opened_at.map(|o| rules::seconds_between(o, now));
    }
    (next, first)
}

/// Assigns a conversation to a member (or nobody). Two at once: one wins, the other is
/// [`InboxError::AssignConflict`] naming the current assignee.
pub async fn assign(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    user_id: Option<String>,
) -> Result<Conversation> {
    if let Some(u) = &user_id {
        let member = if crate::store::is_id(u) {
            state.store.get_team_member(&viewer.tenant_id, u).await?
        } else {
            None
        };
        if member.is_none() {
            return Err(InboxError::NotMember(u.clone()));
        }
    }
    let now = state.clock.now();
    let mut seen: Option<Option<String>> = None;
    let (prev, next) = update(state, viewer, id, |c| {
        // Read again after a lost race: someone else assigned it meanwhile.
        if let Some(before) = &seen {
            if *before != c.assigned_to {
                return Err(InboxError::AssignConflict {
                    current: c.assigned_to.clone(),
                });
            }
        }
        seen = Some(c.assigned_to.clone());
        if c.assigned_to == user_id {
            return Ok(None);
        }
        let mut next = c.clone();
        next.assigned_to = user_id.clone();
        next.updated_at = now;
        Ok(Some(next))
    })
    .await?;
    match next {
        Some(next) => {
            happenings::assigned(state, &prev, &next, viewer.user_id.as_deref()).await;
            Ok(next)
        }
        None => repaired(state, prev).await,
    }
}

/// Sets a conversation's status (`snoozed` needs `snoozed_until`; others must not have one).
pub async fn set_status(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    status: ConversationStatus,
    snoozed_until: Option<DateTime<Utc>>,
) -> Result<Conversation> {
    let now = state.clock.now();
    let until = match (status, snoozed_until) {
        (ConversationStatus::Snoozed, Some(u)) => {
            Some(rules::snooze_until(u, now).map_err(InboxError::Invalid)?)
        }
        (ConversationStatus::Snoozed, None) => {
            return Err(InboxError::Invalid(
                "\"snoozedUntil\" is required to snooze".into(),
            ))
        }
        (_, Some(_)) => {
            return Err(InboxError::Invalid(
                "\"snoozedUntil\" is only for \"snoozed\"".into(),
            ))
        }
        (_, None) => None,
    };
    let (prev, next) = update(state, viewer, id, |c| {
        if c.status == status && c.snoozed_until == until {
            return Ok(None);
        }
        Ok(Some(with_status(c, status, until, now)))
    })
    .await?;
    match next {
        Some(next) => {
            if next.status == ConversationStatus::Resolved
                && prev.status != ConversationStatus::Resolved
            {
                happenings::resolved(state, &next, viewer.user_id.as_deref()).await;
            }
            Ok(next)
        }
        None => repaired(state, prev).await,
    }
}

/// `c` with a new status: resolving records the resolution time; reopening a resolved
/// conversation by hand starts a new opening.
fn with_status(
    c: &Conversation,
    status: ConversationStatus,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Conversation {
    let mut next = c.clone();
    next.status = status;
    next.snoozed_until = until;
    next.updated_at = now;
    if status == ConversationStatus::Resolved && c.status != ConversationStatus::Resolved {
        next.resolved_at = Some(now);
        next.resolution_seconds = c.opened_at.map(|o| rules::seconds_between(o, now));
    }
    if c.status == ConversationStatus::Resolved && status != ConversationStatus::Resolved {
        next.opened_at = Some(now);
        next.first_response_at = None;
        next.first_response_seconds = None;
        next.resolved_at = None;
        next.resolution_seconds = None;
    }
    next
}

/// Unread to 0.
pub async fn mark_read(state: &AppState, viewer: &Viewer, id: &str) -> Result<Conversation> {
    let now = state.clock.now();
    let (prev, next) = update(state, viewer, id, |c| {
        if c.unread_count == 0 {
            return Ok(None);
        }
        let mut next = c.clone();
        next.unread_count = 0;
        next.updated_at = now;
        Ok(Some(next))
    })
    .await?;
    Ok(next.unwrap_or(prev))
}

pub async fn set_labels(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    labels: &[String],
) -> Result<Conversation> {
    let labels = rules::labels(labels).map_err(InboxError::Invalid)?;
    let now = state.clock.now();
    let (prev, next) = update(state, viewer, id, |c| {
        if c.labels == labels {
            return Ok(None);
        }
        let mut next = c.clone();
        next.labels = labels.clone();
        next.updated_at = now;
        Ok(Some(next))
    })
    .await?;
    match next {
        Some(next) => Ok(next),
        None => repaired(state, prev).await,
    }
}

/// A change that found nothing to do (most likely the retry of one that answered an error
/// after its transaction) writes the conversation's entries again: what the failed attempt
/// left unwritten comes back (an entry already there is refused by its version, 1 WCU).
async fn repaired(state: &AppState, c: Conversation) -> Result<Conversation> {
    state.store.write_entries(None, &c).await?;
    Ok(c)
}

/// Round robin: the next active agent (by id, after the last one assigned) with fewer
/// open conversations than the limit.
pub async fn auto_assign(state: &AppState, conversation: &Conversation) -> Result<()> {
    let tenant_id = &conversation.tenant_id;
    let settings = state.store.inbox_settings(tenant_id).await?;
    if settings.auto_assign != AutoAssign::RoundRobin {
        return Ok(());
    }
    let mut agents: Vec<String> = state
        .store
        .list_team_members(tenant_id)
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Agent && m.status == MemberStatus::Active)
        .map(|m| m.id)
        .collect();
    agents.sort();
    let open = state.store.open_per_member(tenant_id).await?;
    let start = settings
        .last_assigned
        .as_ref()
        .and_then(|l| agents.iter().position(|a| a > l))
        .unwrap_or(0);
    let under_limit = |a: &String| {
        settings
            .max_open_per_agent
            .is_none_or(|max| open.get(a).copied().unwrap_or(0) < u64::from(max))
    };
    let n = agents.len();
    let Some(agent) = (0..n)
        .map(|i| &agents[(start + i) % n])
        .find(|a| under_limit(a))
        .cloned()
    else {
        return Ok(());
    };
    let system = Viewer {
        tenant_id: tenant_id.clone(),
        role: Role::Admin,
        user_id: None,
        key_id: None,
    };
    assign(state, &system, &conversation.id, Some(agent.clone())).await?;
    state.store.set_last_assigned(tenant_id, &agent).await?;
    Ok(())
}

/// The minute job: conversations whose snooze ended open again. Returns how many.
pub async fn end_snoozes(state: &AppState) -> Result<usize> {
    let now = state.clock.now();
    let mut ended = 0;
    for due in state.store.due_snoozes(now, 200).await? {
        for _ in 0..5 {
            let Some(prev) = state
                .store
                .get_conversation(&due.tenant_id, &due.device_id, &due.peer)
                .await?
            else {
                break;
            };
            let still = prev.status == ConversationStatus::Snoozed
                && prev.snoozed_until.is_some_and(|u| u <= now);
            if !still {
                break;
            }
            let mut next = with_status(&prev, ConversationStatus::Open, None, now);
            next.version = prev.version + 1;
            if state.store.save_conversation(&prev, &next).await? {
                ended += 1;
                break;
            }
        }
    }
    Ok(ended)
}

pub async fn create_canned(
    state: &AppState,
    tenant_id: &str,
    shortcut: &str,
    text: &str,
) -> Result<CannedResponse> {
    let shortcut = rules::shortcut(shortcut).map_err(InboxError::Invalid)?;
    let text = rules::canned_text(text).map_err(InboxError::Invalid)?;
    let all = state.store.list_canned(tenant_id).await?;
    if all.len() >= rules::MAX_CANNED_RESPONSES {
        return Err(InboxError::TooManyCanned);
    }
    if all.iter().any(|c| c.shortcut == shortcut) {
        return Err(InboxError::ShortcutTaken(shortcut));
    }
    let now = state.clock.now();
    let c = CannedResponse {
        id: uuid::Uuid::now_v7().to_string(),
        shortcut,
        text,
        created_at: now,
        updated_at: now,
    };
    state.store.put_canned(tenant_id, &c, false).await?;
    Ok(c)
}

pub async fn update_canned(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    shortcut: Option<&str>,
    text: Option<&str>,
) -> Result<CannedResponse> {
    if shortcut.is_none() && text.is_none() {
        return Err(InboxError::Invalid("Nothing to change".into()));
    }
    let mut c = state
        .store
        .get_canned(tenant_id, id)
        .await?
        .ok_or(InboxError::CannedNotFound)?;
    if let Some(s) = shortcut {
        let s = rules::shortcut(s).map_err(InboxError::Invalid)?;
        if s != c.shortcut {
            let all = state.store.list_canned(tenant_id).await?;
            if all.iter().any(|o| o.shortcut == s) {
                return Err(InboxError::ShortcutTaken(s));
            }
        }
        c.shortcut = s;
    }
    if let Some(t) = text {
        c.text = rules::canned_text(t).map_err(InboxError::Invalid)?;
    }
    c.updated_at = state.clock.now();
    if !state.store.put_canned(tenant_id, &c, true).await? {
        return Err(InboxError::CannedNotFound);
    }
    Ok(c)
}

pub async fn put_settings(
    state: &AppState,
    tenant_id: &str,
    auto_assign: AutoAssign,
    max_open_per_agent: Option<u32>,
) -> Result<InboxSettings> {
    if max_open_per_agent == Some(0) || max_open_per_agent.is_some_and(|m| m > 10_000) {
        return Err(InboxError::Invalid(
            "\"maxOpenPerAgent\" must be 1-10000".into(),
        ));
    }
    let current = state.store.inbox_settings(tenant_id).await?;
    let settings = InboxSettings {
        auto_assign,
        max_open_per_agent,
        last_assigned: current.last_assigned,
    };
    state.store.put_inbox_settings(tenant_id, &settings).await?;
    Ok(settings)
}
