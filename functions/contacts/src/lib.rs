//! Contacts and contact lists (the spec's "Contacts" section and its `contactListId`).
//! Every route needs a tenant API key (`wati_…`); the REST plan gate does not apply, as in
//! the spec, where contacts take the dashboard's credentials too.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::http::Access;
use wati_shared::AppState;

pub mod bulk;
pub mod consent;
pub mod contacts;
pub mod jobs;
pub mod lists;
pub mod members;
pub mod sweep;
pub mod worker;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            contacts::list_contacts,
            bulk::upsert_contacts,
            bulk::delete_contacts
        ))
        .routes(routes!(contacts::get_contact, contacts::update_contact))
        .routes(routes!(consent::opt_out))
        .routes(routes!(consent::opt_in))
        .routes(routes!(jobs::import_contacts))
        .routes(routes!(jobs::get_import))
        .routes(routes!(jobs::export_contacts))
        .routes(routes!(jobs::get_export))
        .routes(routes!(lists::create_list, lists::list_lists))
        .routes(routes!(lists::get_list, lists::delete_list))
        .routes(routes!(
            members::list_members,
            members::add_members,
            members::remove_members
        ))
}

wati_shared::http_function!(Access::TenantKey);

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = wati_shared::http::SchemaRefs::of(&super::openapi());
        assert!(doc.refs.len() > 10, "{:?}", doc.refs);
        assert_eq!(doc.dangling(), Vec::<&str>::new(), "dangling $ref");
        for needed in [
            "ContactInput",
            "Contact",
            "UpsertContactsReport",
            "ListMembersReport",
        ] {
            assert!(doc.schemas.contains(needed), "{needed} missing");
        }
    }
}
