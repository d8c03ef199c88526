//! Pure business rules over plain types: no I/O, unit-tested without AWS.

pub mod api_keys;
pub mod auto_reply;
pub mod campaigns;
pub mod consent;
pub mod contact_csv;
pub mod contacts;
pub mod devices;
pub mod gateway;
pub mod inbound;
pub mod media;
pub mod media_links;
pub mod messages;
pub mod net;
pub mod passwords;
pub mod phone;
pub mod plans;
pub mod quota;
pub mod rate_limit;
pub mod roles;
pub mod sessions;
pub mod templates;
pub mod time;
pub mod url_guard;
pub mod validate;
pub mod webhooks;
