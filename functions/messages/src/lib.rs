//! The spec's messaging endpoints: `POST /api/public/v1/send`, `POST /api/public/v1/send-media`
//! and `GET /api/public/v1/messages/{id}`. Handlers validate and hand over to
//! [`wati_shared::services::sending::send`]; every route needs a tenant API key.

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::http::{guarded, Access};
use wati_shared::AppState;

mod lookup;
mod reply;
mod send;

pub use lookup::*;

pub use send::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(send_media))
        .routes(routes!(get_message))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    guarded(routes(), Access::PublicApi, state)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
