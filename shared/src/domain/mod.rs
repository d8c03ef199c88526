//! Pure business rules over plain types: no I/O, unit-tested without AWS.

pub mod api_keys;
pub mod devices;
pub mod media;
pub mod messages;
pub mod net;
pub mod plans;
pub mod rate_limit;
pub mod validate;
