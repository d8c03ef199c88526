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
