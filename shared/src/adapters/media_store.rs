//! The media bucket: an inbound file streamed from its provider into S3 (one part in memory
//! at a time), whether a file is kept already, and short-lived presigned links to it.

use crate::domain::media_links::sha256_matches;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
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

fn s3<E: std::error::Error + 'static>(op: &'static str, e: E) -> MediaStoreError {
    MediaStoreError::S3 {
        op,
        detail: DisplayErrorContext(&e).to_string(),
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

/// A file kept: its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub size: u64,
}

/// Whether the object exists (a finished earlier download).
pub async fn exists(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<bool, MediaStoreError> {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
        Err(e) => Err(s3("HeadObject", e)),
    }
}

/// Streams `response`'s body into the object: refused past `max` bytes, and (when Meta gave
/// one) unless its SHA-256 is `sha256`. A refused or failed upload leaves no object.
pub async fn upload(
    client: &aws_sdk_s3::Client,
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
                .put_object()
                .bucket(target.bucket)
                .key(target.key)
                .content_type(target.content_type)
                .content_disposition(target.content_disposition)
                .body(ByteStream::from(buf))
                .send()
                .await
                .map_err(|e| s3("PutObject", e))?;
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
    parts: Vec<CompletedPart>,
    completed: bool,
}

impl Multipart {
    async fn part(
        &mut self,
        client: &aws_sdk_s3::Client,
        t: &Target<'_>,
        bytes: Vec<u8>,
    ) -> Result<(), MediaStoreError> {
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let out = client
                    .create_multipart_upload()
                    .bucket(t.bucket)
                    .key(t.key)
                    .content_type(t.content_type)
                    .content_disposition(t.content_disposition)
                    .send()
                    .await
                    .map_err(|e| s3("CreateMultipartUpload", e))?;
                let id = out.upload_id().unwrap_or_default().to_string();
                self.id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let out = client
            .upload_part()
            .bucket(t.bucket)
            .key(t.key)
            .upload_id(id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3("UploadPart", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    async fn complete(
        &mut self,
        client: &aws_sdk_s3::Client,
        t: &Target<'_>,
    ) -> Result<(), MediaStoreError> {
        client
            .complete_multipart_upload()
            .bucket(t.bucket)
            .key(t.key)
            .set_upload_id(self.id.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3("CompleteMultipartUpload", e))?;
        self.completed = true;
        Ok(())
    }

    /// Drops the parts of an upload that did not finish (logged if that fails too; the
    /// bucket's lifecycle rule aborts it after a day anyway).
    async fn abort(&self, client: &aws_sdk_s3::Client, t: &Target<'_>) {
        let (Some(id), false) = (&self.id, self.completed) else {
            return;
        };
        if let Err(e) = client
            .abort_multipart_upload()
            .bucket(t.bucket)
            .key(t.key)
            .upload_id(id)
            .send()
            .await
        {
            tracing::warn!(error = %DisplayErrorContext(&e), "aborting a media upload failed");
        }
    }
}

/// A link that downloads the object for `ttl` (signed here, no AWS call).
pub async fn presigned_get(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    ttl: Duration,
) -> Result<String, MediaStoreError> {
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl)
        .map_err(|e| s3("presigning", e))?;
    client
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(config)
        .await
        .map(|p| p.uri().to_string())
        .map_err(|e| s3("presigning", e))
}
