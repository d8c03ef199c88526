//! Team Inbox rules: which listing partitions a conversation sits in, labels, canned
//! responses, search terms and response times. See `docs/inbox.md`.

use chrono::{DateTime, Utc};

/// "Any value" in a listing partition (a filter left out, or `all`).
pub const ANY: &str = "*";
/// The assignee part of a partition for a conversation nobody is assigned to.
pub const UNASSIGNED: &str = "-";
/// At most this many labels on a conversation: every label adds 8 listing entries moved
/// with each message (8 deletes and 8 puts, 16 WCU) and 16 search entries, of which a
/// status or assignee change moves 8 (16 WCU). At 10 a message on a fully labelled
/// conversation costs 180 WCU (see `docs/inbox.md`, "Write cost").
pub const MAX_LABELS: usize = 10;
pub const MAX_LABEL_LEN: usize = 40;
pub const MAX_NOTE_LEN: usize = 4096;
pub const MAX_SHORTCUT_LEN: usize = 40;
pub const MAX_CANNED_TEXT_LEN: usize = 4096;
pub const MAX_CANNED_RESPONSES: usize = 500;

/// A listing partition: `<status>#<assignee>#<device>#<label>`, each part a value or [`ANY`].
pub fn partition(status: &str, assignee: &str, device: &str, label: &str) -> String {
    format!("{status}#{assignee}#{device}#{label}")
}

/// Every listing partition a conversation belongs to: each of status, assignee, device and
/// label either its value or [`ANY`] (a conversation without labels only under [`ANY`]).
/// So any combination of filters is one partition: `8 × (1 + labels)` entries.
pub fn partitions_of(
    status: &str,
    assignee: Option<&str>,
    device: &str,
    labels: &[String],
) -> Vec<String> {
    every_combination(status, assignee, device, labels, partition)
}

/// `name` of each combination of status, assignee, device and label, each a value or
/// [`ANY`] (labels: [`ANY`] and each of them).
fn every_combination(
    status: &str,
    assignee: Option<&str>,
    device: &str,
    labels: &[String],
    name: fn(&str, &str, &str, &str) -> String,
) -> Vec<String> {
    let assignee = assignee.unwrap_or(UNASSIGNED);
    let mut out = Vec::with_capacity(8 * (1 + labels.len()));
    for s in [status, ANY] {
        for a in [assignee, ANY] {
            for d in [device, ANY] {
                out.push(name(s, a, d, ANY));
                for l in labels {
                    out.push(name(s, a, d, l));
                }
            }
        }
    }
    out
}

/// A search partition (`q`): `<status>#<assignee>#<device>`, each part a value or [`ANY`],
/// and `#<label>` when a label is asked for (without it: any label, the form search had
/// before labels were a dimension, so those entries stay where they are).
pub fn search_partition(status: &str, assignee: &str, device: &str, label: &str) -> String {
    if label == ANY {
        format!("{status}#{assignee}#{device}")
    } else {
        format!("{status}#{assignee}#{device}#{label}")
    }
}

/// The search partitions a conversation belongs to: status, assignee, device and label,
/// each a value or [`ANY`]: `8 × (1 + labels)`.
pub fn search_partitions_of(
    status: &str,
    assignee: Option<&str>,
    device: &str,
    labels: &[String],
) -> Vec<String> {
    every_combination(status, assignee, device, labels, search_partition)
}

/// What a page does with an entry it read, given its conversation as the same page read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryVerdict {
    /// The conversation is in the entry's partition at the entry's place.
    Show,
    /// Left behind by an older state of the conversation (a race, or a writer that failed
    /// half way): not shown, and deleted if it is still the version read.
    Remove,
    /// Written by a newer state than the conversation as read (an eventually consistent
    /// read that lags the write): not shown, not deleted.
    Skip,
}

/// Whether an entry stands for its conversation: `belongs` is whether the conversation as
/// read has an entry with this partition and sort key; `entry_version` the conversation
/// version that wrote the entry (0 when it has none: written before entries had one).
pub fn entry_verdict(belongs: bool, entry_version: u64, conversation_version: u64) -> EntryVerdict {
    if belongs {
        EntryVerdict::Show
    } else if entry_version <= conversation_version {
        EntryVerdict::Remove
    } else {
        EntryVerdict::Skip
    }
}

/// Whether a writer of conversation version `v` may put an entry over what is there
/// (`None`: nothing, or an entry without a version): a newer writer's entry stays.
pub fn put_wins(existing: Option<u64>, v: u64) -> bool {
    existing.is_none_or(|e| e < v)
}

/// Whether a writer that changed version `prev` may delete an entry of the old state: only
/// one written by `prev` or before, never one a newer writer put back.
pub fn delete_wins(existing: Option<u64>, prev: u64) -> bool {
    existing.is_none_or(|e| e <= prev)
}

/// Where a conversation sorts in a listing partition: its last activity (Unix seconds, 12
/// digits: the precision the conversation stores it with, so the entry's key can be worked
/// out again from the stored conversation) and its id, so the newest sorts last and ties
/// are stable.
pub fn activity_sk(at: DateTime<Utc>, conversation_id: &str) -> String {
    format!("{:012}#{conversation_id}", at.timestamp().max(0))
}

/// A conversation's labels as given: trimmed, lower case, 1–40 characters of letters,
/// digits, `-`, `_` or spaces, at most [`MAX_LABELS`], repeats once, sorted.
pub fn labels(given: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for l in given {
        let l = l.trim().to_lowercase();
        if l.is_empty() || l.chars().count() > MAX_LABEL_LEN {
            return Err(format!("Each label must be 1-{MAX_LABEL_LEN} characters"));
        }
        if !l
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ')
        {
            return Err(format!(
                "Label \"{l}\" may hold only letters, digits, spaces, '-' and '_'"
            ));
        }
        if !out.contains(&l) {
            out.push(l);
        }
    }
    if out.len() > MAX_LABELS {
        return Err(format!("A conversation has at most {MAX_LABELS} labels"));
    }
    out.sort();
    Ok(out)
}

/// One label as a filter (the same rules as [`labels`]).
pub fn label_filter(v: &str) -> Result<String, String> {
    labels(&[v.to_string()]).map(|mut l| l.remove(0))
}

/// What `q` searches: a phone prefix (digits, with `+`, spaces or dashes around) or the
/// start of a contact's name (folded to lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    Phone(String),
    Name(String),
}

pub fn search(q: &str) -> Result<Search, String> {
    let q = q.trim();
    if q.is_empty() || q.chars().count() > 100 {
        return Err("\"q\" must be 1-100 characters".into());
    }
    let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if phone_like && !digits.is_empty() {
        Ok(Search::Phone(digits))
    } else {
        Ok(Search::Name(fold_name(q)))
    }
}

/// A name as the search compares it: lower case, spaces collapsed.
pub fn fold_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A canned response's shortcut: 1–40 characters without spaces (a leading `/` dropped).
pub fn shortcut(v: &str) -> Result<String, String> {
    let v = v.trim().trim_start_matches('/');
    if v.is_empty() || v.chars().count() > MAX_SHORTCUT_LEN || v.contains(char::is_whitespace) {
        return Err(format!(
            "\"shortcut\" must be 1-{MAX_SHORTCUT_LEN} characters without spaces"
        ));
    }
    Ok(v.to_lowercase())
}

pub fn canned_text(v: &str) -> Result<String, String> {
    if v.trim().is_empty() || v.chars().count() > MAX_CANNED_TEXT_LEN {
        return Err(format!(
            "\"text\" must be 1-{MAX_CANNED_TEXT_LEN} characters"
        ));
    }
    Ok(v.to_string())
}

/// A canned response filled for a customer: `{{name}}` (the contact's name, or empty) and
/// `{{phone}}` (`+` and the digits).
pub fn fill_canned(text: &str, name: Option<&str>, phone: &str) -> String {
    text.replace("{{name}}", name.unwrap_or(""))
        .replace("{{phone}}", &format!("+{phone}"))
}

pub fn note_text(v: &str) -> Result<String, String> {
    if v.trim().is_empty() || v.chars().count() > MAX_NOTE_LEN {
        return Err(format!("\"text\" must be 1-{MAX_NOTE_LEN} characters"));
    }
    Ok(v.to_string())
}

/// Seconds from `from` to `to` (never negative).
pub fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

/// A snooze must end in the future, within a year.
pub fn snooze_until(until: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if until <= now {
        return Err("\"snoozedUntil\" must be in the future".into());
    }
    if until > now + chrono::Duration::days(366) {
        return Err("\"snoozedUntil\" must be within a year".into());
    }
    Ok(until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::at;

    #[test]
    fn every_filter_combination_is_one_partition() {
        let p = partitions_of("open", Some("u1"), "d1", &["vip".into()]);
        assert_eq!(p.len(), 16);
        for s in ["open", ANY] {
            for a in ["u1", ANY] {
                for d in ["d1", ANY] {
                    for l in ["vip", ANY] {
                        assert!(p.contains(&partition(s, a, d, l)), "{s} {a} {d} {l}");
                    }
                }
            }
        }
        let unassigned = partitions_of("pending", None, "d1", &[]);
        assert_eq!(unassigned.len(), 8);
        assert!(unassigned.contains(&partition("pending", UNASSIGNED, ANY, ANY)));
        assert!(!unassigned.iter().any(|p| p.contains("open")));
        let search = search_partitions_of("open", None, "d1", &[]);
        assert_eq!(search.len(), 8);
        assert!(search.contains(&search_partition(ANY, UNASSIGNED, "d1", ANY)));
        assert!(search.contains(&"open#*#*".to_string()));
        let labelled = search_partitions_of("open", None, "d1", &["vip".into(), "a".into()]);
        assert_eq!(labelled.len(), 24);
        assert!(labelled.contains(&"*#-#*#vip".to_string()));
    }

    #[test]
    fn activity_sorts_by_time() {
        let a = activity_sk(at("2026-06-11T09:12:33Z"), "b");
        let b = activity_sk(at("2026-06-11T10:00:00Z"), "a");
        assert!(a < b);
        // Stored times have whole seconds: the key is the same before and after.
        let precise = at("2026-06-11T09:12:33Z") + chrono::Duration::milliseconds(450);
        assert_eq!(activity_sk(precise, "b"), a);
    }

    #[test]
    fn labels_are_checked_and_tidied() {
        assert_eq!(
            labels(&[" VIP ".into(), "billing".into(), "vip".into()]),
            Ok(vec!["billing".to_string(), "vip".to_string()])
        );
        assert!(labels(&["a#b".into()]).is_err());
        assert!(labels(&["".into()]).is_err());
        assert_eq!(
            labels(&["a".into(), "b".into(), "c".into(), "d".into()]).map(|l| l.len()),
            Ok(4)
        );
        let ten: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
        assert_eq!(labels(&ten).map(|l| l.len()), Ok(10));
        let eleven: Vec<String> = (0..11).map(|i| format!("l{i}")).collect();
        assert_eq!(
            labels(&eleven),
            Err("A conversation has at most 10 labels".to_string())
        );
        assert_eq!(label_filter("Sales"), Ok("sales".to_string()));
    }

    #[test]
    fn an_entry_shows_only_for_its_conversation_as_read() {
        assert_eq!(entry_verdict(true, 3, 5), EntryVerdict::Show);
        assert_eq!(entry_verdict(false, 3, 5), EntryVerdict::Remove);
        assert_eq!(entry_verdict(false, 5, 5), EntryVerdict::Remove);
        // The conversation read is older than the entry: the entry may well be right.
        assert_eq!(entry_verdict(false, 6, 5), EntryVerdict::Skip);
        // An entry from before entries had versions.
        assert_eq!(entry_verdict(false, 0, 1), EntryVerdict::Remove);
    }

    /// Two writers of one conversation, each storing its state (the transaction) and then
    /// writing its entries (puts, then deletes of the old state's), in every order their
    /// single writes can land in: the newest state's entries are always all there, and
    /// whatever else is left is an older state's, which a read removes.
    #[test]
    fn interleaved_writers_never_lose_the_newest_states_entries() {
        use std::collections::{BTreeMap, BTreeSet};
        type Op = (bool, &'static str, u64, u64); // (put?, key, version, prev)
                                                  // Status open (v1) → pending (v2, writer 1) → open (v3, writer 2): an A→B→A.
        let w1: Vec<Op> = vec![(true, "pending", 2, 1), (false, "open", 2, 1)];
        let w2: Vec<Op> = vec![(true, "open", 3, 2), (false, "pending", 3, 2)];
        let newest: BTreeSet<&str> = ["open"].into();
        // Every interleaving of the two sequences (each keeps its own order).
        fn merges(a: &[Op], b: &[Op]) -> Vec<Vec<Op>> {
            match (a.split_first(), b.split_first()) {
                (None, _) => vec![b.to_vec()],
                (_, None) => vec![a.to_vec()],
                (Some((x, xs)), Some((y, ys))) => {
                    let mut out = Vec::new();
                    for mut m in merges(xs, b) {
                        m.insert(0, *x);
                        out.push(m);
                    }
                    for mut m in merges(a, ys) {
                        m.insert(0, *y);
                        out.push(m);
                    }
                    out
                }
            }
        }
        let orders = merges(&w1, &w2);
        assert_eq!(orders.len(), 6);
        for order in orders {
            let mut table: BTreeMap<&str, u64> = [("open", 1)].into();
            for (put, key, v, prev) in &order {
                let existing = table.get(key).copied();
                if *put && put_wins(existing, *v) {
                    table.insert(key, *v);
                } else if !*put && existing.is_some() && delete_wins(existing, *prev) {
                    table.remove(key);
                }
            }
            for key in &newest {
                assert_eq!(table.get(key), Some(&3), "{order:?}");
            }
            // What else is left is stale for the newest state: a read removes it.
            for (key, v) in &table {
                if !newest.contains(key) {
                    assert_eq!(entry_verdict(false, *v, 3), EntryVerdict::Remove);
                }
            }
        }
    }

    #[test]
    fn search_terms() {
        assert_eq!(search("+92 300"), Ok(Search::Phone("92300".into())));
        assert_eq!(search("  Ali  Khan "), Ok(Search::Name("ali khan".into())));
        assert!(search("  ").is_err());
    }

    #[test]
    fn canned_responses() {
        assert_eq!(shortcut("/Thanks"), Ok("thanks".to_string()));
        assert!(shortcut("two words").is_err());
        assert_eq!(
            fill_canned(
                "Hi {{name}}, we will call {{phone}}",
                Some("Ali"),
                "923001234567"
            ),
            "Hi Ali, we will call +923001234567"
        );
        assert_eq!(fill_canned("Hi {{name}}!", None, "1"), "Hi !");
    }

    #[test]
    fn snoozes_end_in_the_future() {
        let now = at("2026-06-11T09:00:00Z");
        assert!(snooze_until(now, now).is_err());
        assert!(snooze_until(at("2026-06-11T10:00:00Z"), now).is_ok());
        assert!(snooze_until(at("2028-06-11T10:00:00Z"), now).is_err());
        assert_eq!(seconds_between(at("2026-06-11T10:00:00Z"), now), 0);
    }
}
