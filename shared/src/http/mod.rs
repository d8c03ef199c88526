//! HTTP plumbing shared by every function's Router: JSON extractors whose failures are
//! `{"error": "…"}` 400s, JSON 404/405 fallbacks, the per-request span (request id, AWS call
//! accounting, one summary log line), and CORS.

pub mod auth;
pub mod error;
pub mod sends;

pub use error::{ApiError, ApiResult, ErrorBody};

use crate::runtime::metrics;
use crate::runtime::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Instant;
use tracing::Instrument;
use utoipa::IntoParams;

/// Lambda's synchronous payload limit; API Gateway's own is larger.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const AWS_CALLS: HeaderName = HeaderName::from_static("x-aws-calls");
pub const AWS_SEQUENTIAL: HeaderName = HeaderName::from_static("x-aws-sequential");
/// `Service.Operation` of every AWS call, in the order they started, comma-separated.
pub const AWS_OPERATIONS: HeaderName = HeaderName::from_static("x-aws-operations");
pub const AWS_CONSUMED_CAPACITY: HeaderName = HeaderName::from_static("x-aws-consumed-capacity");
pub const AWS_CALLS_BEFORE_PROVIDER: HeaderName =
    HeaderName::from_static("x-aws-calls-before-provider");
pub const AWS_SEQUENTIAL_BEFORE_PROVIDER: HeaderName =
    HeaderName::from_static("x-aws-sequential-before-provider");

/// A JSON body. Content-Type is not insisted on (many server-side clients forget it);
/// anything that is not the expected JSON is a 400 that says what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ApiBody(bytes) = ApiBody::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw body, for handlers that need its bytes as well as its JSON (`Idempotency-Key`
/// fingerprints, optional bodies). Axum's own `Bytes` rejection is plain text.
pub struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBody)
            .map_err(|e| {
                let message = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    format!("Request body is too large: at most {MAX_BODY_BYTES} bytes (6 MB)")
                } else {
                    format!("Could not read the request body: {}", e.body_text())
                };
                ApiError::new(e.status(), message)
            })
    }
}

/// Parses a JSON body, naming the field at fault when it is the wrong shape. Anything after
/// the value is refused: a client must not be able to smuggle a second request behind it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Request body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("Request body is not valid JSON: {inner}")
        } else if path.is_empty() || path == "." {
            format!("Invalid request body: {inner}")
        } else {
            format!("Invalid \"{path}\": {inner}")
        };
        ApiError::bad_request(message)
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// A required field of a request body, or the 400 that names it.
pub fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, ApiError> {
    v.as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("\"{field}\" is required")))
}

/// Path parameters; one that cannot be read (invalid UTF-8 after decoding) is a JSON 400,
/// where axum's own rejection is plain text.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| match e.status() {
                StatusCode::BAD_REQUEST => ApiError::bad_request(e.body_text()),
                _ => ApiError::internal(e.body_text()),
            })
    }
}

/// Query parameters; a malformed query string is a 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request(query_error(&e.body_text())))
    }
}

/// A query string's rejection, naming the parameter as body errors name their field:
/// axum's "Failed to deserialize query string: limit: invalid digit found in string"
/// becomes `Invalid "limit": invalid digit found in string`.
fn query_error(text: &str) -> String {
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(text);
    match detail.split_once(": ") {
        Some((name, why)) if !name.is_empty() && !name.contains(' ') => {
            format!("Invalid \"{name}\": {why}")
        }
        _ => format!("Invalid query string: {detail}"),
    }
}

/// `?limit=&cursor=` on every listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–100 (default 50).
    pub limit: Option<i32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i32, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=100).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_request("\"limit\" must be between 1 and 100")),
        }
    }
}

/// Who may call a function's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A tenant's API key.
    TenantKey,
    /// A tenant's API key on a plan with REST access (`/api/public/v1/…`: Pro, Agency).
    PublicApi,
    /// The platform admin key, or a super admin's JWT.
    PlatformAdmin,
    /// No credential checked by the router (sign-in); handlers that need a session take
    /// [`auth::SignedIn`].
    Open,
}

/// The operations of a path that the API has (it uses no other methods).
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Declares the least role a route's operations need (`docs/roles.md`): checked after the
/// credential, before the handler, and stated in the OpenAPI document. A tenant route
/// without a declaration is for admins only.
pub fn needs(
    role: crate::domain::roles::Role,
    (schemas, mut paths, router): utoipa_axum::router::UtoipaMethodRouter<AppState>,
) -> utoipa_axum::router::UtoipaMethodRouter<AppState> {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    for item in paths.paths.values_mut() {
        for op in operations(item) {
            let ext = ExtensionsBuilder::new()
                .add("x-required-role", role.as_str())
                .build();
            op.extensions
                .get_or_insert_with(Default::default)
                .merge(ext);
        }
    }
    let router = router.route_layer(middleware::from_fn(move |req, next| {
        crate::http::auth::require_role(role, req, next)
    }));
    (schemas, paths, router)
}

/// A function's Router: its routes behind the access rule, with state and [`finish`].
pub fn guarded(
    routes: utoipa_axum::router::OpenApiRouter<AppState>,
    access: Access,
    state: AppState,
) -> Router {
    use crate::http::auth::{require_api_key, require_platform_admin, require_rest_access};
    let (router, _) = routes.split_for_parts();
    // Route layers run last-added first: the key is authenticated before the plan gate.
    let router = match access {
        Access::TenantKey => router.route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        )),
        Access::PublicApi => router
            .route_layer(middleware::from_fn(require_rest_access))
            .route_layer(middleware::from_fn_with_state(
                state.clone(),
                require_api_key,
            )),
        Access::PlatformAdmin => router.route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_platform_admin,
        )),
        Access::Open => router,
    };
    finish(router.with_state(state.clone()), state)
}

/// Wraps a function's routes with what every Lambda needs: JSON fallbacks, the body limit,
/// the request span and CORS. Call it last, on the Router with its state applied.
pub fn finish(router: Router, state: AppState) -> Router {
    router
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state, request_context))
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("No route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {}", uri.path()),
    )
}

/// The request id: API Gateway's when running in Lambda, else the caller's `X-Request-Id`
/// (if sane), else a new one.
fn request_id(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = &ctx.request_id {
            return id.clone();
        }
    }
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

async fn request_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let origin = allowed_origin(&state, req.headers());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %path,
        tenant_id = tracing::field::Empty
    );
    let started = Instant::now();
    let (mut res, calls) = metrics::record(&path, next.run(req))
        .instrument(span.clone())
        .await;
    let summary = calls.summary();
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            aws_calls = summary.total,
            aws_sequential = summary.sequential,
            aws_operations = %summary.operations.join(","),
            aws_sequential_before_provider = summary.before_provider.map(|b| b.1),
            "request finished"
        );
    });
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, v);
    }
    if state.config.api.expose_aws_call_counts {
        headers.insert(AWS_CALLS, HeaderValue::from(summary.total));
        headers.insert(AWS_SEQUENTIAL, HeaderValue::from(summary.sequential));
        if let Ok(v) = HeaderValue::from_str(&summary.operations.join(",")) {
            headers.insert(AWS_OPERATIONS, v);
        }
        if let Some(units) = summary.consumed_capacity {
            if let Ok(v) = HeaderValue::from_str(&format!("{units}")) {
                headers.insert(AWS_CONSUMED_CAPACITY, v);
            }
        }
        if let Some((calls, sequential)) = summary.before_provider {
            headers.insert(AWS_CALLS_BEFORE_PROVIDER, HeaderValue::from(calls));
            headers.insert(
                AWS_SEQUENTIAL_BEFORE_PROVIDER,
                HeaderValue::from(sequential),
            );
        }
    }
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, idempotent-replayed",
            ),
        );
    }
    if !state.config.api.cors_allowed_origins.is_empty() {
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
    res
}

/// The request's `Origin` if it is one the operator allowed, else `None`.
fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let allowed = origin.to_str().ok().is_some_and(|o| {
        state
            .config
            .api
            .cors_allowed_origins
            .iter()
            .any(|a| a == "*" || a == o)
    });
    allowed.then(|| origin.clone())
}

/// Answers every CORS preflight. API keys belong on servers, so by default no origin is
/// allowed and browsers stop there; operators who front the API with their own dashboard
/// list its origin in `CORS_ALLOWED_ORIGINS`.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    if let Some(origin) = allowed_origin(&state, &headers) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, idempotency-key"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(600));
    }
    res
}

/// `utoipa_axum::routes!` for the functions' `routes()`: the handlers on their path and
/// methods, with their OpenAPI operations and schemas. In a release build (what Lambda
/// runs) only the path and the methods are taken from each handler's `#[utoipa::path]`, and
/// its operation is left empty: the same routes, without linking or building at init the
/// OpenAPI code of every route and type, which only `make openapi` and the tests (debug
/// builds) read. The `openapi` feature keeps the full form in a release build.
#[cfg(any(debug_assertions, feature = "openapi"))]
#[macro_export]
macro_rules! routes {
    ($($handlers:tt)*) => { ::utoipa_axum::routes!($($handlers)*) };
}

/// See the other `routes!`: the release form.
#[cfg(not(any(debug_assertions, feature = "openapi")))]
#[macro_export]
macro_rules! routes {
    ($($handlers:tt)*) => { $crate::routing_only!($($handlers)*) };
}

/// The routes of `routes!` without their OpenAPI operations: the path and methods each
/// handler's `#[utoipa::path]` names, registered as `utoipa_axum::routes!` registers them.
#[doc(hidden)]
#[macro_export]
macro_rules! routing_only {
    // Each handler as plain tokens (not a `path` fragment, which utoipa_axum's arms could
    // not take apart again).
    ( $( $($segment:ident)::+ ),+ $(,)? ) => {{
        use ::utoipa_axum::PathItemExt as _;
        let mut paths = ::utoipa::openapi::path::Paths::new();
        let mut router = ::axum::routing::MethodRouter::new();
        $(
            let path = ::utoipa_axum::routes!(@path [path()] of $($segment)::+);
            let methods = ::utoipa_axum::routes!(@path [methods()] of $($segment)::+);
            for method in methods.iter() {
                router = router.on(method.to_method_filter(), $($segment)::+);
            }
            paths.add_path_operation(&path, methods, ::utoipa::openapi::path::Operation::new());
        )+
        (
            Vec::<(String, ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema>)>::new(),
            paths,
            router,
        )
    }};
}

/// The three entry points of an HTTP function crate whose `routes()` sit behind one access
/// rule: `handler` (what `main.rs` and the dev server run), `router` and `openapi`. A crate
/// whose router adds routes of its own beside the guarded ones writes `router` itself and
/// passes `own_router`.
#[macro_export]
macro_rules! http_function {
    ($access:expr) => {
        /// The routes behind their access rule, with every layer a Lambda needs.
        pub fn router(state: $crate::AppState) -> axum::Router {
            $crate::http::guarded(routes(), $access, state)
        }

        $crate::http_function!(own_router, $access);
    };
    (own_router, $access:expr) => {
        /// This function's Lambda handler: its Router (see `wati_shared::lambda`).
        pub fn handler(state: $crate::AppState) -> $crate::lambda::Handler {
            $crate::lambda::Handler::Http(router(state))
        }

        /// This function's part of the OpenAPI document.
        pub fn openapi() -> utoipa::openapi::OpenApi {
            let mut doc = routes().split_for_parts().1;
            $crate::http::document_access(&mut doc, $access);
            doc
        }

        // Every function's document is merged into the one the API serves: a `$ref` to a
        // schema it does not carry would dangle there.
        #[cfg(test)]
        mod openapi_tests {
            #[test]
            fn every_schema_reference_resolves() {
                $crate::http::SchemaRefs::of(&super::openapi()).assert_sound(&[]);
            }
        }
    };
}

/// A page of a listing, as every listing of the API answers it: the items under the name
/// the spec gives them, and `nextCursor` (`null` on the last page).
#[macro_export]
macro_rules! page {
    ($(#[$meta:meta])* $name:ident, $field:ident: $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            pub $field: Vec<$item>,
            /// Pass as `cursor` for the next page; `null` on the last one.
            pub next_cursor: Option<String>,
        }
    };
}

/// One resource under its name, as the API answers a read or a write of one
/// (`{"contact": {…}}`).
#[macro_export]
macro_rules! envelope {
    ($(#[$meta:meta])* $name:ident, $field:ident: $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub $field: $item,
        }
    };
}

/// Declares on every operation of `doc` what its access rule means to a client: the
/// security scheme, and the `401` (and, behind a tenant key, the rate limit's `429`) that
/// the rule's middleware answers. Done here once, so no route can forget it.
pub fn document_access(doc: &mut utoipa::openapi::OpenApi, access: Access) {
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let (schemes, statuses): (&[&str], &[&str]) = match access {
        Access::TenantKey | Access::PublicApi => (&["apiKey", "userJwt"], &["401", "403", "429"]),
        Access::PlatformAdmin => (&["platformAdmin", "userJwt"], &["401", "403"]),
        // Each operation states its own.
        Access::Open => (&[], &[]),
    };
    let error = ResponseBuilder::new()
        .description("")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if !schemes.is_empty() {
                op.security = Some(
                    schemes
                        .iter()
                        .map(|s| SecurityRequirement::new(*s, Vec::<String>::new()))
                        .collect(),
                );
            }
            for status in statuses {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error.clone().into());
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry("ErrorBody".to_string())
        .or_insert_with(<ErrorBody as utoipa::PartialSchema>::schema);
}

/// The schema references of an OpenAPI document and the schemas it defines, so a function
/// crate's unit test can assert that every type its routes use is registered.
pub struct SchemaRefs {
    pub refs: Vec<String>,
    pub schemas: std::collections::BTreeSet<String>,
}

impl SchemaRefs {
    pub fn of(doc: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(doc).unwrap_or_default();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let refs = doc
            .to_string()
            .split("\"$ref\":\"#/components/schemas/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect();
        SchemaRefs { refs, schemas }
    }

    /// References that point at no schema.
    pub fn dangling(&self) -> Vec<&str> {
        self.refs
            .iter()
            .filter(|r| !self.schemas.contains(*r))
            .map(String::as_str)
            .collect()
    }

    /// For a crate's unit test: no reference dangles, and each of `needed` is defined.
    pub fn assert_sound(&self, needed: &[&str]) {
        assert_eq!(self.dangling(), Vec::<&str>::new(), "dangling $ref");
        for name in needed {
            assert!(self.schemas.contains(*name), "{name} missing");
        }
    }
}

/// The public base URL: `PUBLIC_BASE_URL`, else the request's (forwarded) host.
pub fn public_base_url(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(base) = &state.config.api.public_base_url {
        return Some(base.clone());
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .filter(|h| {
            h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })?;
    let local =
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    let proto = match header("x-forwarded-proto") {
        Some(p) if p == "http" || p == "https" => p,
        _ if local => "http",
        _ => "https",
    };
    Some(format!("{proto}://{host}"))
}

/// Where providers post their callbacks (a Cloud API device's webhook URL, a WhatsApp Web
/// session's): each webhook function's own URL when the template gives it one (a Lambda
/// function URL has no per-request charge), else the API's [`public_base_url`]. The API's
/// routes stay, for devices configured before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackBases {
    pub cloud_api: String,
    pub gateway: String,
}

pub fn callback_bases(state: &AppState, headers: &HeaderMap) -> CallbackBases {
    let api = public_base_url(state, headers).unwrap_or_default();
    let own = |url: &Option<String>| url.clone().unwrap_or_else(|| api.clone());
    CallbackBases {
        cloud_api: own(&state.config.api.cloud_api_webhook_base_url),
        gateway: own(&state.config.api.gateway_webhook_base_url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_error_names_its_parameter() {
        assert_eq!(
            query_error("Failed to deserialize query string: limit: invalid digit found in string"),
            "Invalid \"limit\": invalid digit found in string"
        );
        assert_eq!(
            query_error("Failed to deserialize query string: expected `,` or `}`"),
            "Invalid query string: expected `,` or `}`"
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        plan: crate::domain::plans::Plan,
    }

    fn err(body: &str) -> String {
        parse_json::<Body>(body.as_bytes())
            .map(|_| String::new())
            .unwrap_or_else(|e| e.message)
    }

    #[test]
    fn json_errors_name_the_field() {
        assert!(err(r#"{"name":"a","plan":"pro"}"#).is_empty());
        assert_eq!(err(""), "Request body must be a JSON object");
        assert!(
            err("{").starts_with("Request body is not valid JSON"),
            "{}",
            err("{")
        );
        assert!(err(r#"{"name":"a","plan":"gold"}"#)
            .starts_with("Invalid \"plan\": unknown variant `gold`"));
        assert!(err(r#"{"name":5,"plan":"pro"}"#).starts_with("Invalid \"name\""));
        assert!(err(r#"{"plan":"pro"}"#).contains("missing field `name`"));
        assert!(err("{\"name\":\"a\",\"plan\":\"pro\"} \n").is_empty());
        assert!(err(r#"{"name":"a","plan":"pro"}{"name":"b""#)
            .starts_with("Request body is not valid JSON: trailing characters"));
    }

    #[test]
    fn page_limits() {
        let p = |limit| {
            PageParams {
                limit,
                cursor: None,
            }
            .limit()
        };
        assert_eq!(p(None), Ok(50));
        assert_eq!(p(Some(100)), Ok(100));
        assert!(p(Some(0)).is_err());
        assert!(p(Some(101)).is_err());
    }
}
