//! Phone numbers as the API stores and compares them: digits only.
//!
//! `"+92 300-123 4567"` → `"923001234567"`. Accepted: E.164 (a leading `+`, a country code
//! that does not start with 0) or local digits, with spaces, dashes, dots and parentheses as
//! separators, 7 to 15 digits in all. Nothing else (letters, `@c.us` suffixes, non-ASCII
//! digits) is a phone number. Local numbers are kept as they are: without a country there is
//! no safe way to turn `03001234567` into `923001234567`, so the two are different contacts.
//!
//! The one rule for every number the API takes: a send's `to`, a contact's `phone`, a
//! campaign recipient, an inbound sender.

/// A phone number as the API stores and compares it (digits only), parsed once at the
/// edge with [`Phone::parse`]. Serialised as the plain string, so stored items and queue
/// messages read the same as before the type existed.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses what a client sent; the error names `field` (see [`normalize`]).
    pub fn parse(field: &str, raw: &str) -> Result<Phone, String> {
        normalize(field, raw).map(Phone)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// E.164 numbers have at most 15 digits; anything shorter than 7 is not a phone number.
pub const MIN_PHONE_DIGITS: usize = 7;
pub const MAX_PHONE_DIGITS: usize = 15;

/// Normalises a phone number to its digits; the error is the message a client sees, naming
/// `field`.
pub fn normalize(field: &str, raw: &str) -> Result<String, String> {
    let invalid = || format!("\"{field}\" must be an E.164 number or local digits");
    let trimmed = raw.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let digits = digits_of(rest).ok_or_else(invalid)?;
    // Country codes never start with 0.
    if plus && digits.starts_with('0') {
        return Err(invalid());
    }
    if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&digits.len()) {
        return Err(invalid());
    }
    Ok(digits)
}

/// The digits of a search term that looks like (the start of) a phone number: an optional
/// `+`, then digits and separators, at least one digit. `None` for anything else (a name).
pub fn search_prefix(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits = digits_of(rest)?;
    (!digits.is_empty() && digits.len() <= MAX_PHONE_DIGITS).then_some(digits)
}

/// ASCII digits with separators removed; `None` if anything else is there.
fn digits_of(s: &str) -> Option<String> {
    let mut digits = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_its_digits_and_serialises_as_them() {
        let p = Phone::parse("to", "+92 300-123 4567");
        assert_eq!(p.as_ref().map(Phone::as_str), Ok("923001234567"));
        assert_eq!(
            p.as_ref().map(|p| serde_json::to_string(p).ok()),
            Ok(Some("\"923001234567\"".to_string()))
        );
        assert_eq!(
            Phone::parse("to", "hello"),
            Err("\"to\" must be an E.164 number or local digits".to_string())
        );
    }

    #[test]
    fn phone_numbers_become_digits() {
        let ok = |s: &str| normalize("phone", s);
        assert_eq!(ok("+923001234567"), Ok("923001234567".into()));
        assert_eq!(ok(" +92 300-123 4567 "), Ok("923001234567".into()));
        assert_eq!(ok("(0300) 123.4567"), Ok("03001234567".into()));
        assert_eq!(ok("1234567"), Ok("1234567".into()));
        assert_eq!(ok("123456789012345"), Ok("123456789012345".into()));
        let err = Err("\"phone\" must be an E.164 number or local digits".to_string());
        for bad in [
            "",
            "+",
            "abc",
            "92300123456x",
            "++923001234567",
            "+0923001234567",
            "123456",
            "1234567890123456",
            "923001234567@c.us",
            "92\u{0663}001234567",
        ] {
            assert_eq!(ok(bad), err, "{bad:?}");
        }
    }

    #[test]
    fn search_terms_that_look_like_phones() {
        assert_eq!(search_prefix("+92 300"), Some("92300".into()));
        assert_eq!(search_prefix("0300"), Some("0300".into()));
        assert_eq!(search_prefix("9"), Some("9".into()));
        assert_eq!(search_prefix("Ali"), None);
        assert_eq!(search_prefix("Agent 007"), None);
        assert_eq!(search_prefix("+"), None);
        assert_eq!(search_prefix(" - "), None);
        assert_eq!(search_prefix("1234567890123456"), None);
    }
}
