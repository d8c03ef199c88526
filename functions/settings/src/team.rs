//! Team Inbox members (`/api/team`): each member is one seat of the plan.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::quota::{cap_for, limit_reached_message, Limit};
use wati_shared::domain::validate;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::http::ApiPath;
use wati_shared::store::team::{AddMember, Member, Role};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(example = "sara@acme.example")]
    pub email: String,
    pub name: Option<String>,
    /// `agent` (default), `manager` or `admin`.
    pub role: Option<Role>,
}

wati_shared::envelope!(MemberEnvelope, member: Member);

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

/// Add a Team Inbox member (takes one seat of the plan).
#[utoipa::path(post, path = "/api/team", tag = "team",
    request_body = AddMemberRequest,
    responses((status = 201, body = MemberEnvelope), (status = 400, body = ErrorBody),
        (status = 409, description = "Seat cap reached, or the e-mail is already a member", body = ErrorBody)))]
pub async fn add_member(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> ApiResult<(StatusCode, Json<MemberEnvelope>)> {
    let email = validate::email("email", &req.email).map_err(ApiError::bad_request)?;
    let name = req
        .name
        .as_deref()
        .map(|n| validate::name("name", n, 100))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let now = state.clock.now();
    let member = Member {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        name,
        role: req.role.unwrap_or(Role::Agent),
        created_at: now,
    };
    let cap = cap_for(caller.plan, &caller.limits, Limit::Seats);
    match state
        .store
        .add_team_member(&caller.tenant_id, member, cap, now)
        .await?
    {
        AddMember::Added(member) => Ok((StatusCode::CREATED, Json(MemberEnvelope { member }))),
        AddMember::SeatLimitReached { cap } => Err(ApiError::conflict(limit_reached_message(
            Limit::Seats,
            cap,
            caller.plan,
        ))),
        AddMember::EmailTaken => Err(ApiError::conflict(
            "\"email\" is already a member of this team",
        )),
    }
}

/// List the Team Inbox members.
#[utoipa::path(get, path = "/api/team", tag = "team",
    responses((status = 200, body = MemberList)))]
pub async fn list_members(Authed { state, caller }: Authed) -> ApiResult<Json<MemberList>> {
    Ok(Json(MemberList {
        members: state.store.list_team_members(&caller.tenant_id).await?,
    }))
}

/// Remove a member (gives its seat back).
#[utoipa::path(delete, path = "/api/team/{id}", tag = "team",
    params(("id" = String, Path, description = "Member id")),
    responses((status = 200, body = MemberEnvelope), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MemberEnvelope>> {
    match state
        .store
        .remove_team_member(&caller.tenant_id, &id, state.clock.now())
        .await?
    {
        Some(member) => Ok(Json(MemberEnvelope { member })),
        None => Err(ApiError::not_found("Member not found")),
    }
}
