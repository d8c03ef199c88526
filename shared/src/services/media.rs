//! Inbound media kept in the media bucket, and the links that open them: signed links
//! (no credential; HMAC under a key derived from the sign-in signing key in Secrets
//! Manager) and the tenant's own `GET /api/public/v1/media/{messageId}`. Both answer a
//! presigned S3 URL valid for [`PRESIGNED_TTL`]. See `docs/media.md`.

use crate::adapters::media_store::{self, MediaStoreError, Target};
use crate::adapters::providers::{ProviderError, ProviderErrorKind};
use crate::domain::devices::ProviderKind;
use crate::domain::inbound::MediaRef;
use crate::domain::media_links::{
    check_link, content_disposition, inbound_max_bytes, link_query, object_key, too_large,
    LinkRefusal, MEDIA_PATH,
};
use crate::domain::messages::MessageKind;
use crate::runtime::retry::{retry, Backoff, Retry};
use crate::runtime::state::AppState;
use crate::store::devices::Device;
use crate::store::messages::Message;
use std::time::Duration;

/// How long the presigned S3 URL a media link redirects to stays valid.
pub const PRESIGNED_TTL: Duration = Duration::from_secs(300);

/// Tries at downloading a media (the provider or S3 failing for a moment): about 1 s in all.
const DOWNLOAD: Backoff = Backoff::new(3).base(Duration::from_millis(200));

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("Media not found")]
    NotFound,
    #[error("This media link is not valid: use the mediaUrl exactly as given")]
    LinkInvalid,
    #[error("This media link has expired: look the message up again for a fresh mediaUrl")]
    LinkExpired,
    #[error("MEDIA_BUCKET is not configured")]
    NotConfigured,
    #[error("the media link key could not be read: {0}")]
    Key(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    S3(#[from] MediaStoreError),
}

/// The key media links are signed with.
async fn link_key(state: &AppState) -> Result<Vec<u8>, MediaError> {
    let key = state
        .signing_keys
        .current(&state.aws.secrets)
        .await
        .map_err(|e| MediaError::Key(e.to_string()))?;
    Ok(key.derive("media-links:v1"))
}

/// The link a client is given for a message's media: signed now when the file is kept
/// (`None` otherwise: the message's own URL stands).
pub async fn kept_link(
    state: &AppState,
    message: &Message,
    base: Option<&str>,
) -> Result<Option<String>, MediaError> {
    match message.media_key {
        Some(_) => signed_link(state, &message.tenant_id, &message.id, base)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// A signed link to a kept media, valid for `MEDIA_LINK_TTL_SECONDS`: `base` (the
/// request's, else `PUBLIC_BASE_URL`; a path alone without either) + the media route.
pub async fn signed_link(
    state: &AppState,
    tenant_id: &str,
    message_id: &str,
    base: Option<&str>,
) -> Result<String, MediaError> {
    let key = link_key(state).await?;
    let ttl = i64::try_from(state.config.media.link_ttl.as_secs()).unwrap_or(i64::MAX);
    let expires = state.clock.now().timestamp() + ttl;
    let base = base
        .or(state.config.api.public_base_url.as_deref())
        .unwrap_or_default()
        .trim_end_matches('/');
    let query = link_query(&key, tenant_id, message_id, expires);
    Ok(format!("{base}{MEDIA_PATH}{message_id}?{query}"))
}

/// What a signed link names.
#[derive(Debug, Clone)]
pub struct SignedLink<'a> {
    pub message_id: &'a str,
    pub tenant: &'a str,
    pub expires: &'a str,
    pub signature: &'a str,
}

fn bucket(state: &AppState) -> Result<&str, MediaError> {
    state
        .config
        .media
        .bucket
        .as_deref()
        .ok_or(MediaError::NotConfigured)
}

/// Opens a signed link: a presigned S3 URL, or why not (tampered, expired).
pub async fn open_signed(state: &AppState, link: SignedLink<'_>) -> Result<String, MediaError> {
    let bucket = bucket(state)?;
    if !crate::store::is_id(link.message_id) || !crate::store::is_id(link.tenant) {
        return Err(MediaError::LinkInvalid);
    }
    let key = link_key(state).await?;
    let now = state.clock.now().timestamp();
    check_link(
        &key,
        link.tenant,
        link.message_id,
        link.expires,
        link.signature,
        now,
    )
    .map_err(|r| match r {
        LinkRefusal::Invalid => MediaError::LinkInvalid,
        LinkRefusal::Expired => MediaError::LinkExpired,
    })?;
    let object = object_key(link.tenant, link.message_id);
    Ok(media_store::presigned_get(state.aws.s3(), bucket, &object, PRESIGNED_TTL).await?)
}

/// Opens a message's media for its tenant (a Bearer credential): not found unless the
/// message is the tenant's and its media was kept.
pub async fn open_for(
    state: &AppState,
    tenant_id: &str,
    message_id: &str,
) -> Result<String, MediaError> {
    let bucket = bucket(state)?;
    if !crate::store::is_id(message_id) {
        return Err(MediaError::NotFound);
    }
    let message = state
        .store
        .get_message(tenant_id, message_id)
        .await?
        .ok_or(MediaError::NotFound)?;
    let object = message.media_key.ok_or(MediaError::NotFound)?;
    Ok(media_store::presigned_get(state.aws.s3(), bucket, &object, PRESIGNED_TTL).await?)
}

/// Why one try at keeping a media failed, and whether another try could help.
enum Attempt {
    Final(String),
    Again(String),
}

/// Meta refusing (no such media, a token it does not take) will refuse again.
impl From<ProviderError> for Attempt {
    fn from(e: ProviderError) -> Self {
        match e.kind {
            ProviderErrorKind::Refused | ProviderErrorKind::Credentials => {
                Attempt::Final(e.message)
            }
            _ => Attempt::Again(e.message),
        }
    }
}

impl From<MediaStoreError> for Attempt {
    fn from(e: MediaStoreError) -> Self {
        match e {
            MediaStoreError::TooLarge { .. } | MediaStoreError::Checksum => {
                Attempt::Final(e.to_string())
            }
            _ => Attempt::Again(e.to_string()),
        }
    }
}

/// An inbound message's media to keep.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub tenant_id: &'a str,
    pub message_id: &'a str,
    pub kind: MessageKind,
    pub provider: ProviderKind,
    pub media: &'a MediaRef,
}

/// Downloads an inbound media once and keeps it: `None` when media are not kept here (no
/// bucket, a provider without media), else the object key or why it could not be kept.
/// A file kept by an earlier attempt is not downloaded again.
pub async fn keep(
    state: &AppState,
    device: Option<&Device>,
    m: Inbound<'_>,
) -> Option<Result<String, String>> {
    let bucket = state.config.media.bucket.as_deref()?;
    let max = inbound_max_bytes(m.kind)?;
    if m.provider == ProviderKind::Sandbox {
        return None;
    }
    let key = object_key(m.tenant_id, m.message_id);
    let Some(device) = device else {
        return Some(Err("the device that received the media is gone".into()));
    };
    let outcome = retry(DOWNLOAD, |attempt| {
        let key = key.as_str();
        async move {
            match once(state, bucket, key, device, &m, max).await {
                Ok(()) => Ok(()),
                Err(Attempt::Final(e)) => Err(Retry::Stop(e)),
                Err(Attempt::Again(e)) => {
                    tracing::warn!(error = %e, attempt, "keeping a media failed");
                    Err(Retry::Again(e))
                }
            }
        }
    })
    .await;
    match outcome {
        Ok(()) => Some(Ok(key)),
        Err(e) => {
            tracing::warn!(error = %e, "the media could not be kept");
            Some(Err(format!("The media could not be downloaded: {e}")))
        }
    }
}

async fn once(
    state: &AppState,
    bucket: &str,
    key: &str,
    device: &Device,
    m: &Inbound<'_>,
    max: u64,
) -> Result<(), Attempt> {
    if media_store::exists(state.aws.s3(), bucket, key).await? {
        return Ok(());
    }
    let (response, mime, sha256) = match m.provider {
        ProviderKind::WhatsappWeb => {
            let r = state
                .providers
                .whatsapp_web
                .media_bytes(device, &m.media.id)
                .await?;
            (r, m.media.mime_type.clone(), None)
        }
        _ => {
            let cloud = &state.providers.cloud_api;
            let node = cloud.media_node(device, &m.media.id).await?;
            if let Some(size) = node.file_size.filter(|s| *s > max) {
                return Err(Attempt::Final(too_large(m.kind.as_str(), size, max)));
            }
            let r = cloud.media_bytes(device, &node.url).await?;
            let mime = m.media.mime_type.clone().or(node.mime_type);
            // The webhook's SHA-256 when Meta gave one there, else the node's.
            (r, mime, m.media.sha256.clone().or(node.sha256))
        }
    };
    let content_type = mime.unwrap_or_else(|| "application/octet-stream".into());
    let disposition = content_disposition(m.media.file_name.as_deref());
    let target = Target {
        bucket,
        key,
        content_type: &content_type,
        content_disposition: &disposition,
    };
    let kept =
        media_store::upload(state.aws.s3(), &target, response, max, sha256.as_deref()).await?;
    tracing::info!(size = kept.size, "media kept");
    Ok(())
}
