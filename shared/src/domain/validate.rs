//! Small validation rules used at the edge, each returning the exact message a client sees.

/// A trimmed, non-empty name of at most `max` characters.
pub fn name(field: &str, value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("\"{field}\" must not be empty"));
    }
    if v.chars().count() > max {
        return Err(format!("\"{field}\" must be at most {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("\"{field}\" must not contain control characters"));
    }
    Ok(v.to_string())
}

/// [`name`] when one is given.
pub fn optional_name(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, String> {
    value.map(|v| name(field, v, max)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("name", "  Acme ", 10), Ok("Acme".into()));
        assert_eq!(
            name("name", " ", 10),
            Err("\"name\" must not be empty".into())
        );
        assert_eq!(
            name("name", "abcdefghijk", 10),
            Err("\"name\" must be at most 10 characters".into())
        );
        assert!(name("name", "a\nb", 10).is_err());
    }
}

/// A plausible e-mail address, lower-cased: one `@`, a non-empty local part, a domain with a
/// dot, no white space, at most 254 characters.
pub fn email(field: &str, value: &str) -> Result<String, String> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(v)
    } else {
        Err(format!("\"{field}\" must be an e-mail address"))
    }
}

#[cfg(test)]
mod email_tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("email", " Ali@Example.COM "),
            Ok("ali@example.com".into())
        );
        for bad in [
            "",
            "ali",
            "ali@",
            "@x.com",
            "a@b",
            "a b@x.com",
            "a@@x.com",
            "a@x.com.",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }
}
