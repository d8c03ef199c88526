//! Fixed one-minute windows for per-key rate limits.

use chrono::{DateTime, Utc};

pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 60;
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 100_000;

/// The window a moment falls in: its number (minutes since the epoch) and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub id: i64,
    pub resets_at: i64,
}

pub fn window_of(now: DateTime<Utc>) -> Window {
    let id = now.timestamp().div_euclid(60);
    Window {
        id,
        resets_at: (id + 1) * 60,
    }
}

/// Whole seconds until the window ends, at least 1 (a `Retry-After` of 0 invites a spin).
pub fn retry_after_secs(now: DateTime<Utc>, resets_at: i64) -> u64 {
    u64::try_from(resets_at - now.timestamp())
        .unwrap_or(1)
        .max(1)
}

/// What the client is told on every authenticated response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the window resets.
    pub reset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_are_minutes() {
        let at = |s| {
            Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, s)
                .single()
                .unwrap_or_default()
        };
        let t = at(59);
        let w = window_of(t);
        assert_eq!(w, window_of(at(0)));
        assert_eq!(w.resets_at, at(59).timestamp() + 1);
        assert_eq!(retry_after_secs(at(20), w.resets_at), 40);
        assert_eq!(retry_after_secs(t, w.resets_at), 1);
        assert_eq!(
            retry_after_secs(t + chrono::Duration::seconds(5), w.resets_at),
            1
        );
        let next = window_of(t + chrono::Duration::seconds(1));
        assert_eq!(next.id, w.id + 1);
    }
}
