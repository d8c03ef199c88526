//! Pure business rules over plain types: no I/O, unit-tested without AWS.

pub mod api_keys;
pub mod plans;
pub mod rate_limit;
pub mod url_guard;
pub mod validate;
pub mod webhooks;
