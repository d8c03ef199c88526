//! Contacts and contact lists (the spec's "Contacts" section and its `contactListId`).
//! Every route needs a tenant API key (`wati_…`); the REST plan gate does not apply, as in
//! the spec, where contacts take the dashboard's credentials too.

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::http::{guarded, Access};
use wati_shared::AppState;

pub mod bulk;
pub mod contacts;
pub mod lists;
pub mod members;
pub mod sweep;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            contacts::list_contacts,
            bulk::upsert_contacts,
            bulk::delete_contacts
        ))
        .routes(routes!(contacts::get_contact, contacts::update_contact))
        .routes(routes!(lists::create_list, lists::list_lists))
        .routes(routes!(lists::get_list, lists::delete_list))
        .routes(routes!(
            members::list_members,
            members::add_members,
            members::remove_members
        ))
}

/// This function's Lambda handler: its Router (see `wati_shared::lambda`).
pub fn handler(state: AppState) -> wati_shared::lambda::Handler {
    wati_shared::lambda::Handler::Http(router(state))
}

pub fn router(state: AppState) -> Router {
    guarded(routes(), Access::TenantKey, state)
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
        let refs: Vec<&str> = text
            .split("\"$ref\":\"#/components/schemas/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(refs.len() > 10, "{refs:?}");
        for r in refs {
            assert!(schemas.contains_key(r), "dangling $ref {r}");
        }
        for needed in [
            "ContactInput",
            "Contact",
            "UpsertContactsReport",
            "ListMembersReport",
        ] {
            assert!(schemas.contains_key(needed), "{needed} missing");
        }
    }
}
