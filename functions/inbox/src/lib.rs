//! The Team Inbox (`/api/inbox/…`): conversations by status, assignee, device, label and
//! search; their threads; replies and private notes; assignment; status; labels; canned
//! responses and auto-assignment settings. Agents see only the conversations assigned to
//! them (another's is 404); assigning and the settings need a manager. See `docs/inbox.md`.

use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::roles::Role;
use wati_shared::http::{needs, Access};
use wati_shared::routes;
use wati_shared::AppState;

pub mod canned;
pub mod conversations;
pub mod replies;

pub fn routes() -> OpenApiRouter<AppState> {
    use conversations::*;
    use Role::{Agent, Manager};
    OpenApiRouter::new()
        .routes(needs(Agent, routes!(list_conversations)))
        .routes(needs(Agent, routes!(conversation_counts)))
        .routes(needs(Agent, routes!(get_conversation)))
        .routes(needs(
            Agent,
            routes!(replies::list_messages, replies::post_message),
        ))
        .routes(needs(Manager, routes!(assign)))
        .routes(needs(Agent, routes!(set_status)))
        .routes(needs(Agent, routes!(mark_read)))
        .routes(needs(Agent, routes!(set_labels)))
        .routes(needs(Agent, routes!(canned::list_canned)))
        .routes(needs(Manager, routes!(canned::create_canned)))
        .routes(needs(
            Manager,
            routes!(canned::update_canned, canned::delete_canned),
        ))
        .routes(needs(
            Manager,
            routes!(canned::get_settings, canned::put_settings),
        ))
}

wati_shared::http_function!(Access::TenantKey);

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = wati_shared::http::SchemaRefs::of(&super::openapi());
        doc.assert_sound(&["ConversationView", "ConversationPage", "InboxCounts"]);
    }
}
