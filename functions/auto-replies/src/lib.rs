//! Auto-reply: keyword rules, AI Smart Reply settings, working hours and the away
//! message, and the reply log.
//! Every route needs a tenant API key.

use axum::http::StatusCode;
use axum::Json;
use chrono::SubsecRound;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use wati_shared::domain::auto_reply::{self as rules, MatchType};
use wati_shared::domain::quota::{cap_for, limit_reached_message, Limit};
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::ApiPath;
use wati_shared::http::{required, Access};
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::routes;
use wati_shared::store::auto_replies::{CreateRuleOutcome, ReplyLogEntry, Rule};
use wati_shared::AppState;

mod ai_settings;
mod working_hours;
pub use ai_settings::*;
pub use working_hours::*;

pub fn routes() -> OpenApiRouter<AppState> {
    use wati_shared::domain::roles::Role::{Admin, Manager};
    use wati_shared::http::needs;
    OpenApiRouter::new()
        .routes(needs(
            Manager,
            routes!(list_rules, create_rule, delete_rule),
        ))
        .routes(needs(Manager, routes!(update_rule)))
        .routes(needs(Manager, routes!(reply_log)))
        .routes(needs(Admin, routes!(get_ai_settings, put_ai_settings)))
        .routes(needs(
            Manager,
            routes!(get_working_hours, put_working_hours),
        ))
}

wati_shared::http_function!(Access::TenantKey);

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<Rule>,
}

/// List the keyword rules, oldest first.
#[utoipa::path(get, path = "/api/auto-replies", tag = "auto-replies",
    responses((status = 200, body = RuleList)))]
async fn list_rules(Authed { state, caller }: Authed) -> ApiResult<Json<RuleList>> {
    Ok(Json(RuleList {
        rules: state.store.list_rules(&caller.tenant_id).await?,
    }))
}

/// The spec's request body (snake_case).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    pub keyword: Option<String>,
    pub match_type: Option<MatchType>,
    pub response: Option<String>,
    pub responses: Option<Vec<String>>,
    pub step_delay_seconds: Option<u32>,
    pub active: Option<bool>,
}

/// The validated content of a rule.
struct RuleContent {
    keyword: String,
    responses: Vec<String>,
    step_delay_seconds: u32,
}

fn content(req: &RuleRequest) -> ApiResult<RuleContent> {
    Ok(RuleContent {
        keyword: rules::keyword(required("keyword", &req.keyword)?)
            .map_err(ApiError::bad_request)?,
        responses: rules::responses(req.response.as_deref(), req.responses.as_deref())
            .map_err(ApiError::bad_request)?,
        step_delay_seconds: rules::step_delay(req.step_delay_seconds.unwrap_or(0))
            .map_err(ApiError::bad_request)?,
    })
}

wati_shared::envelope!(RuleEnvelope, rule: Rule);

/// Create a keyword rule (counts against the plan's rule cap).
#[utoipa::path(post, path = "/api/auto-replies", tag = "auto-replies",
    request_body = RuleRequest,
    responses((status = 201, body = RuleEnvelope), (status = 400, body = ErrorBody), (status = 409, description = "Rule cap reached", body = ErrorBody)))]
async fn create_rule(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<RuleRequest>,
) -> ApiResult<(StatusCode, Json<RuleEnvelope>)> {
    let c = content(&req)?;
    let now = state.clock.now();
    let rule = Rule {
        id: uuid::Uuid::new_v4().to_string(),
        keyword: c.keyword,
        match_type: req.match_type.unwrap_or(MatchType::Contains),
        response: c.responses[0].clone(),
        responses: c.responses,
        step_delay_seconds: c.step_delay_seconds,
        active: req.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let cap = cap_for(caller.plan, &caller.limits, Limit::AutoReplyRules);
    match state
        .store
        .create_rule(&caller.tenant_id, rule, cap, now)
        .await?
    {
        CreateRuleOutcome::Created(rule) => Ok((StatusCode::CREATED, Json(RuleEnvelope { rule }))),
        CreateRuleOutcome::LimitReached { cap } => Err(ApiError::conflict(limit_reached_message(
            Limit::AutoReplyRules,
            cap,
            caller.plan,
        ))),
    }
}

/// Change a rule: any subset of the fields (e.g. `{"active": false}` to pause it).
#[utoipa::path(patch, path = "/api/auto-replies/{id}", tag = "auto-replies",
    params(("id" = String, Path, description = "Rule id")),
    request_body = RuleRequest,
    responses((status = 200, body = RuleEnvelope), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_rule(
    Authed { state, caller }: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RuleRequest>,
) -> ApiResult<Json<RuleEnvelope>> {
    if req.keyword.is_none()
        && req.match_type.is_none()
        && req.response.is_none()
        && req.responses.is_none()
        && req.step_delay_seconds.is_none()
        && req.active.is_none()
    {
        return Err(ApiError::bad_request("Nothing to change"));
    }
    for _ in 0..3 {
        let mut rule = state
            .store
            .get_rule(&caller.tenant_id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("Rule not found"))?;
        let seen = rule.updated_at;
        if let Some(k) = &req.keyword {
            rule.keyword = rules::keyword(k).map_err(ApiError::bad_request)?;
        }
        if let Some(t) = req.match_type {
            rule.match_type = t;
        }
        if req.response.is_some() || req.responses.is_some() {
            rule.responses = rules::responses(req.response.as_deref(), req.responses.as_deref())
                .map_err(ApiError::bad_request)?;
            rule.response = rule.responses[0].clone();
        }
        if let Some(d) = req.step_delay_seconds {
            rule.step_delay_seconds = rules::step_delay(d).map_err(ApiError::bad_request)?;
        }
        if let Some(a) = req.active {
            rule.active = a;
        }
        // Stored to the millisecond, and it is the version the update is conditioned on:
        // it must differ from the one read.
        let now = state.clock.now().trunc_subsecs(3);
        rule.updated_at = if now == seen {
            now + chrono::Duration::milliseconds(1)
        } else {
            now
        };
        if state
            .store
            .replace_rule(&caller.tenant_id, &rule, seen)
            .await?
        {
            return Ok(Json(RuleEnvelope { rule }));
        }
    }
    Err(ApiError::conflict(
        "The rule is being changed by another request: try again",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRuleRequest {
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: String,
}

/// Delete a rule (the spec sends its id in the body).
#[utoipa::path(delete, path = "/api/auto-replies", tag = "auto-replies",
    request_body = DeleteRuleRequest,
    responses((status = 200, body = Deleted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    Authed { state, caller }: Authed,
    ApiJson(req): ApiJson<DeleteRuleRequest>,
) -> ApiResult<Json<Deleted>> {
    if state
        .store
        .delete_rule(&caller.tenant_id, &req.id, state.clock.now())
        .await?
    {
        Ok(Json(Deleted { deleted: req.id }))
    } else {
        Err(ApiError::not_found("Rule not found"))
    }
}

wati_shared::page!(ReplyLogPage, entries: ReplyLogEntry);

/// The auto-reply log, newest first: what answered each inbound message, or why nothing did.
#[utoipa::path(get, path = "/api/auto-replies/log", tag = "auto-replies",
    params(PageParams),
    responses((status = 200, body = ReplyLogPage), (status = 400, body = ErrorBody)))]
async fn reply_log(
    Authed { state, caller }: Authed,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<ReplyLogPage>> {
    let (entries, next_cursor) = state
        .store
        .reply_log(
            &caller.tenant_id,
            page.limit()?,
            page.cursor.as_deref(),
            state.clock.now(),
        )
        .await?;
    Ok(Json(ReplyLogPage {
        entries,
        next_cursor,
    }))
}
