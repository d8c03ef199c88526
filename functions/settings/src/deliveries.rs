//! The delivery log of a tenant's webhook: listing, one delivery with its attempts, and
//! redelivery.

use crate::webhooks::*;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use wati_shared::domain::webhooks::EventType;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::ApiQuery;
use wati_shared::services::events::{enqueue, DispatchMessage};
use wati_shared::store::webhooks::{
    Delivery, DeliveryDetail, DeliveryStatus, RedeliverOutcome, MAX_ATTEMPTS_PER_EVENT,
};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed` (dropped after the last attempt).
    pub status: Option<String>,
    /// An event type, e.g. `message.received`.
    pub event: Option<String>,
    /// Items per page, 1–100 (default 50).
    pub limit: Option<i32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

wati_shared::page!(DeliveryPageBody, deliveries: Delivery);

pub(crate) fn event_id_param(id: &str, what: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad_request(format!("Invalid {what}")))
}

/// The delivery log, newest first: each event with its attempts (time, status code,
/// latency, error). Filter by `status` and/or `event`.
#[utoipa::path(get, path = "/api/webhooks/deliveries", tag = "webhooks",
    params(DeliveryQuery),
    responses((status = 200, body = DeliveryPageBody), (status = 400, body = ErrorBody),
        (status = 409, description = "Plan without signed webhooks", body = ErrorBody)))]
pub async fn list_deliveries(
    Authed { state, caller }: Authed,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPageBody>> {
    require_webhooks(&caller)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s.trim()).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "\"status\" must be pending, delivered or failed; got {s:?}"
                ))
            })
        })
        .transpose()?;
    let event = q
        .event
        .as_deref()
        .map(|e| {
            EventType::parse(e.trim()).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "\"event\" must be one of {}; got {e:?}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let limit = match q.limit {
        None => 50,
        Some(n) if (1..=100).contains(&n) => n,
        Some(_) => return Err(ApiError::bad_request("\"limit\" must be between 1 and 100")),
    };
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| event_id_param(c, "\"cursor\""))
        .transpose()?;
    let page = state
        .store
        .list_deliveries(
            &caller.tenant_id,
            status,
            event,
            limit,
            cursor.as_deref(),
            state.clock.now(),
        )
        .await?;
    Ok(Json(DeliveryPageBody {
        deliveries: page.deliveries,
        next_cursor: page.next_cursor,
    }))
}

wati_shared::envelope!(DeliveryEnvelope, delivery: DeliveryDetail);

/// One delivery with the exact body every attempt sent.
#[utoipa::path(get, path = "/api/webhooks/deliveries/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Event id")),
    responses((status = 200, body = DeliveryEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Plan without signed webhooks", body = ErrorBody)))]
pub async fn get_delivery(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeliveryEnvelope>> {
    require_webhooks(&caller)?;
    let id = event_id_param(&id, "delivery id").map_err(|_| delivery_not_found())?;
    let delivery = state
        .store
        .get_delivery(&caller.tenant_id, &id, state.clock.now())
        .await?
        .ok_or_else(delivery_not_found)?;
    Ok(Json(DeliveryEnvelope { delivery }))
}

pub(crate) fn delivery_not_found() -> ApiError {
    ApiError::not_found("Delivery not found")
}

wati_shared::envelope!(RedeliveryEnvelope, delivery: Delivery);

/// Send a delivered or dropped event again, with the same id and body, to the webhook's
/// current URL: a new round of attempts with the full retry schedule.
#[utoipa::path(post, path = "/api/webhooks/deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "Event id")),
    responses((status = 202, body = RedeliveryEnvelope),
        (status = 404, description = "No delivery of yours has this id (with or without a webhook)", body = ErrorBody),
        (status = 409, description = "Still pending, too many attempts, no webhook, or plan without webhooks", body = ErrorBody)))]
pub async fn redeliver(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    require_webhooks(&caller)?;
    let id = event_id_param(&id, "delivery id").map_err(|_| delivery_not_found())?;
    let now = state.clock.now();
    if state.store.get_webhook(&caller.tenant_id).await?.is_none() {
        // An id that is not this tenant's is a 404 whether or not a webhook is set, so the
        // answer says nothing about other tenants' ids.
        if state
            .store
            .get_delivery(&caller.tenant_id, &id, now)
            .await?
            .is_none()
        {
            return Err(delivery_not_found());
        }
        return Err(ApiError::conflict(
            "No webhook is configured: set one with PUT /api/settings/webhook first",
        ));
    }
    let (seq, delivery) = match state
        .store
        .start_redelivery(&caller.tenant_id, &id, now)
        .await?
    {
        RedeliverOutcome::Started { seq, delivery } => (seq, delivery),
        RedeliverOutcome::NotFound => return Err(delivery_not_found()),
        RedeliverOutcome::AlreadyPending => {
            return Err(ApiError::conflict(
                "This delivery is still pending: its next attempt is already scheduled",
            ))
        }
        RedeliverOutcome::TooManyAttempts => {
            return Err(ApiError::conflict(format!(
                "This event has had {MAX_ATTEMPTS_PER_EVENT} attempts, the most one event may have"
            )))
        }
    };
    let previous = delivery_status_before(&delivery);
    let msg = DispatchMessage {
        tenant_id: caller.tenant_id.clone(),
        event_id: id.clone(),
        event_type: delivery.event,
        seq,
        due_at: now.timestamp(),
        payload: None,
    };
    if let Err(e) = enqueue(&state, &msg, 0).await {
        // Put the record back as it was, so it can be redelivered again.
        state
            .store
            .abandon_redelivery(&caller.tenant_id, &id, delivery.event, seq, previous)
            .await?;
        return Err(ApiError::from(e));
    }
    Ok((StatusCode::ACCEPTED, Json(RedeliveryEnvelope { delivery })).into_response())
}

/// What a record was before a redelivery made it pending: its last attempt tells.
pub(crate) fn delivery_status_before(d: &Delivery) -> DeliveryStatus {
    match d.attempts.last() {
        Some(a) if a.status_code.is_some_and(|c| (200..300).contains(&c)) => {
            DeliveryStatus::Delivered
        }
        _ => DeliveryStatus::Failed,
    }
}
