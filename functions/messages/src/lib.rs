//! The spec's messaging endpoints: `POST /api/public/v1/send`, `POST /api/public/v1/send-media`
//! and `GET /api/public/v1/messages/{id}`. Handlers validate and hand over to
//! [`wati_shared::services::sending::send`]; every route needs a tenant API key.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::domain::roles::Role;
use wati_shared::http::{needs, Access};
use wati_shared::AppState;

mod lookup;
mod media;
mod send;

pub use lookup::*;

pub use send::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(needs(Role::Manager, routes!(send)))
        .routes(needs(Role::Manager, routes!(send_media)))
        .routes(needs(Role::Manager, routes!(get_message)))
        .routes(needs(Role::Manager, routes!(media::get_media)))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

/// The routes behind the tenant credential, and signed media links without one.
pub fn router(state: AppState) -> axum::Router {
    let keyed = wati_shared::http::guarded(routes(), ACCESS, state.clone());
    media::with_signed_links(keyed, state)
}

const ACCESS: Access = Access::PublicApi;

/// This function's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes().split_for_parts().1;
    wati_shared::http::document_access(&mut doc, ACCESS);
    doc
}

#[cfg(test)]
mod openapi_tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = wati_shared::http::SchemaRefs::of(&super::openapi());
        assert_eq!(doc.dangling(), Vec::<&str>::new(), "dangling $ref");
    }
}
