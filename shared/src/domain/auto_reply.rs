//! Keyword auto-reply rules: normalisation, matching and precedence.
//!
//! Matching is case-insensitive on trimmed, Unicode-normalised (NFKC) text with runs of
//! white space folded to one space. All keywords of a tenant go into one Aho-Corasick
//! automaton, so matching a message costs time in the message's length, not in the number
//! of rules.
//!
//! Precedence when several rules match: `exact` beats `starts_with` beats `contains`; within
//! one kind the longest keyword wins (it is the more specific); then the oldest rule.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    Contains,
    StartsWith,
    Exact,
}

/// NFKC, lower case, trimmed, inner white space folded.
pub fn normalize(text: &str) -> String {
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the matcher needs of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleKey {
    pub id: String,
    pub keyword: String,
    pub match_type: MatchType,
    /// Sorts rules by age.
    pub created_at: DateTime<Utc>,
}

/// The active rules of a tenant, compiled.
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Vec<RuleKey>,
    /// Normalised keywords, parallel to `rules`.
    keywords: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Matcher {
    pub fn new(mut rules: Vec<RuleKey>) -> Self {
        rules.retain(|r| !normalize(&r.keyword).is_empty());
        let keywords: Vec<String> = rules.iter().map(|r| normalize(&r.keyword)).collect();
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .ok();
        Matcher {
            rules,
            keywords,
            automaton,
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule that answers `message`, if any.
    pub fn find(&self, message: &str) -> Option<&RuleKey> {
        let text = normalize(message);
        let automaton = self.automaton.as_ref()?;
        let mut best: Option<(MatchType, usize, DateTime<Utc>, usize)> = None;
        for m in automaton.find_overlapping_iter(&text) {
            let i = m.pattern().as_usize();
            let (rule, keyword) = (&self.rules[i], &self.keywords[i]);
            let hit = match rule.match_type {
                MatchType::Contains => true,
                MatchType::StartsWith => m.start() == 0,
                MatchType::Exact => m.start() == 0 && m.end() == text.len(),
            };
            if !hit {
                continue;
            }
            let candidate = (rule.match_type, keyword.chars().count(), rule.created_at, i);
            let better = match best {
                None => true,
                Some((t, len, created, _)) => {
                    (candidate.0, candidate.1) > (t, len)
                        || ((candidate.0, candidate.1) == (t, len) && candidate.2 < created)
                }
            };
            if better {
                best = Some(candidate);
            }
        }
        best.map(|(_, _, _, i)| &self.rules[i])
    }
}

// Limits of a rule and of the AI settings, each answered with the exact message a client sees.

pub const MAX_KEYWORD_CHARS: usize = 100;
pub const MAX_RESPONSES: usize = 10;
pub const MAX_RESPONSE_CHARS: usize = 4096;
pub const MAX_STEP_DELAY_SECONDS: u32 = 60;
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 4000;

/// A rule's keyword: trimmed, not empty once normalised, at most [`MAX_KEYWORD_CHARS`].
pub fn keyword(k: &str) -> Result<String, String> {
    let k = k.trim();
    if normalize(k).is_empty() {
        return Err("\"keyword\" must not be empty".into());
    }
    if k.chars().count() > MAX_KEYWORD_CHARS {
        return Err(format!(
            "\"keyword\" must be at most {MAX_KEYWORD_CHARS} characters"
        ));
    }
    Ok(k.to_string())
}

/// `responses` if given, else `[response]`; each non-empty and within WhatsApp's size.
pub fn responses(
    response: Option<&str>,
    responses: Option<&[String]>,
) -> Result<Vec<String>, String> {
    let list: Vec<String> = match (responses, response) {
        (Some(list), _) if !list.is_empty() => list.to_vec(),
        (_, Some(one)) => vec![one.to_string()],
        _ => return Err("Send \"response\" or a non-empty \"responses\" list".into()),
    };
    if list.len() > MAX_RESPONSES {
        return Err(format!(
            "\"responses\" may hold at most {MAX_RESPONSES} messages"
        ));
    }
    for (i, r) in list.iter().enumerate() {
        if r.trim().is_empty() {
            return Err(format!("\"responses[{i}]\" must not be empty"));
        }
        if r.chars().count() > MAX_RESPONSE_CHARS {
            return Err(format!(
                "\"responses[{i}]\" must be at most {MAX_RESPONSE_CHARS} characters"
            ));
        }
    }
    Ok(list)
}

/// The pause between a rule's responses, in seconds.
pub fn step_delay(v: u32) -> Result<u32, String> {
    if v > MAX_STEP_DELAY_SECONDS {
        return Err(format!(
            "\"step_delay_seconds\" must be between 0 and {MAX_STEP_DELAY_SECONDS}"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule created on `day` (`YYYY-MM-DD`).
    fn rule(id: &str, keyword: &str, t: MatchType, day: &str) -> RuleKey {
        RuleKey {
            id: id.into(),
            keyword: keyword.into(),
            match_type: t,
            created_at: crate::domain::time::at(&format!("{day}T00:00:00Z")),
        }
    }

    fn find(m: &Matcher, text: &str) -> Option<String> {
        m.find(text).map(|r| r.id.clone())
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("  Hello\t  WORLD \n"), "hello world");
        assert_eq!(
            normalize("ＰＲＩＣＥ"),
            "price",
            "full-width folds under NFKC"
        );
        assert_eq!(normalize("Ｃafé"), "café");
        assert_eq!(
            normalize("Cafe\u{301}"),
            "café",
            "combining accent composes"
        );
        assert_eq!(normalize("ÀÉÎ"), "àéî");
    }

    #[test]
    fn the_three_match_types() {
        let m = Matcher::new(vec![
            rule("c", "price", MatchType::Contains, "2026-01-01"),
            rule("s", "hi", MatchType::StartsWith, "2026-01-01"),
            rule("e", "menu", MatchType::Exact, "2026-01-01"),
        ]);
        assert_eq!(find(&m, "What is the PRICE?").as_deref(), Some("c"));
        assert_eq!(find(&m, "Hi there").as_deref(), Some("s"));
        assert_eq!(
            find(&m, "oh hi").as_deref(),
            None,
            "starts_with only at the start"
        );
        assert_eq!(find(&m, "  MENU ").as_deref(), Some("e"));
        assert_eq!(
            find(&m, "menu please").as_deref(),
            None,
            "exact means the whole message"
        );
        assert_eq!(find(&m, "nothing here").as_deref(), None);
    }

    #[test]
    fn precedence() {
        let m = Matcher::new(vec![
            rule("contains-price", "price", MatchType::Contains, "2026-01-01"),
            rule(
                "contains-price-list",
                "price list",
                MatchType::Contains,
                "2026-01-03",
            ),
            rule("starts-price", "price", MatchType::StartsWith, "2026-01-04"),
            rule("exact-price", "price", MatchType::Exact, "2026-01-05"),
            rule("older-dup", "shipping", MatchType::Contains, "2026-01-01"),
            rule("newer-dup", "shipping", MatchType::Contains, "2026-02-01"),
        ]);
        assert_eq!(
            find(&m, "price").as_deref(),
            Some("exact-price"),
            "exact beats all"
        );
        assert_eq!(
            find(&m, "price please").as_deref(),
            Some("starts-price"),
            "starts_with beats contains"
        );
        assert_eq!(
            find(&m, "send the price list").as_deref(),
            Some("contains-price-list"),
            "longest keyword"
        );
        assert_eq!(find(&m, "the price?").as_deref(), Some("contains-price"));
        assert_eq!(
            find(&m, "shipping?").as_deref(),
            Some("older-dup"),
            "then the oldest rule"
        );
    }

    #[test]
    fn empty_keywords_never_match() {
        let m = Matcher::new(vec![rule(
            "blank",
            "   ",
            MatchType::Contains,
            "2026-01-01",
        )]);
        assert!(m.is_empty());
        assert_eq!(find(&m, "anything"), None);
    }

    #[test]
    fn thousands_of_rules() {
        let rules: Vec<RuleKey> = (0..5000)
            .map(|i| {
                rule(
                    &format!("r{i}"),
                    &format!("keyword{i}"),
                    MatchType::Contains,
                    "2026-01-01",
                )
            })
            .collect();
        let m = Matcher::new(rules);
        assert_eq!(find(&m, "I want KEYWORD4321 now").as_deref(), Some("r4321"));
        assert_eq!(find(&m, "nothing").as_deref(), None);
    }
}
