//! Rules for bulk campaigns: what a valid campaign is, how `{{name}}` / `{{phone}}` are
//! filled in, how a batch is paced with SQS delays, and how a recipients array is cut into
//! items. Pure functions over plain types; every error is the exact message a client sees.
//! The flow that uses them is `crate::services::campaigns`; the design is in `docs/campaigns.md`.

use super::{messages, phone, validate};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `delaySeconds`: the spec's range, and the default when it is left out (the spec's example).
pub const MIN_DELAY_SECONDS: u32 = 1;
pub const MAX_DELAY_SECONDS: u32 = 60;
pub const DEFAULT_DELAY_SECONDS: u32 = 5;
/// Entries in one `recipients` array (about 4.5 MB of JSON, under Lambda's 6 MB body).
/// Larger audiences belong in a contact list or a tag, which are read a page at a time.
pub const MAX_RECIPIENTS: usize = 100_000;
pub const MAX_CAMPAIGN_NAME_CHARS: usize = 200;
pub const MAX_RECIPIENT_NAME_CHARS: usize = 200;
/// How far ahead `scheduledAt` may be.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 366;
/// Recipients queued by one batch at most: they are written in one transaction together
/// with the campaign and its scheduler entry (DynamoDB: 100 items per transaction).
pub const MAX_BATCH_SIZE: usize = 98;
/// SQS's longest per-message delay (15 minutes): no message of a batch is due later.
pub const MAX_SQS_DELAY_SECS: i64 = 900;
/// A stored recipients array is cut into items of at most this many entries and bytes
/// (DynamoDB items hold 400 KB).
pub const CHUNK_MAX_ENTRIES: usize = 1000;
pub const CHUNK_MAX_BYTES: usize = 300_000;

/// A campaign's life: `scheduled → running ⇄ paused → completed`, or `cancelled` from any
/// of the first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Scheduled,
    Running,
    Paused,
    Completed,
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Running => "running",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, CampaignStatus::Completed | CampaignStatus::Cancelled)
    }
}

impl std::fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a campaign is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The tenant's daily outbound cap ran out; resumes by itself on the next UTC day.
    DailyLimit,
    /// The campaign's device (or, without `deviceId`, any connected device) is gone;
    /// resumes with `POST …/run` once a device is connected again.
    DeviceUnavailable,
    /// The campaign's template can no longer be sent (no longer approved, deleted, or the
    /// device is not a Cloud API one); resumes with `POST …/run` once it can.
    TemplateUnavailable,
}

impl PauseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PauseReason::DailyLimit => "daily_limit",
            PauseReason::DeviceUnavailable => "device_unavailable",
            PauseReason::TemplateUnavailable => "template_unavailable",
        }
    }
}

/// A recipient's life: `pending → queued → sending → sent | failed`, or `cancelled`, or
/// `skipped` (opted out when its turn came: nothing sent, error `opted_out`).
/// `sending` (claimed by a worker, the provider may be answering) is shown as `queued`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecipientStatus {
    Pending,
    Queued,
    Sending,
    Sent,
    Failed,
    Cancelled,
    Skipped,
}

impl RecipientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Pending => "pending",
            RecipientStatus::Queued => "queued",
            RecipientStatus::Sending => "sending",
            RecipientStatus::Sent => "sent",
            RecipientStatus::Failed => "failed",
            RecipientStatus::Cancelled => "cancelled",
            RecipientStatus::Skipped => "skipped",
        }
    }

    /// What the API shows.
    pub fn public(self) -> RecipientStatus {
        match self {
            RecipientStatus::Sending => RecipientStatus::Queued,
            s => s,
        }
    }
}

/// Fills in `{{name}}` and `{{phone}}` (any case, spaces inside the braces allowed) in one
/// pass: text that a name brings in is not looked at again. Unknown `{{…}}` stay as written;
/// a recipient without a name gets an empty string.
pub fn render(template: &str, name: &str, phone: &str) -> String {
    let mut out = String::with_capacity(template.len() + name.len() + phone.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = after[..end].trim();
        if inner.eq_ignore_ascii_case("name") {
            out.push_str(name);
        } else if inner.eq_ignore_ascii_case("phone") {
            out.push_str(phone);
        } else {
            out.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// What one recipient is sent: the message and, in a template campaign, the template, each
/// with `{{name}}` and `{{phone}}` filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientContent {
    /// The text (a template campaign's optional `message`: recorded, not sent).
    pub text: String,
    pub template: Option<messages::TemplateSpec>,
}

/// The content for one recipient, unchecked ([`recipient_content`] checks it).
pub fn fill(
    message: &str,
    template: Option<&messages::TemplateSpec>,
    name: &str,
    phone: &str,
) -> RecipientContent {
    let template = template.map(|t| messages::TemplateSpec {
        variables: t
            .variables
            .as_ref()
            .map(|vars| vars.iter().map(|v| render(v, name, phone)).collect()),
        components: t.components.as_ref().map(|components| {
            components
                .iter()
                .map(|c| render_strings(c, name, phone))
                .collect()
        }),
        ..t.clone()
    });
    RecipientContent {
        text: render(message, name, phone),
        template,
    }
}

/// `value` with `{{name}}` and `{{phone}}` filled in every string in it (a template's raw
/// components: a header's text, a button's URL suffix).
fn render_strings(value: &serde_json::Value, name: &str, phone: &str) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(render(s, name, phone)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_strings(v, name, phone))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), render_strings(v, name, phone)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The content for one recipient, or why it cannot be sent: a text over WhatsApp's limit
/// with this recipient's name, or a template variable left empty (`{{name}}` of a recipient
/// without a name: Meta refuses empty parameters).
pub fn recipient_content(
    message: &str,
    template: Option<&messages::TemplateSpec>,
    name: &str,
    phone: &str,
) -> Result<RecipientContent, String> {
    let content = fill(message, template, name, phone);
    match &content.template {
        None => {
            let n = content.text.chars().count();
            if n > messages::MAX_TEXT_CHARS {
                return Err(format!(
                    "The message with this recipient's name is {n} characters: WhatsApp takes at most {}",
                    messages::MAX_TEXT_CHARS
                ));
            }
        }
        Some(t) => {
            let vars = t.variables.as_deref().unwrap_or_default();
            if let Some(i) = vars.iter().position(|v| v.trim().is_empty()) {
                return Err(format!(
                    "Template variable {} is empty for this recipient (it has no name): Meta refuses empty parameters",
                    i + 1
                ));
            }
            let components = t.components.as_deref().unwrap_or_default();
            if let Some(c) = components.iter().find(|c| has_empty_text_parameter(c)) {
                return Err(format!(
                    "A text parameter of the template's {} component is empty for this recipient (it has no name): Meta refuses empty parameters",
                    c.get("type").and_then(|t| t.as_str()).unwrap_or("unnamed")
                ));
            }
        }
    }
    Ok(content)
}

/// Whether a raw component has a `{"type": "text"}` parameter whose text is blank.
fn has_empty_text_parameter(component: &serde_json::Value) -> bool {
    component
        .get("parameters")
        .and_then(|p| p.as_array())
        .is_some_and(|params| {
            params.iter().any(|p| {
                p.get("type").and_then(|t| t.as_str()) == Some("text")
                    && p.get("text")
                        .and_then(|t| t.as_str())
                        .is_none_or(|t| t.trim().is_empty())
            })
        })
}

pub fn campaign_name(raw: &str) -> Result<String, String> {
    validate::name("name", raw, MAX_CAMPAIGN_NAME_CHARS)
}

/// The message template: 1–4096 characters before the variables are filled in.
pub fn message(raw: &str) -> Result<String, String> {
    messages::message_text("message", raw)
}

/// `delaySeconds`: a whole number from 1 to 60; 5 when left out.
pub fn delay_seconds(raw: Option<&serde_json::Value>) -> Result<u32, String> {
    let bad = || {
        format!(
            "\"delaySeconds\" must be a whole number of seconds from {MIN_DELAY_SECONDS} to {MAX_DELAY_SECONDS}"
        )
    };
    match raw {
        None | Some(serde_json::Value::Null) => Ok(DEFAULT_DELAY_SECONDS),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (MIN_DELAY_SECONDS..=MAX_DELAY_SECONDS).contains(n))
            .ok_or_else(bad),
    }
}

/// `scheduledAt`: an ISO-8601 time with its offset (`2026-07-01T10:00:00Z`), in the future
/// and at most a year ahead. `None` when not given.
pub fn scheduled_at(
    raw: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, String> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(None);
    };
    let at = crate::domain::time::parse(raw).ok_or_else(|| {
            "\"scheduledAt\" must be an ISO-8601 date and time with a time zone, e.g. 2026-07-01T10:00:00Z"
                .to_string()
        })?;
    if at <= now {
        return Err("\"scheduledAt\" must be in the future (leave it out to start now)".into());
    }
    if at > now + Duration::days(MAX_SCHEDULE_AHEAD_DAYS) {
        return Err(format!(
            "\"scheduledAt\" must be at most {MAX_SCHEDULE_AHEAD_DAYS} days ahead"
        ));
    }
    Ok(Some(at))
}

/// Which audience a campaign has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudienceKind {
    Recipients,
    ContactList,
    Tag,
}

/// Exactly one of `recipients`, `contactListId` and `tag` must be given.
pub fn audience_kind(recipients: bool, list: bool, tag: bool) -> Result<AudienceKind, String> {
    let given: Vec<&str> = [
        (recipients, "\"recipients\""),
        (list, "\"contactListId\""),
        (tag, "\"tag\""),
    ]
    .into_iter()
    .filter_map(|(g, n)| g.then_some(n))
    .collect();
    match given.as_slice() {
        [_] if recipients => Ok(AudienceKind::Recipients),
        [_] if list => Ok(AudienceKind::ContactList),
        [_] => Ok(AudienceKind::Tag),
        [] => Err(
            "Provide exactly one of \"recipients\", \"contactListId\" or \"tag\" (none was given)"
                .into(),
        ),
        more => Err(format!(
            "Provide exactly one of \"recipients\", \"contactListId\" or \"tag\" (got {})",
            more.join(" and ")
        )),
    }
}

/// One entry of a `recipients` array, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Digits only.
    #[serde(rename = "p")]
    pub phone: String,
    /// Empty when not given.
    #[serde(rename = "n", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// Checks one entry; errors name it as `recipients[<index>].<field>`.
pub fn entry(
    index: usize,
    name: Option<&str>,
    raw_phone: Option<&str>,
    country: Option<phone::Country>,
) -> Result<Entry, String> {
    let field = |f: &str| format!("recipients[{index}].{f}");
    let raw_phone = raw_phone.ok_or_else(|| format!("\"{}\" is required", field("phone")))?;
    let phone = phone::normalize_in(&field("phone"), raw_phone, country)?;
    let name = match name {
        None => String::new(),
        Some(n) => {
            let n = n.trim();
            if n.chars().count() > MAX_RECIPIENT_NAME_CHARS {
                return Err(format!(
                    "\"{}\" must be at most {MAX_RECIPIENT_NAME_CHARS} characters",
                    field("name")
                ));
            }
            if n.chars().any(char::is_control) {
                return Err(format!(
                    "\"{}\" must not contain control characters",
                    field("name")
                ));
            }
            n.to_string()
        }
    };
    Ok(Entry { phone, name })
}

/// Entries with a phone seen before are dropped (the first wins); returns the kept entries
/// and how many were dropped.
pub fn dedupe(entries: Vec<Entry>) -> (Vec<Entry>, usize) {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    let before = entries.len();
    let kept: Vec<Entry> = entries
        .into_iter()
        .filter(|e| seen.insert(e.phone.clone()))
        .collect();
    let dropped = before - kept.len();
    (kept, dropped)
}

/// Cuts entries into chunks of at most [`CHUNK_MAX_ENTRIES`] entries and about
/// [`CHUNK_MAX_BYTES`] bytes, in order.
pub fn chunks(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for e in entries {
        // Attribute names, the map's overhead and the two strings.
        let size = 16 + e.phone.len() + e.name.len();
        if !current.is_empty()
            && (current.len() >= CHUNK_MAX_ENTRIES || bytes + size > CHUNK_MAX_BYTES)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(e);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Where the next batch of a stored recipients array starts: chunk and offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkCursor {
    pub chunk: u32,
    pub offset: u32,
}

impl ChunkCursor {
    pub fn parse(s: &str) -> Option<ChunkCursor> {
        let (c, o) = s.split_once(':')?;
        Some(ChunkCursor {
            chunk: c.parse().ok()?,
            offset: o.parse().ok()?,
        })
    }
}

impl std::fmt::Display for ChunkCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.chunk, self.offset)
    }
}

/// When each message of a batch goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    /// SQS `DelaySeconds` of each message, in order (each ≤ 900).
    pub delays: Vec<i32>,
    /// When each message is due (Unix milliseconds).
    pub due_ms: Vec<i64>,
    /// When the message after this batch is due.
    pub next_send_at_ms: i64,
}

/// Paces up to `wanted` messages `delay_secs` apart: the first at `next_send_at_ms` (or
/// now, if that has passed), as SQS delays from `now_ms` rounded to whole seconds, none
/// later than SQS's 900 s. The plan can hold fewer than `wanted` messages (a long delay, or
/// a start far ahead); an empty plan means the next message is not yet within SQS's reach.
pub fn plan_batch(now_ms: i64, next_send_at_ms: i64, delay_secs: u32, wanted: usize) -> BatchPlan {
    let step = i64::from(delay_secs.max(1)) * 1000;
    let start = next_send_at_ms.max(now_ms);
    let mut delays = Vec::with_capacity(wanted);
    let mut due_ms = Vec::with_capacity(wanted);
    for i in 0..wanted {
        let at = start + step * i as i64;
        // Nearest whole second: a batch boundary is off by at most half a second.
        let delay = (at - now_ms + 500).div_euclid(1000);
        if delay > MAX_SQS_DELAY_SECS {
            break;
        }
        let delay = i32::try_from(delay.max(0)).unwrap_or(0);
        delays.push(delay);
        due_ms.push(now_ms + i64::from(delay) * 1000);
    }
    let next_send_at_ms = match due_ms.last() {
        Some(last) => last + step,
        None => next_send_at_ms,
    };
    BatchPlan {
        delays,
        due_ms,
        next_send_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at;

    #[test]
    fn a_template_campaigns_variables_are_filled_per_recipient_and_an_empty_one_is_refused() {
        let t = messages::TemplateSpec {
            name: "order_update".into(),
            language: "en_US".into(),
            components: None,
            variables: Some(vec!["{{name}}".into(), "A-{{phone}}".into()]),
        };
        let c = recipient_content("", Some(&t), "Ali", "923001111111").unwrap();
        assert_eq!(c.text, "");
        let filled = c.template.unwrap();
        assert_eq!(filled.name, "order_update");
        assert_eq!(
            filled.variables.unwrap(),
            ["Ali".to_string(), "A-923001111111".to_string()]
        );
        assert_eq!(
            recipient_content("", Some(&t), "", "923001111111").unwrap_err(),
            "Template variable 1 is empty for this recipient (it has no name): Meta refuses empty parameters"
        );
        // Raw components are filled too (a header's text, a button's URL suffix).
        let with_components = messages::TemplateSpec {
            components: Some(vec![
                serde_json::json!({"type": "button", "sub_type": "url",
                "index": 0, "parameters": [{"type": "text", "text": "track/{{phone}}"}]}),
            ]),
            variables: None,
            ..t.clone()
        };
        let filled = recipient_content("", Some(&with_components), "Ali", "923001111111")
            .unwrap()
            .template
            .unwrap();
        assert_eq!(
            filled.components.unwrap()[0]["parameters"][0]["text"],
            "track/923001111111"
        );
        // A header whose only text is the name is refused for a nameless recipient.
        let header = messages::TemplateSpec {
            components: Some(vec![serde_json::json!({"type": "header",
                "parameters": [{"type": "text", "text": " {{name}} "}]})]),
            variables: None,
            ..t.clone()
        };
        assert!(recipient_content("", Some(&header), "Ali", "1").is_ok());
        assert_eq!(
            recipient_content("", Some(&header), "", "1").unwrap_err(),
            "A text parameter of the template's header component is empty for this recipient (it has no name): Meta refuses empty parameters"
        );
        // A text campaign's content is its text, checked for length.
        let text = recipient_content("Hi {{name}}", None, "Sara", "1").unwrap();
        assert_eq!((text.text.as_str(), text.template), ("Hi Sara", None));
        let long = "x".repeat(messages::MAX_TEXT_CHARS);
        assert!(recipient_content(&format!("{long}{{{{name}}}}"), None, "Sara", "1").is_err());
    }

    #[test]
    fn variables_are_filled_in_once() {
        assert_eq!(
            render("Hi {{name}}, today only — 20% off!", "Ali", "923001234567"),
            "Hi Ali, today only — 20% off!"
        );
        assert_eq!(
            render("{{ NAME }} / {{Phone}} / {{phone}}", "Sara", "92300"),
            "Sara / 92300 / 92300"
        );
        assert_eq!(render("Hi {{name}}!", "", "1"), "Hi !");
        assert_eq!(render("{{unknown}} {{name", "A", "1"), "{{unknown}} {{name");
        assert_eq!(
            render("{{name}}", "{{phone}}", "1"),
            "{{phone}}",
            "not re-read"
        );
        assert_eq!(render("no vars", "A", "1"), "no vars");
        assert_eq!(render("{{}}{{name}}}}", "A", "1"), "{{}}A}}");
        assert!(recipient_content(&"x".repeat(4090), None, "", "1").is_ok());
        let long = recipient_content(
            &format!("{}{{{{name}}}}", "x".repeat(4090)),
            None,
            "Abcdefgh",
            "1",
        );
        assert!(long.is_err_and(|e| e.contains("4098 characters")));
    }

    #[test]
    fn delays() {
        use serde_json::json;
        assert_eq!(delay_seconds(None), Ok(5));
        assert_eq!(delay_seconds(Some(&json!(null))), Ok(5));
        assert_eq!(delay_seconds(Some(&json!(1))), Ok(1));
        assert_eq!(delay_seconds(Some(&json!(60))), Ok(60));
        for bad in [json!(0), json!(61), json!(-1), json!(1.5), json!("3")] {
            assert_eq!(
                delay_seconds(Some(&bad)),
                Err("\"delaySeconds\" must be a whole number of seconds from 1 to 60".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn schedules() {
        let now = at("2026-06-01T10:00:00Z");
        assert_eq!(scheduled_at(None, now), Ok(None));
        assert_eq!(
            scheduled_at(Some("2026-07-01T10:00:00Z"), now),
            Ok(Some(at("2026-07-01T10:00:00Z")))
        );
        assert_eq!(
            scheduled_at(Some("2026-07-01T12:00:00+02:00"), now),
            Ok(Some(at("2026-07-01T10:00:00Z")))
        );
        assert!(
            scheduled_at(Some("2026-07-01T10:00:00"), now).is_err_and(|e| e.contains("time zone"))
        );
        assert!(scheduled_at(Some("tomorrow"), now).is_err());
        assert!(scheduled_at(Some("2026-06-01T10:00:00Z"), now)
            .is_err_and(|e| e.contains("in the future")));
        assert!(
            scheduled_at(Some("2027-06-10T10:00:00Z"), now).is_err_and(|e| e.contains("366 days"))
        );
    }

    #[test]
    fn exactly_one_audience() {
        assert_eq!(
            audience_kind(true, false, false),
            Ok(AudienceKind::Recipients)
        );
        assert_eq!(
            audience_kind(false, true, false),
            Ok(AudienceKind::ContactList)
        );
        assert_eq!(audience_kind(false, false, true), Ok(AudienceKind::Tag));
        assert_eq!(
            audience_kind(false, false, false),
            Err("Provide exactly one of \"recipients\", \"contactListId\" or \"tag\" (none was given)".into())
        );
        assert_eq!(
            audience_kind(true, false, true),
            Err("Provide exactly one of \"recipients\", \"contactListId\" or \"tag\" (got \"recipients\" and \"tag\")".into())
        );
    }

    #[test]
    fn entries_dedupe_and_chunk() {
        assert_eq!(
            entry(0, Some(" Ali "), Some("+92 300 1234567"), None),
            Ok(Entry {
                phone: "923001234567".into(),
                name: "Ali".into()
            })
        );
        assert_eq!(
            entry(3, None, Some("12"), None),
            Err("\"recipients[3].phone\" must be an E.164 number or local digits".into())
        );
        assert_eq!(
            entry(2, Some("A"), None, None),
            Err("\"recipients[2].phone\" is required".into())
        );
        assert!(entry(1, Some(&"x".repeat(201)), Some("1234567"), None).is_err());
        let e = |p: &str| Entry {
            phone: p.into(),
            name: String::new(),
        };
        let (kept, dropped) = dedupe(vec![e("1111111"), e("2222222"), e("1111111")]);
        assert_eq!((kept.len(), dropped), (2, 1));
        let many: Vec<Entry> = (0..2500).map(|i| e(&format!("{:07}", i))).collect();
        let c = chunks(many);
        assert_eq!(
            c.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1000, 1000, 500]
        );
        let big: Vec<Entry> = (0..900)
            .map(|i| Entry {
                phone: format!("{:07}", i),
                name: "é".repeat(200),
            })
            .collect();
        let c = chunks(big);
        assert!(c.len() > 1 && c.iter().all(|c| c.len() * 423 <= CHUNK_MAX_BYTES + 423));
        assert_eq!(
            ChunkCursor::parse("3:17"),
            Some(ChunkCursor {
                chunk: 3,
                offset: 17
            })
        );
        assert_eq!(
            ChunkCursor {
                chunk: 3,
                offset: 17
            }
            .to_string(),
            "3:17"
        );
        assert_eq!(ChunkCursor::parse("x"), None);
    }

    #[test]
    fn batches_are_paced_within_sqs_delays() {
        let now = 1_000_000;
        let p = plan_batch(now, 0, 3, 4);
        assert_eq!(p.delays, vec![0, 3, 6, 9]);
        assert_eq!(p.next_send_at_ms, now + 12_000);
        // The next batch continues where this one stops, whenever it is queued.
        let p2 = plan_batch(now + 9_300, p.next_send_at_ms, 3, 2);
        assert_eq!(p2.delays, vec![3, 6]);
        let p3 = plan_batch(now + 11_400, p.next_send_at_ms, 3, 1);
        assert_eq!(p3.delays, vec![1], "rounded to the nearest second");
        // A late batch starts at once.
        assert_eq!(
            plan_batch(now + 60_000, p.next_send_at_ms, 3, 1).delays,
            vec![0]
        );
        // At most 900 s ahead: 60 s apart, 16 messages fit.
        let p = plan_batch(now, 0, 60, 98);
        assert_eq!(p.delays.len(), 16);
        assert_eq!(p.delays.last(), Some(&900));
        // A start beyond SQS's reach plans nothing.
        let p = plan_batch(now, now + 901_000, 1, 5);
        assert!(p.delays.is_empty());
        assert_eq!(p.next_send_at_ms, now + 901_000);
    }

    #[test]
    fn public_statuses() {
        assert_eq!(RecipientStatus::Sending.public(), RecipientStatus::Queued);
        assert_eq!(RecipientStatus::Sent.public(), RecipientStatus::Sent);
        assert!(CampaignStatus::Cancelled.is_finished());
        assert!(!CampaignStatus::Paused.is_finished());
    }
}
