//! Contacts and contact lists (the spec's "Contacts" section and its `contactListId`).
//! Every route needs a tenant API key (`wati_…`); the REST plan gate does not apply, as in
//! the spec, where contacts take the dashboard's credentials too.

use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::roles::Role;
use wati_shared::http::{needs, Access};
use wati_shared::routes;
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
    // Agents read contacts; changing them is for managers.
    use Role::{Agent, Manager};
    OpenApiRouter::new()
        .routes(needs(Agent, routes!(contacts::list_contacts)))
        .routes(needs(
            Manager,
            routes!(bulk::upsert_contacts, bulk::delete_contacts),
        ))
        .routes(needs(Agent, routes!(contacts::get_contact)))
        .routes(needs(Manager, routes!(contacts::update_contact)))
        .routes(needs(Manager, routes!(consent::opt_out)))
        .routes(needs(Manager, routes!(consent::opt_in)))
        .routes(needs(Manager, routes!(jobs::import_contacts)))
        .routes(needs(Manager, routes!(jobs::get_import)))
        .routes(needs(Manager, routes!(jobs::export_contacts)))
        .routes(needs(Manager, routes!(jobs::get_export)))
        .routes(needs(Agent, routes!(lists::list_lists)))
        .routes(needs(Manager, routes!(lists::create_list)))
        .routes(needs(Agent, routes!(lists::get_list)))
        .routes(needs(Manager, routes!(lists::delete_list)))
        .routes(needs(Agent, routes!(members::list_members)))
        .routes(needs(
            Manager,
            routes!(members::add_members, members::remove_members),
        ))
}

wati_shared::http_function!(Access::TenantKey);

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = wati_shared::http::SchemaRefs::of(&super::openapi());
        assert!(doc.refs.len() > 10, "{:?}", doc.refs);
        doc.assert_sound(&[
            "ContactInput",
            "Contact",
            "UpsertContactsReport",
            "ListMembersReport",
        ]);
    }
}
