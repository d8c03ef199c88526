//! Analytics: what one event adds to its counters, and how a period's counters become the
//! summary. Pure: the store keeps the counters (`store/analytics.rs`), the services count
//! (`services/analytics.rs`). See `docs/analytics.md`.
//!
//! Counters are kept per tenant, **half hour** (UTC) and device, so every `tz` offset the API
//! takes (whole or half hours) sums exact local days. Each counter item holds flat number
//! attributes named by [`Tally`]'s figures and, for campaigns, the campaign's name.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use std::collections::{BTreeMap, HashMap};

/// How long counters are kept.
pub const RETENTION_DAYS: i64 = 400;
/// The width of one counter slot.
pub const SLOT_MINUTES: i64 = 30;
/// The longest period a summary covers.
pub const MAX_DAYS: i64 = 92;
/// The period a summary covers when none is given.
pub const DEFAULT_DAYS: i64 = 30;
/// How many templates the summary lists.
pub const TOP_TEMPLATES: usize = 10;

// Attribute names of the figures. Short: every counter item carries them.
pub const OUTBOUND: &str = "o";
pub const INBOUND: &str = "i";
pub const DELIVERED: &str = "d";
pub const READ: &str = "r";
pub const FAILED: &str = "f";
pub const CONVERSATIONS_OPENED: &str = "co";
pub const CONVERSATIONS_RESOLVED: &str = "cv";
const CAMPAIGN_SENT: &str = "cs.";
const CAMPAIGN_FAILED: &str = "cf.";
const CAMPAIGN_NAME: &str = "cn.";
const CAMPAIGN_DELIVERED: &str = "cd.";
const CAMPAIGN_READ: &str = "cr.";
const TEMPLATE_PREFIX: char = 't';
const FIRST_RESPONSE: &str = "fh";
const RESOLUTION: &str = "rh";
const AGENT_REPLIES: &str = "ar.";
const AGENT_RESOLVED: &str = "av.";
const AGENT_FIRST_RESPONSE: &str = "af";

/// The kinds of automatic reply outcome the summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReply {
    Keyword,
    Ai,
    QuotaExceeded,
    AiError,
    SendFailed,
    Away,
}

impl AutoReply {
    /// Every kind, in the order the summary reports them.
    const ALL: [AutoReply; 6] = [
        AutoReply::Keyword,
        AutoReply::Ai,
        AutoReply::QuotaExceeded,
        AutoReply::AiError,
        AutoReply::SendFailed,
        AutoReply::Away,
    ];

    fn attribute(self) -> &'static str {
        match self {
            AutoReply::Keyword => "ak",
            AutoReply::Ai => "aa",
            AutoReply::QuotaExceeded => "aq",
            AutoReply::AiError => "ae",
            AutoReply::SendFailed => "as",
            AutoReply::Away => "aw",
        }
    }
}

/// A message status as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl Counted {
    fn attribute(self) -> &'static str {
        match self {
            Counted::Sent => OUTBOUND,
            Counted::Delivered => DELIVERED,
            Counted::Read => READ,
            Counted::Failed => FAILED,
        }
    }
    /// Every status a template counts, in the order the summary reports them.
    const ALL: [Counted; 4] = [
        Counted::Sent,
        Counted::Delivered,
        Counted::Read,
        Counted::Failed,
    ];

    fn template_letter(self) -> char {
        match self {
            Counted::Sent => 's',
            Counted::Delivered => 'd',
            Counted::Read => 'r',
            Counted::Failed => 'f',
        }
    }
}

/// What a message is counted as besides its status, when its send completes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CountsAs {
    /// A message (API send, inbox reply, a keyword rule's later steps, confirmations).
    #[default]
    Message,
    /// A campaign recipient (sent or failed per campaign).
    Campaign { id: String, name: String },
    /// A keyword rule's (first) answer, or an AI Smart Reply: `keyword`/`ai` when it went
    /// out, `sendFailed` when the provider refused it.
    AutoReply(AutoReply),
}

/// What one event adds: figures and (campaign) names, written in one `UpdateItem`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    pub adds: BTreeMap<String, i64>,
    pub names: BTreeMap<String, String>,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty()
    }
    pub fn add(&mut self, figure: impl Into<String>, by: i64) -> &mut Self {
        *self.adds.entry(figure.into()).or_default() += by;
        self
    }
    pub fn inbound(&mut self) -> &mut Self {
        self.add(INBOUND, 1)
    }
    pub fn auto_reply(&mut self, kind: AutoReply) -> &mut Self {
        self.add(kind.attribute(), 1)
    }
    pub fn conversation_opened(&mut self) -> &mut Self {
        self.add(CONVERSATIONS_OPENED, 1)
    }
    /// A conversation resolved after `seconds`, by `agent` when one did.
    pub fn conversation_resolved(&mut self, agent: Option<&str>, seconds: i64) -> &mut Self {
        self.add(CONVERSATIONS_RESOLVED, 1);
        self.add(format!("{RESOLUTION}{}", bucket_of(seconds)), 1);
        if let Some(a) = agent {
            self.add(format!("{AGENT_RESOLVED}{a}"), 1);
        }
        self
    }
    /// The first answer to a conversation, `seconds` after the customer wrote, by `agent`
    /// when a member gave it.
    pub fn first_response(&mut self, agent: Option<&str>, seconds: i64) -> &mut Self {
        let b = bucket_of(seconds);
        self.add(format!("{FIRST_RESPONSE}{b}"), 1);
        if let Some(a) = agent {
            self.add(format!("{AGENT_FIRST_RESPONSE}{b}.{a}"), 1);
        }
        self
    }
    pub fn agent_reply(&mut self, agent: &str) -> &mut Self {
        self.add(format!("{AGENT_REPLIES}{agent}"), 1)
    }

    /// An outbound message's status change, from `before` (`None`: it was pending, so this
    /// is its send completing) to `now`. A `read` that comes first counts `delivered` too
    /// (a read message was delivered); nothing moves backwards, so every status counts at
    /// most once per message. `template` and `campaign`: what the message was sent as (its
    /// delivered and read count for them too).
    pub fn status(
        &mut self,
        before: Option<Counted>,
        now: Counted,
        template: Option<(&str, &str)>,
        campaign: Option<&str>,
        counts_as: &CountsAs,
    ) -> &mut Self {
        let mut counted = vec![now];
        if now == Counted::Read && !matches!(before, Some(Counted::Delivered)) {
            counted.push(Counted::Delivered);
        }
        for c in counted {
            self.add(c.attribute(), 1);
            if let Some((name, language)) = template {
                self.add(template_figure(c, name, language), 1);
            }
            let of_campaign = match c {
                Counted::Delivered => Some(CAMPAIGN_DELIVERED),
                Counted::Read => Some(CAMPAIGN_READ),
                Counted::Sent | Counted::Failed => None,
            };
            if let (Some(id), Some(prefix)) = (campaign, of_campaign) {
                self.add(format!("{prefix}{id}"), 1);
            }
        }
        if before.is_none() {
            match (counts_as, now) {
                (CountsAs::Campaign { id, name }, Counted::Sent | Counted::Failed) => {
                    let prefix = if now == Counted::Sent {
                        CAMPAIGN_SENT
                    } else {
                        CAMPAIGN_FAILED
                    };
                    self.add(format!("{prefix}{id}"), 1);
                    self.names
                        .insert(format!("{CAMPAIGN_NAME}{id}"), name.clone());
                }
                (CountsAs::AutoReply(kind), Counted::Sent) => {
                    self.auto_reply(*kind);
                }
                (CountsAs::AutoReply(_), Counted::Failed) => {
                    self.auto_reply(AutoReply::SendFailed);
                }
                _ => {}
            }
        }
        self
    }
}

/// `t<s|d|r|f>.<language>.<name>`: language first, as codes have no dots.
fn template_figure(c: Counted, name: &str, language: &str) -> String {
    format!("{TEMPLATE_PREFIX}{}.{language}.{name}", c.template_letter())
}

// ---------------------------------------------------------------------------------------
// Slots and periods

/// The slot an instant falls in, as its sort-key text (`YYYYMMDDHHMM`, minutes 00 or 30).
pub fn slot_of(at: DateTime<Utc>) -> String {
    let minute = if at.minute() >= 30 { 30 } else { 0 };
    format!("{}{:02}{minute:02}", at.format("%Y%m%d"), at.hour())
}

/// When a slot's counters expire (TTL, Unix seconds).
pub fn slot_expiry(at: DateTime<Utc>) -> i64 {
    (at + Duration::days(RETENTION_DAYS)).timestamp()
}

/// A `tz` offset: `±HH:MM`, whole or half hours, at most ±14:00. Minutes east of UTC.
pub fn parse_tz(tz: &str) -> Result<i64, String> {
    // An unencoded `+` in a query string arrives as a space.
    let plus;
    let tz = match tz.strip_prefix(' ') {
        Some(rest) => {
            plus = format!("+{rest}");
            plus.as_str()
        }
        None => tz,
    };
    let bad = || {
        format!("\"tz\" must be an offset like +05:30 or -04:00 (whole or half hours, at most 14 hours), not {tz:?}")
    };
    let b = tz.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return Err(bad());
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return Err(bad()),
    };
    let digits = |s: &str| {
        (s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (Some(h), Some(m)) = (digits(&tz[1..3]), digits(&tz[4..6])) else {
        return Err(bad());
    };
    if !(m == 0 || m == 30) || h * 60 + m > 14 * 60 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// An offset in minutes as `±HH:MM`.
pub fn tz_text(minutes: i64) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// A summary's period: local days `from..=to` at offset `tz` (minutes east of UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: i64,
}

impl Period {
    /// From the query's `from`, `to`, `tz` (all optional) and now: by default the last 30
    /// days ending today (in `tz`, UTC by default).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Period, String> {
        let tz = match tz {
            Some(t) => parse_tz(t)?,
            None => 0,
        };
        let date = |name: &str, v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .filter(|_| v.len() == 10)
                .ok_or_else(|| format!("\"{name}\" must be a date like 2026-01-31, not {v:?}"))
        };
        let today = (now + Duration::minutes(tz)).date_naive();
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (date("from", f)?, date("to", t)?),
            (Some(f), None) => {
                let f = date("from", f)?;
                (f, today.max(f))
            }
            (None, Some(t)) => {
                let t = date("to", t)?;
                (t - Duration::days(DEFAULT_DAYS - 1), t)
            }
            (None, None) => (today - Duration::days(DEFAULT_DAYS - 1), today),
        };
        if from > to {
            return Err(format!("\"from\" ({from}) must not be after \"to\" ({to})"));
        }
        let p = Period { from, to, tz };
        if p.days() > MAX_DAYS {
            return Err(format!(
                "The period is {} days long: at most {MAX_DAYS} days",
                p.days()
            ));
        }
        Ok(p)
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period before, as long.
    pub fn previous(&self) -> Period {
        let len = Duration::days(self.days());
        Period {
            from: self.from - len,
            to: self.to - len,
            tz: self.tz,
        }
    }

    /// The UTC instant local midnight of `day` is.
    fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        Utc.from_utc_datetime(&midnight) - Duration::minutes(self.tz)
    }

    /// The first and last slot (inclusive) of the period.
    pub fn slots(&self) -> (String, String) {
        let start = self.start_of(self.from);
        let end = self.start_of(self.to + Duration::days(1)) - Duration::minutes(SLOT_MINUTES);
        (slot_of(start), slot_of(end))
    }

    /// The local day a slot falls on, if it is in the period.
    fn day_of(&self, slot: &str) -> Option<NaiveDate> {
        let at = chrono::NaiveDateTime::parse_from_str(slot, "%Y%m%d%H%M").ok()?;
        let local = (Utc.from_utc_datetime(&at) + Duration::minutes(self.tz)).date_naive();
        (self.from..=self.to).contains(&local).then_some(local)
    }
}

// ---------------------------------------------------------------------------------------
// Histograms

/// Upper bounds (seconds, exclusive) of the histogram buckets; the last bucket is open.
pub const BUCKETS: [i64; 20] = [
    15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 172_800,
    259_200, 432_000, 604_800, 1_209_600, 2_592_000,
];

/// The bucket a duration falls in (`BUCKETS.len()`: beyond the last bound).
pub fn bucket_of(seconds: i64) -> usize {
    BUCKETS
        .iter()
        .position(|&b| seconds.max(0) < b)
        .unwrap_or(BUCKETS.len())
}

/// The median of a histogram (`counts[b]`: durations in bucket `b`), interpolated within
/// its bucket; `None` when it is empty. Exact to within the bucket it falls in; the open
/// last bucket answers its lower bound.
pub fn median(counts: &[i64]) -> Option<i64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut below = 0i64;
    for (b, &c) in counts.iter().enumerate() {
        if c > 0 && (below + c) as f64 >= half {
            let lo = if b == 0 { 0 } else { BUCKETS[b - 1] };
            let Some(&hi) = BUCKETS.get(b) else {
                return Some(lo);
            };
            let within = (half - below as f64) / c as f64;
            return Some(lo + ((hi - lo) as f64 * within).round() as i64);
        }
        below += c;
    }
    None
}

// ---------------------------------------------------------------------------------------
// The summary

/// One counter item as read: its slot, device, figures and names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlotCounts {
    pub slot: String,
    pub device_id: String,
    pub figures: HashMap<String, i64>,
    pub names: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Messages {
    pub outbound: i64,
    pub inbound: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
}

impl Messages {
    fn add(&mut self, figure: &str, v: i64) -> bool {
        let f = match figure {
            OUTBOUND => &mut self.outbound,
            INBOUND => &mut self.inbound,
            DELIVERED => &mut self.delivered,
            READ => &mut self.read,
            FAILED => &mut self.failed,
            _ => return false,
        };
        *f += v;
        true
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Day {
    /// The local day, `YYYY-MM-DD`.
    pub date: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub messages: Messages,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignFigures {
    pub id: String,
    /// The campaign's name when it sent.
    pub name: String,
    pub sent: i64,
    pub failed: i64,
    /// sent / (sent + failed); null when nothing was sent.
    pub success_rate: Option<f64>,
    /// Of its messages, reported delivered (or read, which implies it) by the provider.
    pub delivered: i64,
    pub read: i64,
    /// read / sent; null when nothing was sent.
    pub read_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Campaigns {
    /// Campaigns that sent or failed a message in the period.
    pub count: i64,
    pub sent: i64,
    pub failed: i64,
    pub success_rate: Option<f64>,
    /// Most sent first.
    pub items: Vec<CampaignFigures>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoReplies {
    pub keyword: i64,
    pub ai: i64,
    pub quota_exceeded: i64,
    pub ai_error: i64,
    pub send_failed: i64,
    /// Away messages sent outside the working hours.
    pub away: i64,
    /// keyword / (keyword + ai); null when neither answered.
    pub keyword_share: Option<f64>,
    pub ai_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFigures {
    pub name: String,
    pub language: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    /// read / sent; null when nothing was sent.
    pub read_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentFigures {
    pub user_id: String,
    pub replies: i64,
    pub resolved: i64,
    pub median_first_response_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    pub conversations_opened: i64,
    pub resolved: i64,
    /// From a histogram of fixed buckets: exact to within the bucket (see docs/analytics.md).
    pub median_first_response_seconds: Option<i64>,
    pub median_resolution_seconds: Option<i64>,
    pub agents: Vec<AgentFigures>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Previous {
    pub from: String,
    pub to: String,
    pub messages: Messages,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub tz: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    pub messages: Messages,
    /// Every day of the period, oldest first, zeros included.
    pub daily: Vec<Day>,
    pub campaigns: Campaigns,
    pub auto_replies: AutoReplies,
    /// The 10 most sent.
    pub templates: Vec<TemplateFigures>,
    pub inbox: Inbox,
    pub previous: Previous,
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Default)]
struct Agent {
    replies: i64,
    resolved: i64,
    first: Vec<i64>,
}

fn bump(hist: &mut Vec<i64>, bucket: &str, v: i64) {
    if let Ok(b) = bucket.parse::<usize>() {
        if b <= BUCKETS.len() {
            if hist.len() <= b {
                hist.resize(b + 1, 0);
            }
            hist[b] += v;
        }
    }
}

/// The summary of `period` (and the one before it) from the counter items read for both,
/// only `device`'s when one is given.
pub fn summarize(period: &Period, device: Option<&str>, items: &[SlotCounts]) -> Summary {
    let previous = period.previous();
    let mut prev = Messages::default();
    let mut days: BTreeMap<NaiveDate, Messages> = BTreeMap::new();
    let mut day = period.from;
    while day <= period.to {
        days.insert(day, Messages::default());
        day += Duration::days(1);
    }
    let mut total = Messages::default();
    let mut auto = [0i64; AutoReply::ALL.len()];
    // Per campaign: sent, failed, delivered, read.
    let mut campaigns: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut templates: BTreeMap<(String, String), [i64; 4]> = BTreeMap::new();
    let (mut opened, mut resolved) = (0, 0);
    let (mut first, mut resolution) = (Vec::new(), Vec::new());
    let mut agents: BTreeMap<String, Agent> = BTreeMap::new();
    for item in items
        .iter()
        .filter(|i| device.is_none_or(|d| d == i.device_id))
    {
        let Some(local) = period.day_of(&item.slot) else {
            if previous.day_of(&item.slot).is_some() {
                for (f, v) in &item.figures {
                    prev.add(f, *v);
                }
            }
            continue;
        };
        for (k, v) in &item.names {
            if let Some(id) = k.strip_prefix(CAMPAIGN_NAME) {
                names.insert(id.to_string(), v.clone());
            }
        }
        for (f, &v) in &item.figures {
            if let Some(m) = days.get_mut(&local) {
                if m.add(f, v) {
                    total.add(f, v);
                    continue;
                }
            }
            if let Some(k) = AutoReply::ALL.iter().position(|k| k.attribute() == f) {
                auto[k] += v;
            } else if f == CONVERSATIONS_OPENED {
                opened += v;
            } else if f == CONVERSATIONS_RESOLVED {
                resolved += v;
            } else if let Some((at, id)) = [
                CAMPAIGN_SENT,
                CAMPAIGN_FAILED,
                CAMPAIGN_DELIVERED,
                CAMPAIGN_READ,
            ]
            .iter()
            .enumerate()
            .find_map(|(at, prefix)| Some((at, f.strip_prefix(prefix)?)))
            {
                campaigns.entry(id.to_string()).or_default()[at] += v;
            } else if let Some(a) = f.strip_prefix(AGENT_REPLIES) {
                agents.entry(a.to_string()).or_default().replies += v;
            } else if let Some(a) = f.strip_prefix(AGENT_RESOLVED) {
                agents.entry(a.to_string()).or_default().resolved += v;
            } else if let Some(rest) = f.strip_prefix(AGENT_FIRST_RESPONSE) {
                if let Some((b, a)) = rest.split_once('.') {
                    bump(&mut agents.entry(a.to_string()).or_default().first, b, v);
                }
            } else if let Some(b) = f.strip_prefix(FIRST_RESPONSE) {
                bump(&mut first, b, v);
            } else if let Some(b) = f.strip_prefix(RESOLUTION) {
                bump(&mut resolution, b, v);
            } else if let Some(rest) = f.strip_prefix(TEMPLATE_PREFIX) {
                let mut parts = rest.splitn(3, '.');
                if let (Some(letter), Some(lang), Some(name)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    let at = Counted::ALL
                        .iter()
                        .position(|c| letter.len() == 1 && letter.starts_with(c.template_letter()));
                    if let Some(at) = at {
                        templates
                            .entry((name.to_string(), lang.to_string()))
                            .or_default()[at] += v;
                    }
                }
            }
        }
    }
    let mut items: Vec<CampaignFigures> = campaigns
        .into_iter()
        .map(|(id, [sent, failed, delivered, read])| CampaignFigures {
            name: names.get(&id).cloned().unwrap_or_default(),
            id,
            sent,
            failed,
            success_rate: rate(sent, sent + failed),
            delivered,
            read,
            read_rate: rate(read, sent),
        })
        .collect();
    items.sort_by(|a, b| b.sent.cmp(&a.sent).then(a.id.cmp(&b.id)));
    let (c_sent, c_failed) = items
        .iter()
        .fold((0, 0), |(s, f), c| (s + c.sent, f + c.failed));
    let mut templates: Vec<TemplateFigures> = templates
        .into_iter()
        .map(
            |((name, language), [sent, delivered, read, failed])| TemplateFigures {
                name,
                language,
                sent,
                delivered,
                read,
                failed,
                read_rate: rate(read, sent),
            },
        )
        .collect();
    templates.sort_by_key(|t| std::cmp::Reverse(t.sent));
    templates.truncate(TOP_TEMPLATES);
    let [keyword, ai, quota_exceeded, ai_error, send_failed, away] = auto;
    Summary {
        from: period.from.to_string(),
        to: period.to.to_string(),
        tz: tz_text(period.tz),
        device_id: device.map(str::to_string),
        messages: total,
        daily: days
            .into_iter()
            .map(|(d, messages)| Day {
                date: d.to_string(),
                messages,
            })
            .collect(),
        campaigns: Campaigns {
            count: items.len() as i64,
            sent: c_sent,
            failed: c_failed,
            success_rate: rate(c_sent, c_sent + c_failed),
            items,
        },
        auto_replies: AutoReplies {
            keyword,
            ai,
            quota_exceeded,
            ai_error,
            send_failed,
            away,
            keyword_share: rate(keyword, keyword + ai),
            ai_share: rate(ai, keyword + ai),
        },
        templates,
        inbox: Inbox {
            conversations_opened: opened,
            resolved,
            median_first_response_seconds: median(&first),
            median_resolution_seconds: median(&resolution),
            agents: agents
                .into_iter()
                .map(|(user_id, a)| AgentFigures {
                    user_id,
                    replies: a.replies,
                    resolved: a.resolved,
                    median_first_response_seconds: median(&a.first),
                })
                .collect(),
        },
        previous: Previous {
            from: previous.from.to_string(),
            to: previous.to.to_string(),
            messages: prev,
        },
    }
}

/// The daily rows as CSV (header first).
pub fn daily_csv(summary: &Summary) -> String {
    let mut out = String::from("date,outbound,inbound,delivered,read,failed\n");
    for d in &summary.daily {
        let m = &d.messages;
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            d.date, m.outbound, m.inbound, m.delivered, m.read, m.failed
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_are_half_hours() {
        assert_eq!(slot_of(at("2026-03-01T09:29:59Z")), "202603010900");
        assert_eq!(slot_of(at("2026-03-01T09:30:00Z")), "202603010930");
    }

    #[test]
    fn tz_offsets() {
        assert_eq!(parse_tz("+05:30"), Ok(330));
        assert_eq!(parse_tz("-04:00"), Ok(-240));
        assert_eq!(parse_tz("+14:00"), Ok(840));
        for bad in [
            "+5:30", "05:30", "+05:15", "+14:30", "+05-30", "Z", "+0a:00",
        ] {
            assert!(parse_tz(bad).is_err(), "{bad}");
        }
        assert_eq!(tz_text(-210), "-03:30");
    }

    #[test]
    fn periods() {
        let now = at("2026-03-31T20:00:00Z");
        let p = Period::parse(None, None, None, now).unwrap();
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2026-03-02".into(), "2026-03-31".into())
        );
        // At +05:00 it is already April 1st.
        let p = Period::parse(None, None, Some("+05:00"), now).unwrap();
        assert_eq!(p.to.to_string(), "2026-04-01");
        assert_eq!(p.slots(), ("202603021900".into(), "202604011830".into()));
        let p = Period::parse(Some("2026-03-10"), Some("2026-03-12"), Some("-01:30"), now).unwrap();
        assert_eq!(p.slots(), ("202603100130".into(), "202603130100".into()));
        assert_eq!(p.previous().from.to_string(), "2026-03-07");
        assert_eq!(p.previous().to.to_string(), "2026-03-09");
        assert!(Period::parse(Some("2026-01-01"), Some("2026-04-03"), None, now).is_err());
        assert!(Period::parse(Some("2026-01-01"), Some("2026-04-02"), None, now).is_ok());
        assert!(Period::parse(Some("2026-03-02"), Some("2026-03-01"), None, now).is_err());
        assert!(Period::parse(Some("2026-3-1"), None, None, now).is_err());
    }

    #[test]
    fn statuses_count_once_each() {
        let mut t = Tally::default();
        t.status(
            None,
            Counted::Sent,
            Some(("promo", "en")),
            None,
            &CountsAs::Message,
        );
        t.status(
            Some(Counted::Sent),
            Counted::Read,
            Some(("promo", "en")),
            None,
            &CountsAs::Message,
        );
        assert_eq!(t.adds.get(OUTBOUND), Some(&1));
        assert_eq!(t.adds.get(DELIVERED), Some(&1));
        assert_eq!(t.adds.get(READ), Some(&1));
        assert_eq!(t.adds.get("td.en.promo"), Some(&1));
        let mut t = Tally::default();
        t.status(
            Some(Counted::Delivered),
            Counted::Read,
            None,
            None,
            &CountsAs::Message,
        );
        assert_eq!(t.adds.get(DELIVERED), None);
        let mut t = Tally::default();
        let c = CountsAs::Campaign {
            id: "c1".into(),
            name: "Spring".into(),
        };
        t.status(None, Counted::Failed, None, Some("c1"), &c);
        assert_eq!(t.adds.get("cf.c1"), Some(&1));
        assert_eq!(t.names.get("cn.c1").map(String::as_str), Some("Spring"));
        // A campaign message's reports (counted as a message) count for its campaign: read
        // without delivered first counts both, a later read only itself.
        let mut t = Tally::default();
        t.status(
            Some(Counted::Sent),
            Counted::Read,
            None,
            Some("c1"),
            &CountsAs::Message,
        );
        assert_eq!(
            (t.adds.get("cd.c1"), t.adds.get("cr.c1")),
            (Some(&1), Some(&1))
        );
        let mut t = Tally::default();
        t.status(
            Some(Counted::Delivered),
            Counted::Read,
            None,
            Some("c1"),
            &CountsAs::Message,
        );
        assert_eq!((t.adds.get("cd.c1"), t.adds.get("cr.c1")), (None, Some(&1)));
        assert_eq!(
            t.adds.get("cs.c1"),
            None,
            "sent is counted once, on completion"
        );
    }

    #[test]
    fn medians_within_their_bucket() {
        assert_eq!(median(&[]), None);
        // 3 in [0, 15), 1 in [15, 30): the median is in the first bucket.
        let m = median(&[3, 1]).unwrap();
        assert!((0..15).contains(&m));
        assert_eq!(bucket_of(45), 2);
        assert_eq!(bucket_of(-3), 0);
        assert_eq!(bucket_of(10_000_000), BUCKETS.len());
        let mut h = vec![0; BUCKETS.len() + 1];
        h[BUCKETS.len()] = 2;
        assert_eq!(median(&h), Some(2_592_000));
    }

    #[test]
    fn summary_days_previous_and_devices() {
        let p = Period::parse(
            Some("2026-03-10"),
            Some("2026-03-11"),
            Some("+05:00"),
            at("2026-03-11T00:00:00Z"),
        )
        .unwrap();
        let item = |slot: &str, dev: &str, f: &[(&str, i64)]| SlotCounts {
            slot: slot.into(),
            device_id: dev.into(),
            figures: f.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            names: HashMap::new(),
        };
        let items = vec![
            // 2026-03-10 19:00Z is 2026-03-11 00:00 at +05:00.
            item("202603101900", "a", &[(OUTBOUND, 2), ("ak", 1)]),
            item("202603101830", "b", &[(OUTBOUND, 1), (INBOUND, 4)]),
            item("202603081900", "a", &[(OUTBOUND, 7)]),
        ];
        let s = summarize(&p, None, &items);
        assert_eq!(s.daily.len(), 2);
        assert_eq!(s.daily[0].messages.outbound, 1);
        assert_eq!(s.daily[1].messages.outbound, 2);
        assert_eq!(s.messages.inbound, 4);
        assert_eq!(s.previous.messages.outbound, 7);
        assert_eq!(s.auto_replies.keyword_share, Some(1.0));
        let s = summarize(&p, Some("a"), &items);
        assert_eq!(s.messages.outbound, 2);
        assert!(daily_csv(&s)
            .starts_with("date,outbound,inbound,delivered,read,failed\n2026-03-10,0,0,0,0,0\n"));
    }
}
