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
//!
//! A tenant that sets a default country (`PUT /api/settings/phone`) has every number read by
//! that country's own rules instead ([`normalize_in`], libphonenumber's metadata through the
//! `phonenumber` crate): `0300 1234567` → `923001234567` (the trunk prefix dropped), and a
//! number that cannot exist is refused.

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

    /// Parses with the tenant's default country (see [`normalize_in`]).
    pub fn parse_in(field: &str, raw: &str, country: Option<Country>) -> Result<Phone, String> {
        normalize_in(field, raw, country).map(Phone)
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

/// A tenant's default country: its calling code, and the region whose rules read local
/// numbers (for a code several regions share, the code's main one: `1` reads as the US,
/// whose rules all of `+1` shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    code: u16,
    region: phonenumber::country::Id,
}

impl Country {
    /// `"92"` or `"+92"`: a calling code that exists.
    pub fn parse(field: &str, raw: &str) -> Result<Country, String> {
        let bad = || {
            format!("\"{field}\" must be a country calling code such as \"92\" (Pakistan) or \"1\" (US, Canada)")
        };
        let t = raw.trim();
        let t = t.strip_prefix('+').unwrap_or(t);
        if t.is_empty() || t.len() > 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let code: u16 = t.parse().map_err(|_| bad())?;
        let metas = phonenumber::metadata::DATABASE
            .by_code(&code)
            .ok_or_else(bad)?;
        let main = metas
            .iter()
            .find(|m| m.is_main_country_for_code())
            .or_else(|| metas.first())
            .ok_or_else(bad)?;
        // "001" (non-geographic codes such as +800) has no country rules to read by.
        let region = main.id().parse().map_err(|_| bad())?;
        Ok(Country { code, region })
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    /// `"92"`: as stored and shown.
    pub fn code_string(&self) -> String {
        self.code.to_string()
    }

    /// A phone search prefix as stored numbers start: one that begins with the country's
    /// trunk prefix (`0300` in Pakistan) is the country code and the rest (`92300`); others
    /// are kept as they are.
    pub fn search_prefix(&self, digits: &str) -> String {
        let trunk = phonenumber::metadata::DATABASE
            .by_id(self.region.as_ref())
            .and_then(|m| m.national_prefix())
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        match trunk.and_then(|p| digits.strip_prefix(p)) {
            Some(rest) => format!("{}{rest}", self.code),
            None => digits.to_string(),
        }
    }
}

/// Normalises a phone number with the tenant's default country (`None`: [`normalize`],
/// unchanged). The same characters are accepted as by [`normalize`]; then the number is
/// read by the country's rules (a trunk prefix dropped, the country's own calling code or
/// international prefix recognised) and must be a valid number there. Digits without `+`
/// that are not a valid local number but are a valid international number as they stand
/// (`447911123456`) are kept as given. Anything else is refused naming `field`.
pub fn normalize_in(field: &str, raw: &str, country: Option<Country>) -> Result<String, String> {
    let digits = normalize(field, raw)?;
    let Some(country) = country else {
        return Ok(digits);
    };
    let plus = raw.trim().starts_with('+');
    let as_given = if plus {
        format!("+{digits}")
    } else {
        digits.clone()
    };
    let valid = |n: &phonenumber::PhoneNumber| phonenumber::is_valid(n);
    let international =
        |n: &phonenumber::PhoneNumber| format!("{}{}", n.code().value(), n.national());
    if let Ok(n) = phonenumber::parse(Some(country.region), &as_given) {
        if valid(&n) {
            return Ok(international(&n));
        }
    }
    if !plus {
        if let Ok(n) = phonenumber::parse(None, format!("+{digits}")) {
            if valid(&n) {
                return Ok(international(&n));
            }
        }
    }
    Err(format!(
        "\"{field}\" is not a valid phone number: {} is neither a valid +{} number nor a valid international one",
        raw.trim(),
        country.code
    ))
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
    fn local_numbers_are_read_by_the_tenants_country() {
        let pk = Country::parse("defaultCountryCode", "92").ok();
        let n = |s: &str| normalize_in("to", s, pk);
        assert_eq!(n("0300 1112233"), Ok("923001112233".into()));
        assert_eq!(n("03001112244"), Ok("923001112244".into()));
        assert_eq!(n("(0300) 111-2233"), Ok("923001112233".into()));
        assert_eq!(n("923001112233"), Ok("923001112233".into()));
        assert_eq!(n("+92 300 1112233"), Ok("923001112233".into()));
        assert_eq!(n("+92 0300 1112233"), Ok("923001112233".into()));
        assert_eq!(n("0092 300 1112233"), Ok("923001112233".into()));
        // A valid international number without "+" stays as it is.
        assert_eq!(n("447911123456"), Ok("447911123456".into()));
        assert_eq!(n("+44 7911 123456"), Ok("447911123456".into()));
        let bad = |s: &str| {
            Err(format!("\"to\" is not a valid phone number: {s} is neither a valid +92 number nor a valid international one"))
        };
        assert_eq!(n("0300 12345"), bad("0300 12345"));
        assert_eq!(n("0000000000"), bad("0000000000"));
        assert_eq!(
            n("hello"),
            Err("\"to\" must be an E.164 number or local digits".to_string())
        );
        // Without a country: as before.
        assert_eq!(
            normalize_in("to", "0300 1112233", None),
            Ok("03001112233".into())
        );
        // Other countries' trunk prefixes.
        let us = Country::parse("c", "+1").ok();
        assert_eq!(
            normalize_in("to", "(202) 555-0143", us),
            Ok("12025550143".into())
        );
        let gb = Country::parse("c", "44").ok();
        assert_eq!(
            normalize_in("to", "07911 123456", gb),
            Ok("447911123456".into())
        );
        let it = Country::parse("c", "39").ok();
        assert_eq!(
            normalize_in("to", "06 6982 1234", it),
            Ok("390669821234".into())
        );
    }

    #[test]
    fn local_search_prefixes_start_like_stored_numbers() {
        let pk = Country::parse("c", "92").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pk.search_prefix("0300"), "92300");
        assert_eq!(pk.search_prefix("92300"), "92300");
        assert_eq!(pk.search_prefix("3"), "3");
        let us = Country::parse("c", "1").unwrap_or_else(|e| panic!("{e}"));
        // The US trunk prefix is the country code itself: nothing changes.
        assert_eq!(us.search_prefix("1202"), "1202");
    }

    #[test]
    fn country_codes_must_exist() {
        assert_eq!(Country::parse("c", " +92 ").map(|c| c.code()), Ok(92));
        assert_eq!(
            Country::parse("c", "1").map(|c| c.code_string()),
            Ok("1".into())
        );
        for bad in ["", "0", "999", "1234", "pk", "+", "800"] {
            assert!(Country::parse("c", bad).is_err(), "{bad:?}");
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
