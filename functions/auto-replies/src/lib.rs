//! Auto-reply: keyword rules, AI Smart Reply settings, and the reply log.
//! Every route needs a tenant API key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wati_shared::domain::auto_reply::{normalize, MatchType};
use wati_shared::domain::quota::{cap_for, limit_reached_message, Limit};
use wati_shared::http::auth::Caller;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::ApiError;
use wati_shared::http::{guarded, Access};
use wati_shared::http::{ApiJson, ApiQuery, PageParams};
use wati_shared::runtime::clock::iso;
use wati_shared::store::auto_replies::{AiSettings, CreateRuleOutcome, ReplyLogEntry, Rule};
use wati_shared::store::{cursor, keys};
use wati_shared::AppState;

pub const MAX_KEYWORD_CHARS: usize = 100;
pub const MAX_RESPONSES: usize = 10;
pub const MAX_RESPONSE_CHARS: usize = 4096;
pub const MAX_STEP_DELAY_SECONDS: u32 = 60;
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 4000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule, delete_rule))
        .routes(routes!(update_rule))
        .routes(routes!(reply_log))
        .routes(routes!(get_ai_settings, put_ai_settings))
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

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<Rule>,
}

/// List the keyword rules, oldest first.
#[utoipa::path(get, path = "/api/auto-replies", tag = "auto-replies",
    security(("apiKey" = [])),
    responses((status = 200, body = RuleList), (status = 401, body = ErrorBody)))]
async fn list_rules(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<RuleList>> {
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

fn keyword(k: &str) -> ApiResult<String> {
    let k = k.trim();
    if normalize(k).is_empty() {
        return Err(ApiError::bad_request("\"keyword\" must not be empty"));
    }
    if k.chars().count() > MAX_KEYWORD_CHARS {
        return Err(ApiError::bad_request(format!(
            "\"keyword\" must be at most {MAX_KEYWORD_CHARS} characters"
        )));
    }
    Ok(k.to_string())
}

/// `responses` if given, else `[response]`; each non-empty and within WhatsApp's size.
fn responses(response: Option<&str>, responses: Option<&[String]>) -> ApiResult<Vec<String>> {
    let list: Vec<String> = match (responses, response) {
        (Some(list), _) if !list.is_empty() => list.to_vec(),
        (_, Some(one)) => vec![one.to_string()],
        _ => {
            return Err(ApiError::bad_request(
                "Send \"response\" or a non-empty \"responses\" list",
            ))
        }
    };
    if list.len() > MAX_RESPONSES {
        return Err(ApiError::bad_request(format!(
            "\"responses\" may hold at most {MAX_RESPONSES} messages"
        )));
    }
    for (i, r) in list.iter().enumerate() {
        if r.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "\"responses[{i}]\" must not be empty"
            )));
        }
        if r.chars().count() > MAX_RESPONSE_CHARS {
            return Err(ApiError::bad_request(format!(
                "\"responses[{i}]\" must be at most {MAX_RESPONSE_CHARS} characters"
            )));
        }
    }
    Ok(list)
}

fn step_delay(v: u32) -> ApiResult<u32> {
    if v > MAX_STEP_DELAY_SECONDS {
        return Err(ApiError::bad_request(format!(
            "\"step_delay_seconds\" must be between 0 and {MAX_STEP_DELAY_SECONDS}"
        )));
    }
    Ok(v)
}

fn content(req: &RuleRequest) -> ApiResult<RuleContent> {
    Ok(RuleContent {
        keyword: keyword(
            req.keyword
                .as_deref()
                .ok_or_else(|| ApiError::bad_request("\"keyword\" is required"))?,
        )?,
        responses: responses(req.response.as_deref(), req.responses.as_deref())?,
        step_delay_seconds: step_delay(req.step_delay_seconds.unwrap_or(0))?,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleEnvelope {
    pub rule: Rule,
}

/// Create a keyword rule (counts against the plan's rule cap).
#[utoipa::path(post, path = "/api/auto-replies", tag = "auto-replies",
    request_body = RuleRequest,
    security(("apiKey" = [])),
    responses((status = 201, body = RuleEnvelope), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, description = "Rule cap reached", body = ErrorBody)))]
async fn create_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
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
        created_at: wati_shared::runtime::clock::iso_millis(now),
        updated_at: wati_shared::runtime::clock::iso_millis(now),
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
    security(("apiKey" = [])),
    responses((status = 200, body = RuleEnvelope), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
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
        let seen = rule.updated_at.clone();
        if let Some(k) = &req.keyword {
            rule.keyword = keyword(k)?;
        }
        if let Some(t) = req.match_type {
            rule.match_type = t;
        }
        if req.response.is_some() || req.responses.is_some() {
            rule.responses = responses(req.response.as_deref(), req.responses.as_deref())?;
            rule.response = rule.responses[0].clone();
        }
        if let Some(d) = req.step_delay_seconds {
            rule.step_delay_seconds = step_delay(d)?;
        }
        if let Some(a) = req.active {
            rule.active = a;
        }
        rule.updated_at = wati_shared::runtime::clock::iso_millis(state.clock.now());
        if rule.updated_at == seen {
            rule.updated_at = wati_shared::runtime::clock::iso_millis(
                state.clock.now() + chrono::Duration::milliseconds(1),
            );
        }
        if state
            .store
            .replace_rule(&caller.tenant_id, &rule, &seen)
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
    security(("apiKey" = [])),
    responses((status = 200, body = Deleted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(state): State<AppState>,
    Caller(caller): Caller,
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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyLogPage {
    pub entries: Vec<ReplyLogEntry>,
    pub next_cursor: Option<String>,
}

/// The auto-reply log, newest first: what answered each inbound message, or why nothing did.
#[utoipa::path(get, path = "/api/auto-replies/log", tag = "auto-replies",
    params(PageParams),
    security(("apiKey" = [])),
    responses((status = 200, body = ReplyLogPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn reply_log(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<ReplyLogPage>> {
    let start = page
        .cursor
        .as_deref()
        .map(|c| cursor::decode(c, keys::PK, &keys::tenant_pk(&caller.tenant_id)))
        .transpose()?;
    let (entries, next_cursor) = state
        .store
        .reply_log(&caller.tenant_id, page.limit()?, start, state.clock.now())
        .await?;
    Ok(Json(ReplyLogPage {
        entries,
        next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiSettingsView {
    #[serde(flatten)]
    pub settings: AiSettings,
    /// AI replies the plan allows per day (`null`: unlimited; 0: AI replies are skipped).
    pub daily_limit: Option<u32>,
}

/// AI Smart Reply settings.
#[utoipa::path(get, path = "/api/ai-settings", tag = "auto-replies",
    security(("apiKey" = [])),
    responses((status = 200, body = AiSettingsView), (status = 401, body = ErrorBody)))]
async fn get_ai_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<AiSettingsView>> {
    let settings = state.store.ai_settings(&caller.tenant_id).await?;
    Ok(Json(AiSettingsView {
        settings,
        daily_limit: cap_for(caller.plan, &caller.limits, Limit::AiRepliesPerDay),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiSettingsRequest {
    pub enabled: bool,
    #[serde(default)]
    pub system_prompt: String,
    pub fallback_language: Option<String>,
}

/// Turn AI Smart Reply on or off, set the business voice and the fallback language.
#[utoipa::path(put, path = "/api/ai-settings", tag = "auto-replies",
    request_body = AiSettingsRequest,
    security(("apiKey" = [])),
    responses((status = 200, body = AiSettingsView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn put_ai_settings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<AiSettingsRequest>,
) -> ApiResult<Json<AiSettingsView>> {
    if req.system_prompt.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
        return Err(ApiError::bad_request(format!(
            "\"systemPrompt\" must be at most {MAX_SYSTEM_PROMPT_CHARS} characters"
        )));
    }
    let fallback_language = match req.fallback_language {
        None => AiSettings::default().fallback_language,
        Some(l) => wati_shared::domain::validate::name("fallbackLanguage", &l, 50)
            .map_err(ApiError::bad_request)?,
    };
    let settings = AiSettings {
        enabled: req.enabled,
        system_prompt: req.system_prompt.trim().to_string(),
        fallback_language,
    };
    state
        .store
        .put_ai_settings(&caller.tenant_id, &settings)
        .await?;
    tracing::info!(enabled = settings.enabled, at = %iso(state.clock.now()), "AI settings changed");
    Ok(Json(AiSettingsView {
        settings,
        daily_limit: cap_for(caller.plan, &caller.limits, Limit::AiRepliesPerDay),
    }))
}
