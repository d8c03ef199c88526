//! Fixed instants and a clock the tests move by hand.

use crate::shared::Clock;
use chrono::{DateTime, Utc};

/// An RFC 3339 instant, e.g. `at("2026-01-01T00:00:00Z")`.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// A manual clock standing at `s` (moved with `advance` / `set`).
pub fn clock_at(s: &str) -> Clock {
    Clock::manual(at(s))
}

/// The next whole minute from now (a manual clock there has a minute before the scheduler's
/// next tick).
pub fn start_of_next_minute() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now - now % 60 + 60, 0).expect("a representable instant")
}

/// Seconds since the epoch, now.
pub fn now_ts() -> i64 {
    Utc::now().timestamp()
}
