//! `POST /api/contacts/{id}/opt-out` and `/opt-in`: consent changed by the business (source
//! `api`). A change publishes `contact.opted_out` / `contact.opted_in`; asking for the state
//! the contact is already in changes nothing and publishes nothing.

use crate::contacts::{not_found, ContactEnvelope};
use axum::Json;
use wati_shared::domain::consent::ConsentSource;
use wati_shared::domain::contacts::ConsentChange;
use wati_shared::domain::webhooks::{ContactConsent, WebhookEvent};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::services::events;
use wati_shared::store::contacts::{ContactPatch, PatchOutcome};
use wati_shared::AppState;

/// Opt a contact out: campaigns skip it, automatic replies never go to it, and direct
/// sends are refused (unless the tenant's `blockDirectSends` is off). Source `api`.
#[utoipa::path(post, path = "/api/contacts/{id}/opt-out", tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    responses((status = 200, body = ContactEnvelope), (status = 404, body = ErrorBody)))]
pub async fn opt_out(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ContactEnvelope>> {
    set(&state, &caller.tenant_id, &id, true).await
}

/// Opt a contact back in (for example after the customer agreed again elsewhere).
#[utoipa::path(post, path = "/api/contacts/{id}/opt-in", tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    responses((status = 200, body = ContactEnvelope), (status = 404, body = ErrorBody)))]
pub async fn opt_in(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ContactEnvelope>> {
    set(&state, &caller.tenant_id, &id, false).await
}

async fn set(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    opted_out: bool,
) -> ApiResult<Json<ContactEnvelope>> {
    let patch = ContactPatch {
        consent: Some(ConsentChange::new(opted_out, ConsentSource::Api)),
        ..ContactPatch::default()
    };
    let now = state.clock.now();
    let contact = match state
        .store
        .update_contact(tenant_id, id, &patch, now)
        .await?
    {
        PatchOutcome::Unchanged(contact) => return Ok(Json(ContactEnvelope { contact })),
        PatchOutcome::Updated(contact) => contact,
        PatchOutcome::NotFound => return Err(not_found()),
        PatchOutcome::PhoneTaken { .. } | PatchOutcome::Invalid(_) => {
            return Err(ApiError::internal("a consent change cannot conflict"))
        }
    };
    let body = ContactConsent {
        contact_id: contact.id.clone(),
        phone: contact.phone.clone(),
        source: ConsentSource::Api,
        device_id: None,
        message_id: None,
        timestamp: now.timestamp(),
    };
    let event = if opted_out {
        WebhookEvent::ContactOptedOut(body)
    } else {
        WebhookEvent::ContactOptedIn(body)
    };
    // Keyed by the contact's new version time: a retried request makes no second event.
    let key = format!(
        "{}:{}:{}",
        event.event_type(),
        contact.id,
        contact.updated_at
    );
    events::publish_with_key(state, tenant_id, event, &key).await?;
    Ok(Json(ContactEnvelope { contact }))
}
