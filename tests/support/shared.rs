//! Every path into `wati_shared`, `wati_infra` and the functions that the tests use, in one
//! place: when a module moves there, this file is the one to change.

pub use fn_scheduler::run as scheduler_run;

pub use wati_infra::admin_cli::run as admin_cli;
pub use wati_infra::bootstrap::LocalQueue;
pub use wati_infra::devserver::{poll_once, DevServer, POLL_INTERVAL};
pub use wati_infra::functions::{registry, Functions, SqsHandler};
pub use wati_infra::local::{start_with, LocalOptions};
pub use wati_infra::template::Template;
pub use wati_shared::domain::api_keys::{hash_api_key, is_well_formed};
pub use wati_shared::domain::campaigns::{CampaignStatus, PauseReason};
pub use wati_shared::domain::gateway::hmac_hex as gateway_hmac;
pub use wati_shared::domain::inbound::{inbound_message_id, reported_time, sign};
pub use wati_shared::domain::messages::{id_from_wamid, MessageStatus};
pub use wati_shared::domain::plans::Plan;
pub use wati_shared::domain::quota::{cap_for, next_midnight, Limit};
pub use wati_shared::domain::time::iso;
pub use wati_shared::http::auth::{require_api_key, require_rest_access};
pub use wati_shared::runtime::aws::AwsClients;
pub use wati_shared::runtime::clock::Clock;
pub use wati_shared::runtime::config::AdminKeySource;
pub use wati_shared::runtime::metrics;
pub use wati_shared::services::campaigns::{SendTask, TickReport, UNKNOWN_OUTCOME};
pub use wati_shared::store::api_keys::{AuthOutcome, MAX_LIVE_KEYS};
pub use wati_shared::AppState;

/// The store's records and outcomes the tests build or read directly.
pub mod store {
    pub use wati_shared::domain::inbox as inbox_rules;
    pub use wati_shared::domain::messages::MessageKind;
    pub use wati_shared::store::auto_replies::{ReplyLogEntry, ReplyOutcome};
    pub use wati_shared::store::campaigns::{Campaign, Claim as RecipientClaim};
    pub use wati_shared::store::conversations::{
        Conversation, ConversationStatus, HistoryEntry, RecordInbound, HANDLING_DONE,
    };
    pub use wati_shared::store::keys;
    pub use wati_shared::store::messages::{Direction, Message, MessageSource};
    pub use wati_shared::store::usage::Reserve;
}

/// The AI provider's client.
pub mod ai {
    pub use wati_shared::adapters::ai::{build_messages, AiClient, AiError, Turn};
}

/// A hook that adds to (or replaces) the registered function implementations.
pub type ExtraFunctions = Box<dyn FnOnce(&AppState, &mut Functions) + Send>;

/// Webhook events and how they are published.
pub mod webhooks {
    pub use wati_shared::domain::webhooks::{
        event_id, CampaignCompleted, EventType, MessageKind, MessageReceived, MessageState,
        MessageStatus, WebhookEvent,
    };
    pub use wati_shared::services::events::{
        enqueue, publish, publish_all, publish_with_key, DispatchMessage,
    };
    pub use wati_shared::services::statuses::publish_status;
    pub use wati_shared::store::webhooks::{Attempt, Claim, Outcome, Trigger};
}

/// The analytics counters, counted directly (the inbox's figures; many events at once).
pub mod analytics {
    pub use wati_shared::domain::analytics::{Tally, BUCKETS};
    pub use wati_shared::services::analytics::{
        agent_reply, conversation_opened, conversation_resolved, count, first_response,
    };
    pub use wati_shared::store::analytics::CountAt;
}

/// Services the tests drive directly (a redelivered job).
pub mod services {
    pub use wati_shared::runtime::metrics::record as record_aws_calls;
    pub use wati_shared::services::contact_jobs;
}
