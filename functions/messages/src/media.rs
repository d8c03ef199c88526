//! `GET /api/public/v1/media/{messageId}`: a message's kept media (`docs/media.md`). With a
//! tenant credential, the tenant's own messages; with a signed link's `tenant`, `expires`
//! and `signature` (the `mediaUrl` of a message and of `message.received`), no credential.
//! Either way a 302 to a presigned S3 URL valid 5 minutes.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower::ServiceExt;
use utoipa::IntoParams;
use wati_shared::domain::media_links::MEDIA_PATH;
use wati_shared::http::auth::Authed;
use wati_shared::http::error::{ApiResult, ErrorBody};
use wati_shared::http::{ApiPath, ApiQuery};
use wati_shared::services::media::{self, SignedLink};
use wati_shared::AppState;

/// A signed link's parts (all three, or none with a credential).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediaLinkParams {
    /// The tenant the link was signed for.
    pub tenant: Option<String>,
    /// Unix seconds after which the link no longer opens.
    pub expires: Option<String>,
    /// Hex HMAC-SHA256 of the tenant, the message and `expires`.
    pub signature: Option<String>,
}

fn redirect(url: String) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
    )
        .into_response()
}

/// Open an inbound message's media: 302 to a presigned URL valid 5 minutes.
///
/// With `Authorization: Bearer …` any of the tenant's messages; with `tenant`, `expires` and
/// `signature` (a signed `mediaUrl`, valid 7 days by default) no credential is needed. A
/// tampered or expired link is 403; another tenant's message, or one without kept media, 404.
#[utoipa::path(get, path = "/api/public/v1/media/{messageId}", tag = "messages",
    params(("messageId" = String, Path, description = "Our message id (the `id` of a message lookup)"), MediaLinkParams),
    responses(
        (status = 302, description = "Redirect to the file (a presigned S3 URL valid 5 minutes)",
            headers(("Location" = String, description = "The file's URL"))),
        (status = 400, description = "A malformed query string", body = ErrorBody),
        (status = 404, description = "No such message of this tenant, or no media kept for it", body = ErrorBody)))]
pub(crate) async fn get_media(
    Authed { state, caller }: Authed,
    ApiPath(message_id): ApiPath<String>,
) -> ApiResult<Response> {
    let url = media::open_for(&state, &caller.tenant_id, message_id.trim()).await?;
    Ok(redirect(url))
}

/// The same route reached through a signed link, without a credential.
/// The message id comes from the URI itself: the request already went through the keyed
/// router's route, whose path parameters it still carries.
async fn get_signed_media(
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<MediaLinkParams>,
) -> ApiResult<Response> {
    let message_id = uri.path().strip_prefix(MEDIA_PATH).unwrap_or_default();
    let link = SignedLink {
        message_id: message_id.trim(),
        tenant: q.tenant.as_deref().unwrap_or_default(),
        expires: q.expires.as_deref().unwrap_or_default(),
        signature: q.signature.as_deref().unwrap_or_default(),
    };
    Ok(redirect(media::open_signed(&state, link).await?))
}

/// A request for the media route carrying a signature: it needs no credential.
fn is_signed(req: &Request) -> bool {
    req.uri().path().starts_with(MEDIA_PATH)
        && req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("signature=")))
}

/// `keyed` (the function's routes behind their credential) with signed media links
/// answered before the credential is asked for.
pub fn with_signed_links(keyed: Router, state: AppState) -> Router {
    let signed = wati_shared::http::finish(
        Router::new()
            .route(&format!("{MEDIA_PATH}{{messageId}}"), get(get_signed_media))
            .with_state(state.clone()),
        state,
    );
    keyed.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let signed = signed.clone();
            async move {
                if is_signed(&req) {
                    match signed.oneshot(req).await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    }
                } else {
                    next.run(req).await
                }
            }
        },
    ))
}
