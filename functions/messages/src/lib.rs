//! The spec's messaging endpoints: `POST /api/public/v1/send`, `POST /api/public/v1/send-media`
//! and `GET /api/public/v1/messages/{id}`. Handlers validate and hand over to
//! [`wati_shared::services::sending::send`]; every route needs a tenant API key.

use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::roles::Role;
use wati_shared::http::{needs, Access};
use wati_shared::routes;
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

/// The routes behind the tenant credential, and signed media links without one.
pub fn router(state: AppState) -> axum::Router {
    let keyed = wati_shared::http::guarded(routes(), ACCESS, state.clone());
    media::with_signed_links(keyed, state)
}

const ACCESS: Access = Access::PublicApi;

wati_shared::http_function!(own_router, ACCESS);
