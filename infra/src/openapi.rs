//! The OpenAPI document of the whole API, merged from every function crate's own document.
//!
//! `meta` serves it from `functions/meta/openapi.json`, written by `make openapi` (this
//! module's [`document`]): linking every function crate into `meta` to merge at run time made
//! it the largest function. A test (`tests/e2e/routes.rs`) fails when the checked-in file
//! differs from what the crates generate.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, ServerBuilder};

/// Where `meta` reads the document from (relative to the workspace root).
pub const DOCUMENT_PATH: &str = "functions/meta/openapi.json";

/// Every function's own OpenAPI document, by function.
fn function_docs() -> Vec<(&'static str, OpenApi)> {
    vec![
        ("meta", fn_meta::own_openapi()),
        ("admin", fn_admin::openapi()),
        ("auth", fn_auth::openapi()),
        ("settings", fn_settings::openapi()),
        ("auto-replies", fn_auto_replies::openapi()),
        ("inbox", fn_inbox::openapi()),
        ("analytics", fn_analytics::openapi()),
        ("contacts", fn_contacts::openapi()),
        ("messages", fn_messages::openapi()),
        ("campaigns", fn_campaigns::openapi()),
        ("cloud-api-webhook", fn_cloud_api_webhook::openapi()),
        ("gateway-webhook", fn_gateway_webhook::openapi()),
    ]
}

/// The OpenAPI document of the whole API: every function's routes. Merging keeps one
/// schema per name, so two functions must never give one name two shapes (tested below).
pub fn document() -> OpenApi {
    let mut doc = OpenApi::default();
    for (_, function_doc) in function_docs() {
        doc.merge(function_doc);
    }
    doc.info = InfoBuilder::new()
        .title("WATI Pro API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Multi-tenant WhatsApp business messaging. Authenticate with an API key \
             (`Authorization: Bearer wati_…`, the tenant's admin) or a signed-in user's \
             token (`Authorization: Bearer <JWT from /api/auth/login>`, with the member's \
             role: see each operation's `x-required-role`); errors are \
             `{\"error\": \"…\"}`.",
        ))
        .build();
    doc.servers = Some(vec![ServerBuilder::new().url("/").build()]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("wati_…")
                .build(),
        ),
    );
    components.add_security_scheme(
        "userJwt",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "platformAdmin",
        SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

/// The document as `functions/meta/openapi.json` holds it: pretty JSON, one final newline.
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document()).unwrap_or_default();
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A schema name two functions shape differently would describe one of them wrongly in
    /// the merged document (the merge keeps only one).
    #[test]
    fn no_two_functions_give_one_schema_name_two_shapes() {
        let mut seen: BTreeMap<String, (&str, serde_json::Value)> = BTreeMap::new();
        let mut clashes = Vec::new();
        for (function, doc) in function_docs() {
            let schemas = doc.components.map(|c| c.schemas).unwrap_or_default();
            for (name, schema) in schemas {
                let shape = serde_json::to_value(&schema).expect("a schema is JSON");
                match seen.get(&name) {
                    Some((first, earlier)) if *earlier != shape => {
                        clashes.push(format!("{name}: {first} and {function}"));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(name, (function, shape));
                    }
                }
            }
        }
        assert!(
            clashes.is_empty(),
            "schema names with two shapes: {clashes:?}"
        );
    }
}
