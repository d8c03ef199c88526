//! Reading a JSON answer where a missing or mistyped field is a failure, not a default.

use serde_json::Value;

pub trait Json {
    /// The string; panics on anything else.
    fn str(&self) -> &str;
    /// The string, owned.
    fn string(&self) -> String {
        self.str().to_string()
    }
    /// The unsigned number; panics on anything else.
    fn u64(&self) -> u64;
    /// The array; panics on anything else.
    fn array(&self) -> &Vec<Value>;
    /// `field` of every element of the array, each a string.
    fn strs(&self, field: &str) -> Vec<&str>;
    /// The object's keys, sorted.
    fn keys(&self) -> Vec<String>;
}

impl Json for Value {
    fn str(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("expected a string, got {self}"))
    }

    fn u64(&self) -> u64 {
        self.as_u64()
            .unwrap_or_else(|| panic!("expected an unsigned number, got {self}"))
    }

    fn array(&self) -> &Vec<Value> {
        self.as_array()
            .unwrap_or_else(|| panic!("expected an array, got {self}"))
    }

    fn strs(&self, field: &str) -> Vec<&str> {
        self.array().iter().map(|v| v[field].str()).collect()
    }

    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .as_object()
            .unwrap_or_else(|| panic!("expected an object, got {self}"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}

/// Parses JSON text; panics with the text when it is not JSON.
pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
