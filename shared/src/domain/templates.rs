//! Meta's message templates as pure rules: the body's variables, a checked send's
//! components, a new template's shape, and Meta's status updates. See `docs/templates.md`.

use serde_json::{json, Value};

/// Meta's categories for a new template.
pub const CATEGORIES: [&str; 3] = ["MARKETING", "UTILITY", "AUTHENTICATION"];

/// The statuses Meta documents (others it may add are stored as given).
pub const APPROVED: &str = "APPROVED";
pub const PENDING: &str = "PENDING";

/// A component's type, upper case (`BODY`, `HEADER` …); Meta writes them upper case in its
/// listings and accepts lower case in sends.
fn component_type(c: &Value) -> String {
    c["type"].as_str().unwrap_or_default().to_ascii_uppercase()
}

/// The body's text of a template's components.
pub fn body_text(components: &[Value]) -> Option<&str> {
    components
        .iter()
        .find(|c| component_type(c) == "BODY")
        .and_then(|c| c["text"].as_str())
}

/// How many variables the body takes: the highest `{{n}}` in its text.
pub fn body_variable_count(components: &[Value]) -> usize {
    let Some(text) = body_text(components) else {
        return 0;
    };
    let mut max = 0;
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        if let Ok(n) = rest[..end].trim().parse::<usize>() {
            max = max.max(n);
        }
        rest = &rest[end + 2..];
    }
    max
}

/// The refusal of a send with the wrong number of variables.
pub fn variable_count_message(name: &str, language: &str, expected: usize, given: usize) -> String {
    let names = if expected == 0 {
        "none".to_string()
    } else {
        (1..=expected)
            .map(|i| format!("{{{{{i}}}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Template {name} ({language}) takes {expected} body variable{} ({names}); {given} given in \"template.variables\"",
        if expected == 1 { "" } else { "s" }
    )
}

/// A send's components: the caller's `components` with the body's parameters replaced by
/// `variables` (when given), as Meta's send takes them.
pub fn send_components(
    components: Option<&[Value]>,
    variables: Option<&[String]>,
) -> Option<Vec<Value>> {
    let Some(vars) = variables else {
        return components.map(<[Value]>::to_vec);
    };
    let mut out: Vec<Value> = components
        .unwrap_or_default()
        .iter()
        .filter(|c| component_type(c) != "BODY")
        .cloned()
        .collect();
    if !vars.is_empty() {
        let parameters: Vec<Value> = vars
            .iter()
            .map(|v| json!({"type": "text", "text": v}))
            .collect();
        out.insert(0, json!({"type": "body", "parameters": parameters}));
    }
    Some(out)
}

/// A new template's fields, checked: the exact message a client sees otherwise.
pub fn check_new(category: &str, components: &[Value]) -> Result<(), String> {
    if !CATEGORIES.contains(&category) {
        return Err("\"category\" must be MARKETING, UTILITY or AUTHENTICATION".into());
    }
    if components.is_empty() || components.len() > 10 {
        return Err(
            "\"components\" must list 1 to 10 components (HEADER, BODY, FOOTER, BUTTONS)".into(),
        );
    }
    let mut bodies = 0;
    for c in components {
        match component_type(c).as_str() {
            "BODY" => {
                bodies += 1;
                let text = c["text"].as_str().unwrap_or_default();
                if text.trim().is_empty() || text.chars().count() > 1024 {
                    return Err(
                        "The BODY component needs a \"text\" of 1 to 1024 characters".into(),
                    );
                }
            }
            "HEADER" | "FOOTER" | "BUTTONS" => {}
            _ => {
                return Err(
                    "Each component's \"type\" must be HEADER, BODY, FOOTER or BUTTONS".into(),
                )
            }
        }
    }
    if bodies != 1 {
        return Err("\"components\" must have exactly one BODY".into());
    }
    if serde_json::to_vec(components).map_or(true, |v| v.len() > 32 * 1024) {
        return Err("\"components\" is too large".into());
    }
    Ok(())
}

/// One `message_template_status_update` change from Meta's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The WhatsApp Business Account (the entry's `id`).
    pub waba_id: String,
    pub name: String,
    pub language: String,
    /// The new status (`APPROVED`, `REJECTED` …).
    pub status: String,
    pub reason: Option<String>,
}

/// The template status updates in a Meta webhook body.
pub fn status_updates(body: &Value) -> Vec<StatusUpdate> {
    let mut out = Vec::new();
    for entry in body["entry"].as_array().into_iter().flatten() {
        let waba_id = match &entry["id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        for change in entry["changes"].as_array().into_iter().flatten() {
            if change["field"] != "message_template_status_update" {
                continue;
            }
            let v = &change["value"];
            let (Some(name), Some(language), Some(event)) = (
                v["message_template_name"].as_str(),
                v["message_template_language"].as_str(),
                v["event"].as_str(),
            ) else {
                continue;
            };
            out.push(StatusUpdate {
                waba_id: waba_id.clone(),
                name: name.to_string(),
                language: language.to_string(),
                status: event.to_ascii_uppercase(),
                reason: v["reason"]
                    .as_str()
                    .filter(|r| !r.is_empty() && *r != "NONE")
                    .map(str::to_string),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_variables_are_counted_by_their_highest_number() {
        let c = vec![
            json!({"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}"}),
            json!({"type": "BODY", "text": "Hello {{1}}, {{2}} off until {{ 3 }}. {{1}} again"}),
        ];
        assert_eq!(body_variable_count(&c), 3);
        assert_eq!(
            body_variable_count(&[json!({"type": "BODY", "text": "No vars"})]),
            0
        );
        assert_eq!(body_variable_count(&[]), 0);
    }

    #[test]
    fn variables_become_the_body_parameters() {
        let given = vec![
            json!({"type": "body", "parameters": [{"type": "text", "text": "old"}]}),
            json!({"type": "button", "sub_type": "url", "index": "0", "parameters": []}),
        ];
        let vars = vec!["Ali".to_string(), "20%".to_string()];
        let out = send_components(Some(&given), Some(&vars)).unwrap();
        assert_eq!(
            out,
            vec![
                json!({"type": "body", "parameters": [{"type": "text", "text": "Ali"}, {"type": "text", "text": "20%"}]}),
                given[1].clone(),
            ]
        );
        assert_eq!(send_components(None, None), None);
        assert_eq!(send_components(Some(&given), None), Some(given.clone()));
        assert_eq!(send_components(None, Some(&[])), Some(vec![]));
    }

    #[test]
    fn the_count_message_names_what_is_expected() {
        assert_eq!(
            variable_count_message("promo", "en_US", 2, 1),
            "Template promo (en_US) takes 2 body variables ({{1}}, {{2}}); 1 given in \"template.variables\""
        );
    }

    #[test]
    fn new_templates_are_checked() {
        let body = json!({"type": "BODY", "text": "Hello {{1}}"});
        assert_eq!(check_new("MARKETING", std::slice::from_ref(&body)), Ok(()));
        assert!(check_new("PROMO", std::slice::from_ref(&body)).is_err());
        assert!(check_new("UTILITY", &[]).is_err());
        assert!(check_new("UTILITY", &[body.clone(), body.clone()]).is_err());
        assert!(check_new("UTILITY", &[json!({"type": "FOOTER", "text": "x"})]).is_err());
        assert!(check_new("UTILITY", &[json!({"type": "BODY"})]).is_err());
        assert!(check_new("UTILITY", &[json!({"type": "CAROUSEL"}), body]).is_err());
    }

    #[test]
    fn metas_status_updates_are_read() {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
            "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED",
                "message_template_id": 1, "message_template_name": "order_update",
                "message_template_language": "en_US", "reason": "NONE"}},
                {"field": "messages", "value": {}}]}]});
        assert_eq!(
            status_updates(&body),
            vec![StatusUpdate {
                waba_id: "102290129340398".into(),
                name: "order_update".into(),
                language: "en_US".into(),
                status: "APPROVED".into(),
                reason: None,
            }]
        );
    }
}
