//! The spec's bulk campaigns: `POST /api/public/v1/campaigns` (create), listing, one
//! campaign with its counts, its recipients, `…/run` (the next batch) and `…/cancel`.
//! Routes (`handlers.rs`) and their bodies (`dto.rs`) only: every rule is in
//! [`wati_shared::services::campaigns`]. Every route needs a tenant API key and a plan with
//! REST access (Pro, Agency).

mod dto;
mod handlers;

pub use dto::*;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::http::{guarded, Access};
use wati_shared::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    handlers::routes()
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = serde_json::to_value(super::openapi()).unwrap_or_default();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let text = doc.to_string();
        for r in text
            .split("\"$ref\":\"#/components/schemas/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
        {
            assert!(schemas.contains_key(r), "dangling $ref {r}");
        }
        for needed in [
            "CreateCampaignRequest",
            "CampaignView",
            "RunRefusal",
            "RecipientView",
        ] {
            assert!(schemas.contains_key(needed), "{needed} missing");
        }
    }
}
