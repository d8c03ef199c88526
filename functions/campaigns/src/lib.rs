//! The spec's bulk campaigns: `POST /api/public/v1/campaigns` (create), listing, one
//! campaign with its counts, its recipients, `…/run` (the next batch) and `…/cancel`.
//! Routes (`handlers.rs`) and their bodies (`dto.rs`) only: every rule is in
//! [`wati_shared::services::campaigns`]. Every route needs a tenant API key and a plan with
//! REST access (Pro, Agency).

mod dto;
mod handlers;

pub use dto::*;

use utoipa_axum::router::OpenApiRouter;
use wati_shared::http::Access;
use wati_shared::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    handlers::routes()
}

wati_shared::http_function!(Access::PublicApi);

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = wati_shared::http::SchemaRefs::of(&super::openapi());
        doc.assert_sound(&[
            "CreateCampaignRequest",
            "CampaignView",
            "RunRefusal",
            "RecipientView",
        ]);
    }
}
