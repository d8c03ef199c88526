//! Platform endpoints: health, the OpenAPI document of every function, CORS preflight.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::options;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::Required;
use utoipa::openapi::{InfoBuilder, OpenApi, ResponseBuilder, ServerBuilder};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::http::{finish, preflight};

use wati_shared::AppState;

/// The catch-all preflight route, as API Gateway spells it and as axum does.
pub const PREFLIGHT_PATH: &str = "/{proxy+}";
const PREFLIGHT_AXUM_PATH: &str = "/{*proxy}";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi_json))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    let router = router
        .route(PREFLIGHT_AXUM_PATH, options(preflight))
        .with_state(state.clone());
    finish(router, state)
}

/// This function's own routes, including the preflight route added by hand.
pub fn own_openapi() -> OpenApi {
    let mut doc = routes().split_for_parts().1;
    let op = OperationBuilder::new()
        .summary(Some("CORS preflight"))
        .description(Some(
            "Answers every preflight. No origin is allowed unless the operator lists it in \
             CORS_ALLOWED_ORIGINS: API keys belong on servers, never in browsers.",
        ))
        .tag("meta")
        .parameter(
            ParameterBuilder::new()
                .name("proxy+")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("Any path"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .response(
            "204",
            ResponseBuilder::new()
                .description("Preflight answered")
                .build(),
        )
        .build();
    doc.paths.paths.insert(
        PREFLIGHT_PATH.to_string(),
        PathItem::new(HttpMethod::Options, op),
    );
    doc
}

/// Every function's own OpenAPI document, by function.
fn function_docs() -> Vec<(&'static str, OpenApi)> {
    vec![
        ("meta", own_openapi()),
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
pub fn openapi() -> OpenApi {
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub dynamodb: &'static str,
}

/// Ready when the table answers.
#[utoipa::path(get, path = "/health", tag = "meta",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let probe = state.store.health().await;
    match probe {
        Ok(_) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                dynamodb: "ok",
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    dynamodb: "unreachable",
                }),
            )
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json() -> Json<OpenApi> {
    Json(openapi())
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
