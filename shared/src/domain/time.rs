//! Timestamps as the API writes and reads them: RFC 3339 in UTC, with a `Z`.

use chrono::{DateTime, Utc};

/// RFC 3339 with second precision and a `Z`, the format every timestamp in the API uses.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// RFC 3339 with milliseconds, for sort keys where order within a second matters.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An RFC 3339 time with any offset, as UTC; `None` if it is not one.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A time for unit tests, from RFC 3339 text they are sure of.
#[cfg(test)]
pub fn at(s: &str) -> DateTime<Utc> {
    parse(s).unwrap_or_else(|| panic!("not an RFC 3339 time: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_offsets() {
        let t = parse("2026-07-01T12:00:00+02:00");
        assert_eq!(t.map(iso).as_deref(), Some("2026-07-01T10:00:00Z"));
        assert_eq!(
            parse("2026-07-01T10:00:00.250Z").map(iso_millis).as_deref(),
            Some("2026-07-01T10:00:00.250Z")
        );
        assert_eq!(parse("yesterday"), None);
    }
}
