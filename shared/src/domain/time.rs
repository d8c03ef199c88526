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

/// Serde for a time kept as [`iso`] text (`2026-06-11T09:12:33Z`): `#[serde(with = "secs")]`.
/// Any RFC 3339 time is read.
pub mod secs {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }
}

/// [`secs`] for an optional time (with `default` and `skip_serializing_if`).
pub mod secs_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::secs::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::secs")] DateTime<Utc>);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
    }
}

/// Serde for a time kept as [`iso_millis`] text, where order within a second matters.
pub mod millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        super::secs::deserialize(d)
    }
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

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Times {
        #[serde(with = "secs")]
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "secs_opt")]
        until: Option<DateTime<Utc>>,
        #[serde(with = "millis")]
        logged: DateTime<Utc>,
    }

    #[test]
    fn times_keep_their_text_form() {
        let t = at("2026-07-01T10:00:00.250Z");
        let both = Times {
            at: t,
            until: Some(t),
            logged: t,
        };
        let json = serde_json::to_string(&both).expect("serialises");
        assert_eq!(
            json,
            r#"{"at":"2026-07-01T10:00:00Z","until":"2026-07-01T10:00:00Z","logged":"2026-07-01T10:00:00.250Z"}"#
        );
        let back: Times = serde_json::from_str(
            r#"{"at":"2026-07-01T12:00:00+02:00","logged":"2026-07-01T10:00:00.250Z"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.at, at("2026-07-01T10:00:00Z"));
        assert_eq!(back.until, None);
        assert_eq!(back.logged, t);
        assert!(
            serde_json::from_str::<Times>(r#"{"at":"soon","logged":"2026-07-01T10:00:00Z"}"#)
                .is_err()
        );
    }
}
