//! The media bucket: an inbound file streamed from its provider into S3 (one part in memory
//! at a time), whether a file is kept already, and short-lived presigned links to it.

use crate::adapters::s3::{ObjectHeaders, S3Error, S3};
use crate::domain::media_links::sha256_matches;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a media download may take in all (a 100 MB document), within the inbound
/// worker's 60 s: a stalled download fails its job's try instead of the Lambda timing out.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(45);

/// A multipart upload's part (S3's minimum is 5 MiB for every part but the last): at most
/// this much of a file is in memory.
const PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MediaStoreError {
    #[error("the file is over WhatsApp's limit of {max} bytes")]
    TooLarge { max: u64 },
    #[error("the file's SHA-256 is not the one WhatsApp gave")]
    Checksum,
    #[error("downloading the file failed: {0}")]
    Download(String),
    #[error("S3 {op} failed: {detail}")]
    S3 { op: &'static str, detail: String },
}

impl From<S3Error> for MediaStoreError {
    fn from(e: S3Error) -> Self {
        MediaStoreError::S3 {
            op: e.op,
            detail: e.detail,
        }
    }
}

/// Where a file goes and how it is served.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub content_disposition: &'a str,
}

impl Target<'_> {
    fn headers(&self) -> ObjectHeaders<'_> {
        ObjectHeaders {
            content_type: self.content_type,
            content_disposition: self.content_disposition,
        }
    }
}

/// A file kept: its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub size: u64,
}

/// Whether the object exists (a finished earlier download).
pub async fn exists(client: &S3, bucket: &str, key: &str) -> Result<bool, MediaStoreError> {
    Ok(client.head(bucket, key).await?)
}

/// Streams `response`'s body into the object: refused past `max` bytes, and (when Meta gave
/// one) unless its SHA-256 is `sha256`. A refused or failed upload leaves no object.
pub async fn upload(
    client: &S3,
    target: &Target<'_>,
    mut response: reqwest::Response,
    max: u64,
    sha256: Option<&str>,
) -> Result<Kept, MediaStoreError> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(MediaStoreError::TooLarge { max });
    }
    let mut upload = Multipart::default();
    let result = async {
        let mut digest = Sha256::new();
        let mut size: u64 = 0;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| MediaStoreError::Download(e.to_string()))?
        {
            size += chunk.len() as u64;
            if size > max {
                return Err(MediaStoreError::TooLarge { max });
            }
            digest.update(&chunk);
            buf.extend_from_slice(&chunk);
            if buf.len() >= PART_BYTES {
                upload
                    .part(client, target, std::mem::take(&mut buf))
                    .await?;
            }
        }
        let digest = digest.finalize();
        if sha256.is_some_and(|expected| !sha256_matches(expected, &digest)) {
            return Err(MediaStoreError::Checksum);
        }
        if upload.id.is_none() {
            // Small enough for one request.
            client
                .put(target.bucket, target.key, target.headers(), buf)
                .await?;
        } else {
            if !buf.is_empty() {
                upload.part(client, target, buf).await?;
            }
            upload.complete(client, target).await?;
        }
        Ok(Kept { size })
    }
    .await;
    if result.is_err() {
        upload.abort(client, target).await;
    }
    result
}

/// A multipart upload under way.
#[derive(Default)]
struct Multipart {
    id: Option<String>,
    /// (part number, ETag) of the parts uploaded.
    parts: Vec<(u32, String)>,
    completed: bool,
}

impl Multipart {
    async fn part(
        &mut self,
        client: &S3,
        t: &Target<'_>,
        bytes: Vec<u8>,
    ) -> Result<(), MediaStoreError> {
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let id = client
                    .create_multipart_upload(t.bucket, t.key, t.headers())
                    .await?;
                self.id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as u32 + 1;
        let etag = client
            .upload_part(t.bucket, t.key, &id, number, bytes)
            .await?;
        self.parts.push((number, etag));
        Ok(())
    }

    async fn complete(&mut self, client: &S3, t: &Target<'_>) -> Result<(), MediaStoreError> {
        let id = self.id.as_deref().unwrap_or_default();
        client
            .complete_multipart_upload(t.bucket, t.key, id, &self.parts)
            .await?;
        self.completed = true;
        Ok(())
    }

    /// Drops the parts of an upload that did not finish (logged if that fails too; the
    /// bucket's lifecycle rule aborts it after a day anyway).
    async fn abort(&self, client: &S3, t: &Target<'_>) {
        let (Some(id), false) = (&self.id, self.completed) else {
            return;
        };
        if let Err(e) = client.abort_multipart_upload(t.bucket, t.key, id).await {
            tracing::warn!(error = %e, "aborting a media upload failed");
        }
    }
}

/// A link that downloads the object for `ttl` (signed here, no AWS call).
pub async fn presigned_get(
    client: &S3,
    bucket: &str,
    key: &str,
    ttl: Duration,
) -> Result<String, MediaStoreError> {
    Ok(client.presigned_get(bucket, key, ttl).await?)
}
