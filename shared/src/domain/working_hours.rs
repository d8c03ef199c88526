//! Working hours and the away message: when the business answers, in its own time zone
//! (an IANA name, so daylight saving moves with the clocks), and whether a customer who
//! writes outside them gets the away message. At most one away message goes to a customer
//! per *closed spell* (from the end of one opening to the start of the next), so a customer
//! who writes five times at night is told once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most this many opening ranges (four a day).
pub const MAX_RANGES: usize = 28;
/// At most this many closed dates.
pub const MAX_CLOSED_DATES: usize = 100;
/// A WhatsApp text's longest body.
pub const MAX_AWAY_MESSAGE_CHARS: usize = 4096;
const DAY_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DayOfWeek {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl DayOfWeek {
    fn of(w: Weekday) -> DayOfWeek {
        match w {
            Weekday::Mon => DayOfWeek::Mon,
            Weekday::Tue => DayOfWeek::Tue,
            Weekday::Wed => DayOfWeek::Wed,
            Weekday::Thu => DayOfWeek::Thu,
            Weekday::Fri => DayOfWeek::Fri,
            Weekday::Sat => DayOfWeek::Sat,
            Weekday::Sun => DayOfWeek::Sun,
        }
    }
}

/// One opening on one day, local time: `from` (`HH:MM`) up to `to` (`HH:MM`, or `24:00`
/// for the end of the day). A night shift is two ranges: `22:00`–`24:00` and the next
/// day's `00:00`–`06:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenRange {
    pub day: DayOfWeek,
    #[schema(example = "09:00")]
    pub from: String,
    #[schema(example = "18:00")]
    pub to: String,
}

impl OpenRange {
    fn minutes(&self) -> (u32, u32) {
        (
            minute_of_day(&self.from).unwrap_or(0),
            minute_of_day(&self.to).unwrap_or(0),
        )
    }
}

/// A tenant's working hours and away message, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHours {
    /// Whether customers who write outside the hours get the away message.
    pub enabled: bool,
    /// An IANA time zone name, such as `Asia/Karachi` or `Europe/London`.
    #[schema(example = "Asia/Karachi")]
    pub timezone: String,
    /// The openings, by day then time. None at all: always closed.
    pub hours: Vec<OpenRange>,
    /// Whole local days closed whatever the weekday says (holidays), `YYYY-MM-DD`, sorted.
    #[serde(default)]
    #[schema(example = json!(["2026-12-25"]))]
    pub closed_dates: Vec<String>,
    /// Sent (through the send flow) to a customer who writes outside the hours when no
    /// keyword rule matched and AI Smart Reply is off; once per closed spell.
    pub away_message: String,
}

impl Default for WorkingHours {
    /// Off; Monday to Friday, 09:00–18:00 UTC, ready to be adjusted.
    fn default() -> Self {
        let weekdays = [
            DayOfWeek::Mon,
            DayOfWeek::Tue,
            DayOfWeek::Wed,
            DayOfWeek::Thu,
            DayOfWeek::Fri,
        ];
        WorkingHours {
            enabled: false,
            timezone: "UTC".into(),
            hours: weekdays
                .into_iter()
                .map(|day| OpenRange {
                    day,
                    from: "09:00".into(),
                    to: "18:00".into(),
                })
                .collect(),
            closed_dates: Vec::new(),
            away_message: String::new(),
        }
    }
}

/// `HH:MM` (00:00–24:00) as minutes after midnight.
fn minute_of_day(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= DAY_MINUTES).then_some(total)
}

impl WorkingHours {
    /// These settings checked: a known time zone (kept in its canonical spelling),
    /// well-formed ranges (`from` before `to`) and dates, sorted; an away message when
    /// enabled.
    pub fn checked(self) -> Result<WorkingHours, String> {
        let WorkingHours {
            enabled,
            timezone,
            mut hours,
            closed_dates,
            away_message,
        } = self;
        let tz: Tz = timezone.trim().parse().map_err(|_| {
            format!("\"timezone\" must be an IANA time zone name such as Asia/Karachi, not {timezone:?}")
        })?;
        if hours.len() > MAX_RANGES {
            return Err(format!("\"hours\" may hold at most {MAX_RANGES} ranges"));
        }
        for (i, r) in hours.iter().enumerate() {
            let bad = |field: &str, v: &str| {
                format!(
                    "\"hours[{i}].{field}\" must be a time from 00:00 to 24:00 as HH:MM, not {v:?}"
                )
            };
            let from = minute_of_day(&r.from).ok_or_else(|| bad("from", &r.from))?;
            let to = minute_of_day(&r.to).ok_or_else(|| bad("to", &r.to))?;
            if from >= to {
                return Err(format!(
                    "\"hours[{i}]\" from {} to {} ends before it starts (a night shift is two ranges, up to 24:00 and from 00:00)",
                    r.from, r.to
                ));
            }
        }
        hours.sort_by(|a, b| (a.day, &a.from, &a.to).cmp(&(b.day, &b.from, &b.to)));
        if closed_dates.len() > MAX_CLOSED_DATES {
            return Err(format!(
                "\"closedDates\" may hold at most {MAX_CLOSED_DATES} dates"
            ));
        }
        let mut dates = Vec::with_capacity(closed_dates.len());
        for d in &closed_dates {
            let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map_err(|_| format!("\"closedDates\" must hold dates as YYYY-MM-DD, not {d:?}"))?;
            dates.push(date.format("%Y-%m-%d").to_string());
        }
        dates.sort();
        dates.dedup();
        let away_message = away_message.trim();
        if away_message.chars().count() > MAX_AWAY_MESSAGE_CHARS {
            return Err(format!(
                "\"awayMessage\" must be at most {MAX_AWAY_MESSAGE_CHARS} characters"
            ));
        }
        if enabled && away_message.is_empty() {
            return Err("\"awayMessage\" is required to turn the away message on".into());
        }
        Ok(WorkingHours {
            enabled,
            timezone: tz.name().to_string(),
            hours,
            closed_dates: dates,
            away_message: away_message.to_string(),
        })
    }

    fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    /// The openings of a local date: its weekday's, none on a closed date.
    fn openings_on(&self, date: NaiveDate) -> impl Iterator<Item = (u32, u32)> + '_ {
        let closed = self
            .closed_dates
            .binary_search(&date.format("%Y-%m-%d").to_string())
            .is_ok();
        let day = DayOfWeek::of(date.weekday());
        self.hours
            .iter()
            .filter(move |r| !closed && r.day == day)
            .map(OpenRange::minutes)
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz());
        let minute = local.hour() * 60 + local.minute();
        self.openings_on(local.date_naive())
            .any(|(from, to)| from <= minute && minute < to)
    }

    /// When the closed spell that `at` falls in began (the end of the last opening), or
    /// `None` when the business is open. With no openings at all, every local day is a
    /// spell of its own.
    pub fn closed_since(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return None;
        }
        let tz = self.tz();
        let local = at.with_timezone(&tz);
        let now_minute = local.hour() * 60 + local.minute();
        let today = local.date_naive();
        // A week back finds the last opening of any schedule that opens at all; each closed
        // date can hide one opening day, a week from the one before it.
        let days_back = 7 * (1 + i64::try_from(self.closed_dates.len()).unwrap_or(0));
        for back in 0..=days_back {
            let date = today - Duration::days(back);
            let last_end = self
                .openings_on(date)
                .map(|(_, end)| end)
                .filter(|&end| back > 0 || end <= now_minute)
                .max();
            if let Some(end) = last_end {
                return Some(local_instant(tz, date, end).min(at));
            }
        }
        Some(local_instant(tz, today, 0).min(at))
    }
}

/// `minute` minutes after the local midnight that starts `date`, in UTC. A local time that
/// a daylight-saving jump skips is taken an hour later; one it repeats, the first time.
fn local_instant(tz: Tz, date: NaiveDate, minute: u32) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(minute.into());
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at;

    fn range(day: DayOfWeek, from: &str, to: &str) -> OpenRange {
        OpenRange {
            day,
            from: from.into(),
            to: to.into(),
        }
    }

    fn settings(timezone: &str, hours: Vec<OpenRange>, away_message: &str) -> WorkingHours {
        WorkingHours {
            enabled: true,
            timezone: timezone.into(),
            hours,
            closed_dates: Vec::new(),
            away_message: away_message.into(),
        }
    }

    fn london_office() -> WorkingHours {
        settings(
            "Europe/London",
            vec![
                range(DayOfWeek::Mon, "09:00", "12:30"),
                range(DayOfWeek::Mon, "13:30", "17:00"),
                range(DayOfWeek::Tue, "09:00", "17:00"),
            ],
            "We are closed",
        )
        .checked()
        .unwrap()
    }

    #[test]
    fn opening_follows_the_local_clock_across_daylight_saving() {
        let h = london_office();
        // 2026-01-05 is a Monday (GMT, UTC+0); 2026-07-06 too (BST, UTC+1).
        assert!(!h.is_open(at("2026-01-05T08:59:00Z")));
        assert!(h.is_open(at("2026-01-05T09:00:00Z")));
        assert!(h.is_open(at("2026-07-06T08:30:00Z")), "09:30 BST");
        assert!(!h.is_open(at("2026-07-06T16:30:00Z")), "17:30 BST");
        // The lunch break, and the end being exclusive.
        assert!(!h.is_open(at("2026-01-05T13:00:00Z")));
        assert!(!h.is_open(at("2026-01-05T17:00:00Z")));
        // Wednesday: no opening.
        assert!(!h.is_open(at("2026-01-07T10:00:00Z")));
    }

    #[test]
    fn a_closed_spell_starts_at_the_end_of_the_last_opening() {
        let h = london_office();
        assert_eq!(h.closed_since(at("2026-01-05T10:00:00Z")), None);
        // Lunch: since 12:30.
        assert_eq!(
            h.closed_since(at("2026-01-05T13:10:00Z")),
            Some(at("2026-01-05T12:30:00Z"))
        );
        // Monday night and Tuesday before 09:00: since Monday 17:00.
        let monday_evening = Some(at("2026-01-05T17:00:00Z"));
        assert_eq!(h.closed_since(at("2026-01-05T22:00:00Z")), monday_evening);
        assert_eq!(h.closed_since(at("2026-01-06T08:00:00Z")), monday_evening);
        // From Tuesday 17:00 to the next Monday: one spell.
        let tuesday_evening = Some(at("2026-01-06T17:00:00Z"));
        assert_eq!(h.closed_since(at("2026-01-08T12:00:00Z")), tuesday_evening);
        assert_eq!(h.closed_since(at("2026-01-12T08:59:00Z")), tuesday_evening);
        // In summer the same local end is an hour earlier in UTC.
        assert_eq!(
            h.closed_since(at("2026-07-06T20:00:00Z")),
            Some(at("2026-07-06T16:00:00Z"))
        );
    }

    #[test]
    fn with_no_openings_each_local_day_is_a_spell() {
        let h = settings("Asia/Karachi", vec![], "Closed")
            .checked()
            .unwrap();
        assert!(!h.is_open(at("2026-01-05T10:00:00Z")));
        // Karachi is UTC+5: the local day began at 19:00 UTC the day before.
        assert_eq!(
            h.closed_since(at("2026-01-05T10:00:00Z")),
            Some(at("2026-01-04T19:00:00Z"))
        );
        assert_eq!(
            h.closed_since(at("2026-01-05T20:00:00Z")),
            Some(at("2026-01-05T19:00:00Z"))
        );
    }

    #[test]
    fn a_night_shift_is_two_ranges_and_open_all_through() {
        let h = settings(
            "UTC",
            vec![
                range(DayOfWeek::Tue, "00:00", "06:00"),
                range(DayOfWeek::Mon, "22:00", "24:00"),
            ],
            "Closed",
        )
        .checked()
        .unwrap();
        assert_eq!(h.hours[0].day, DayOfWeek::Mon, "sorted by day");
        assert!(h.is_open(at("2026-01-05T23:59:00Z")));
        assert!(h.is_open(at("2026-01-06T00:00:00Z")));
        assert_eq!(
            h.closed_since(at("2026-01-06T07:00:00Z")),
            Some(at("2026-01-06T06:00:00Z"))
        );
    }

    #[test]
    fn closed_dates_close_whole_local_days_and_lengthen_the_spell() {
        let mut h = london_office();
        // Monday 2026-01-05 and Tuesday 2026-01-06 are holidays, given out of order.
        h.closed_dates = vec![
            "2026-01-06".into(),
            " 2026-01-05".into(),
            "2026-01-06".into(),
        ];
        let h = h.checked().unwrap();
        assert_eq!(
            h.closed_dates,
            ["2026-01-05", "2026-01-06"],
            "sorted, once each"
        );
        assert!(!h.is_open(at("2026-01-05T10:00:00Z")));
        assert!(!h.is_open(at("2026-01-06T10:00:00Z")));
        assert!(h.is_open(at("2026-01-12T10:00:00Z")), "the next Monday");
        // The spell runs from the Tuesday before (2025-12-30, 17:00) to the next Monday.
        let since = Some(at("2025-12-30T17:00:00Z"));
        assert_eq!(h.closed_since(at("2026-01-06T10:00:00Z")), since);
        assert_eq!(h.closed_since(at("2026-01-12T08:00:00Z")), since);
        // A closed date in Karachi is the local day, not the UTC one.
        let mut k = settings(
            "Asia/Karachi",
            vec![
                range(DayOfWeek::Mon, "00:00", "24:00"),
                range(DayOfWeek::Tue, "00:00", "24:00"),
            ],
            "Closed",
        );
        k.closed_dates = vec!["2026-01-05".into()];
        let k = k.checked().unwrap();
        assert!(
            !k.is_open(at("2026-01-04T20:00:00Z")),
            "01:00 on Monday the 5th there"
        );
        assert!(
            k.is_open(at("2026-01-05T20:00:00Z")),
            "01:00 on Tuesday the 6th there"
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let checked = |timezone: &str, hours: Vec<OpenRange>, away: &str, enabled: bool| {
            WorkingHours {
                enabled,
                ..settings(timezone, hours, away)
            }
            .checked()
        };
        let ok = |hours: Vec<OpenRange>| checked("UTC", hours, "", false);
        assert!(ok(vec![range(DayOfWeek::Mon, "09:00", "24:00")]).is_ok());
        for bad in [
            range(DayOfWeek::Mon, "9:00", "17:00"),
            range(DayOfWeek::Mon, "09:00", "24:01"),
            range(DayOfWeek::Mon, "24:00", "24:00"),
            range(DayOfWeek::Mon, "18:00", "09:00"),
            range(DayOfWeek::Mon, "09:60", "10:00"),
        ] {
            assert!(ok(vec![bad.clone()]).is_err(), "{bad:?}");
        }
        assert!(ok(vec![
            range(DayOfWeek::Sat, "09:00", "10:00");
            MAX_RANGES + 1
        ])
        .is_err());
        let e = checked("Mars/Olympus", vec![], "", false).unwrap_err();
        assert!(e.contains("IANA"), "{e}");
        let e = checked("UTC", vec![], "  ", true).unwrap_err();
        assert!(e.contains("awayMessage"), "{e}");
        let long = "x".repeat(MAX_AWAY_MESSAGE_CHARS + 1);
        assert!(checked("UTC", vec![], &long, false).is_err());
        for dates in [
            vec!["2026-02-30".to_string()],
            vec!["25/12/2026".into()],
            vec!["2026-12-25".into(); MAX_CLOSED_DATES + 1],
        ] {
            let e = WorkingHours {
                closed_dates: dates.clone(),
                ..settings("UTC", vec![], "x")
            }
            .checked()
            .unwrap_err();
            assert!(e.contains("closedDates"), "{dates:?}: {e}");
        }
        // The canonical spelling of the zone is kept, the message trimmed.
        let h = checked(" Asia/Karachi ", vec![], " Closed ", true).unwrap();
        assert_eq!(
            (h.timezone.as_str(), h.away_message.as_str()),
            ("Asia/Karachi", "Closed")
        );
    }
}
