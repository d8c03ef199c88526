//! The team (`/api/team`): memberships of users, one role each; each member is one seat.

use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wati_shared::domain::quota::{limit_reached_message, Limit};
use wati_shared::domain::validate;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiJson;
use wati_shared::http::ApiPath;
use wati_shared::services::auth::team::{self, Invited, IssuedToken};
use wati_shared::store::api_keys::Principal;
use wati_shared::store::team::{Member, Role};
use wati_shared::AppState;

use crate::audit::note;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(example = "sara@acme.example")]
    pub email: String,
    pub name: Option<String>,
    /// `agent` (default), `manager` or `admin`.
    pub role: Option<Role>,
}

/// A one-time link: the token is shown only this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub token: String,
    pub url: Option<String>,
    #[serde(with = "wati_shared::domain::time::secs")]
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedMember {
    pub member: Member,
    pub invitation: Invitation,
}

wati_shared::envelope!(MemberEnvelope, member: Member);

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

fn link(state: &AppState, headers: &HeaderMap, page: &str, t: IssuedToken) -> Invitation {
    let url = wati_shared::http::public_base_url(state, headers)
        .map(|base| format!("{base}/{page}?token={}", t.token));
    Invitation {
        token: t.token,
        url,
        expires_at: t.expires_at,
    }
}

fn member_not_found() -> ApiError {
    ApiError::not_found("Member not found")
}

/// Notes a change to the member `id`.
async fn note_member(
    state: &AppState,
    caller: &Principal,
    action: &str,
    id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> ApiResult<()> {
    note(state, caller, action, format!("member:{id}"), before, after).await
}

/// Invite a member (takes one seat of the plan). The invitation is valid for 7 days.
#[utoipa::path(post, path = "/api/team", tag = "team",
    request_body = AddMemberRequest,
    responses((status = 201, body = InvitedMember), (status = 400, body = ErrorBody),
        (status = 409, description = "Seat cap reached, or already a member", body = ErrorBody)))]
pub async fn add_member(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> ApiResult<(StatusCode, Json<InvitedMember>)> {
    let email = validate::email("email", &req.email).map_err(ApiError::bad_request)?;
    let name =
        validate::optional_name("name", req.name.as_deref(), 100).map_err(ApiError::bad_request)?;
    let role = req.role.unwrap_or(Role::Agent);
    let plan = (caller.plan, &caller.limits);
    match team::invite(&state, &caller.tenant_id, plan, email, name, role).await? {
        Invited::Invited(member, token) => {
            let after = Some(json!(member));
            note_member(&state, &caller, "member.invited", &member.id, None, after).await?;
            Ok((
                StatusCode::CREATED,
                Json(InvitedMember {
                    member,
                    invitation: link(&state, &headers, "accept-invitation", token),
                }),
            ))
        }
        Invited::SeatLimitReached { cap } => Err(ApiError::conflict(limit_reached_message(
            Limit::Seats,
            cap,
            caller.plan,
        ))),
        Invited::AlreadyMember => Err(ApiError::conflict(
            "\"email\" is already a member of this team",
        )),
    }
}

/// List the members.
#[utoipa::path(get, path = "/api/team", tag = "team",
    responses((status = 200, body = MemberList)))]
pub async fn list_members(Authed { state, caller }: Authed) -> ApiResult<Json<MemberList>> {
    Ok(Json(MemberList {
        members: state.store.list_team_members(&caller.tenant_id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub role: Role,
}

/// Change a member's role; it applies from the member's next request.
#[utoipa::path(patch, path = "/api/team/{id}", tag = "team",
    params(("id" = String, Path, description = "Member (user) id")),
    request_body = UpdateMemberRequest,
    responses((status = 200, body = MemberEnvelope), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update_member(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> ApiResult<Json<MemberEnvelope>> {
    let (before, member) = state
        .store
        .set_member_role(&caller.tenant_id, &id, req.role)
        .await?
        .ok_or_else(member_not_found)?;
    let (b, a) = (json!({"role": before}), json!({"role": member.role}));
    let action = "member.role_changed";
    note_member(&state, &caller, action, &id, Some(b), Some(a)).await?;
    Ok(Json(MemberEnvelope { member }))
}

/// Remove a member: gives the seat back, and the member's sign-ins to this tenant stop
/// working on their next request.
#[utoipa::path(delete, path = "/api/team/{id}", tag = "team",
    params(("id" = String, Path, description = "Member (user) id")),
    responses((status = 200, body = MemberEnvelope), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MemberEnvelope>> {
    let member = state
        .store
        .remove_team_member(&caller.tenant_id, &id, state.clock.now())
        .await?
        .ok_or_else(member_not_found)?;
    let before = Some(json!(member));
    note_member(&state, &caller, "member.removed", &id, before, None).await?;
    Ok(Json(MemberEnvelope { member }))
}

/// Issue a password-reset link for a member (valid 24 hours; shown once).
#[utoipa::path(post, path = "/api/team/{id}/password-reset", tag = "team",
    params(("id" = String, Path, description = "Member (user) id")),
    responses((status = 201, body = Invitation), (status = 404, body = ErrorBody)))]
pub async fn password_reset(
    Authed { state, caller }: Authed,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let token = team::issue_reset(&state, &caller.tenant_id, &id).await?;
    let action = "member.password_reset_issued";
    note_member(&state, &caller, action, &id, None, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(link(&state, &headers, "reset-password", token)),
    ))
}
