//! Platform endpoints: health, the OpenAPI document of every function, CORS preflight.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::options;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::openapi::{OpenApi, ResponseBuilder};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::http::{finish, preflight};
use wati_shared::routes;

use wati_shared::AppState;

/// The whole API's OpenAPI document, merged from every function crate by `make openapi`
/// (`wati_infra::openapi`) and checked against them by a test: merging here at run time
/// would link every function crate into this one.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

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
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
