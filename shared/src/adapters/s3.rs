//! S3 over plain HTTPS: requests signed with SigV4 (`aws-sigv4`, the SDK's own signer) and sent
//! with reqwest. The few operations the platform needs (head, put, multipart upload, presigned
//! GET, and bucket creation for the local stack) are small; the S3 SDK linked its checksum
//! tables and endpoint rules (≈1 MB) into every function that stores a file.
//!
//! Addressing: a custom endpoint (`AWS_ENDPOINT_URL_S3`, moto) is addressed by path
//! (`{endpoint}/{bucket}/{key}`); AWS by virtual host (`{bucket}.s3.{region}.amazonaws.com`),
//! which AWS recommends and serves in every region, falling back to the path for a bucket
//! name with a dot (a virtual host with a dot fails the TLS certificate's wildcard).

use crate::runtime::metrics;
use crate::runtime::retry::{retry, Backoff, Retry};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningInstructions, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// One request's limit: an 8 MiB part over a slow link, well within the workers' timeouts.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts for a request that failed in transit or with a 5xx / throttling answer (what
/// the SDK's standard retry mode does).
const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(50);
/// How much of an error answer is read (S3's error documents are a few hundred bytes).
const MAX_ERROR_BODY: usize = 16 * 1024;
/// Credentials that expire sooner than this are fetched again.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
#[error("S3 {op} failed: {detail}")]
pub struct S3Error {
    pub op: &'static str,
    /// The HTTP status, when S3 answered.
    pub status: Option<u16>,
    /// S3's error code (`NoSuchKey`, `BucketAlreadyOwnedByYou`…), when it gave one.
    pub code: Option<String>,
    pub detail: String,
}

impl S3Error {
    fn local(op: &'static str, detail: impl Into<String>) -> Self {
        S3Error {
            op,
            status: None,
            code: None,
            detail: detail.into(),
        }
    }
}

/// How a stored object is served.
#[derive(Debug, Clone, Copy)]
pub struct ObjectHeaders<'a> {
    pub content_type: &'a str,
    pub content_disposition: &'a str,
}

impl ObjectHeaders<'_> {
    fn pairs(&self) -> [(&str, &str); 2] {
        [
            ("content-type", self.content_type),
            ("content-disposition", self.content_disposition),
        ]
    }
}

/// The S3 client: credentials from the SDK configuration's provider, requests on the reqwest
/// client (HTTP/1.1, rustls) the SDK's clients use too.
pub struct S3 {
    credentials: Option<SharedCredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
    region: String,
    /// A custom endpoint (the local stack), addressed by path.
    endpoint: Option<String>,
    http: crate::runtime::aws_http::AwsHttp,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

enum Body {
    Empty,
    Bytes(bytes::Bytes),
}

impl S3 {
    pub fn new(
        http: crate::runtime::aws_http::AwsHttp,
        credentials: Option<SharedCredentialsProvider>,
        region: String,
        endpoint: Option<String>,
    ) -> Self {
        S3 {
            credentials,
            cached: Mutex::new(None),
            region,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
            http,
        }
    }

    /// Whether the object exists.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<bool, S3Error> {
        let url = self.url(bucket, key, &[]);
        match self
            .send("HeadObject", reqwest::Method::HEAD, &url, &[], Body::Empty)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores `body` as the object in one request.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders<'_>,
        body: impl Into<bytes::Bytes>,
    ) -> Result<(), S3Error> {
        let url = self.url(bucket, key, &[]);
        self.send(
            "PutObject",
            reqwest::Method::PUT,
            &url,
            &headers.pairs(),
            Body::Bytes(body.into()),
        )
        .await?;
        Ok(())
    }

    /// Starts a multipart upload: its id.
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders<'_>,
    ) -> Result<String, S3Error> {
        const OP: &str = "CreateMultipartUpload";
        let url = self.url(bucket, key, &[("uploads", "")]);
        let response = self
            .send(
                OP,
                reqwest::Method::POST,
                &url,
                &headers.pairs(),
                Body::Empty,
            )
            .await?;
        let body = read_text(OP, response).await?;
        xml_text(&body, "UploadId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| S3Error::local(OP, "the answer has no UploadId"))
    }

    /// Uploads part `number` (from 1): its ETag, for [`S3::complete_multipart_upload`].
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        body: impl Into<bytes::Bytes>,
    ) -> Result<String, S3Error> {
        const OP: &str = "UploadPart";
        let number = number.to_string();
        let url = self.url(
            bucket,
            key,
            &[("partNumber", &number), ("uploadId", upload_id)],
        );
        let response = self
            .send(
                OP,
                reqwest::Method::PUT,
                &url,
                &[],
                Body::Bytes(body.into()),
            )
            .await?;
        response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| S3Error::local(OP, "the answer has no ETag"))
    }

    /// Joins the parts (`(number, ETag)`, in order) into the object.
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), S3Error> {
        const OP: &str = "CompleteMultipartUpload";
        let url = self.url(bucket, key, &[("uploadId", upload_id)]);
        let body = complete_multipart_body(parts);
        let response = self
            .send(
                OP,
                reqwest::Method::POST,
                &url,
                &[],
                Body::Bytes(body.into()),
            )
            .await?;
        // S3 may answer 200 and report the failure in the body.
        let text = read_text(OP, response).await?;
        match s3_error(&text) {
            Some((code, message)) => Err(S3Error {
                op: OP,
                status: Some(200),
                code: Some(code),
                detail: message,
            }),
            None => Ok(()),
        }
    }

    /// Drops an unfinished upload's parts.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), S3Error> {
        let url = self.url(bucket, key, &[("uploadId", upload_id)]);
        self.send(
            "AbortMultipartUpload",
            reqwest::Method::DELETE,
            &url,
            &[],
            Body::Empty,
        )
        .await?;
        Ok(())
    }

    /// Creates a bucket (the local stack's bootstrap); one this account has already is fine.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        let url = self.bucket_url(bucket);
        let body = if self.region == "us-east-1" {
            Body::Empty
        } else {
            Body::Bytes(
                format!(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                     <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                    xml_escape(&self.region)
                )
                .into(),
            )
        };
        match self
            .send("CreateBucket", reqwest::Method::PUT, &url, &[], body)
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// A link that downloads the object for `ttl` (signed here, no AWS call).
    pub async fn presigned_get(
        &self,
        bucket: &str,
        key: &str,
        ttl: Duration,
    ) -> Result<String, S3Error> {
        const OP: &str = "presigning";
        let credentials = self.credentials(OP).await?;
        presign_get(
            &credentials,
            &self.region,
            &self.url(bucket, key, &[]),
            ttl,
            SystemTime::now(),
        )
        .map_err(|e| S3Error::local(OP, e))
    }

    /// The credentials, fetched again when they are about to expire.
    async fn credentials(&self, op: &'static str) -> Result<Credentials, S3Error> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN)
        };
        if let Some(c) = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|c| fresh(c))
        {
            return Ok(c.clone());
        }
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| S3Error::local(op, "no AWS credentials are configured"))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| S3Error::local(op, format!("loading AWS credentials failed: {e}")))?;
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(credentials.clone());
        Ok(credentials)
    }

    fn path_style(&self, bucket: &str) -> bool {
        self.endpoint.is_some() || bucket.contains('.')
    }

    fn bucket_url(&self, bucket: &str) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}", encode(bucket, false)),
            None if self.path_style(bucket) => format!(
                "https://s3.{}.amazonaws.com/{}",
                self.region,
                encode(bucket, false)
            ),
            None => format!("https://{bucket}.s3.{}.amazonaws.com", self.region),
        }
    }

    /// The object's URL with `query` (names and values encoded here).
    fn url(&self, bucket: &str, key: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}/{}", self.bucket_url(bucket), encode(key, true));
        for (i, (name, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&encode(name, false));
            if !value.is_empty() {
                url.push('=');
                url.push_str(&encode(value, false));
            }
        }
        url
    }

    /// Signs and sends one request, retrying failures in transit, 5xx and throttling; an
    /// answer other than 2xx is an error with S3's code.
    async fn send(
        &self,
        op: &'static str,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<reqwest::Response, S3Error> {
        let attempt = |_| async {
            let credentials = self.credentials(op).await?;
            let payload = match &body {
                Body::Empty => &[][..],
                Body::Bytes(b) => &b[..],
            };
            let signed = sign_headers(
                &credentials,
                &self.region,
                method.as_str(),
                url,
                headers,
                payload,
                SystemTime::now(),
            )
            .map_err(|e| S3Error::local(op, e))?;
            let http = self.http.as_ref().map_err(|e| S3Error::local(op, e))?;
            let mut request = http.request(method.clone(), url).timeout(REQUEST_TIMEOUT);
            let signed = signed.iter().map(|(n, v)| (*n, v.as_str()));
            for (name, value) in headers.iter().copied().chain(signed) {
                request = request.header(name, value);
            }
            if let Body::Bytes(b) = &body {
                request = request.body(b.clone());
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let e = error_answer(op, response).await;
                    Err(if status >= 500 || status == 429 {
                        Retry::Again(e)
                    } else {
                        Retry::Stop(e)
                    })
                }
                Err(e) if e.is_builder() => Err(Retry::Stop(S3Error::local(op, e.to_string()))),
                Err(e) => Err(Retry::Again(S3Error::local(op, e.to_string()))),
            }
        };
        metrics::account(
            "S3",
            op,
            retry(Backoff::new(ATTEMPTS).base(BACKOFF), attempt),
        )
        .await
    }
}

/// S3's answer other than 2xx as an error: its status, and its code and message when the
/// body is S3's error document (a HEAD answer has no body).
async fn error_answer(op: &'static str, response: reqwest::Response) -> S3Error {
    let status = response.status().as_u16();
    let body = crate::adapters::providers::read_limited(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let (code, message) = match s3_error(&text) {
        Some((code, message)) => (Some(code), message),
        None => (None, String::new()),
    };
    S3Error {
        op,
        status: Some(status),
        detail: format!(
            "HTTP {status}{}{}{}",
            code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
            if message.is_empty() { "" } else { ": " },
            message
        ),
        code,
    }
}

async fn read_text(op: &'static str, response: reqwest::Response) -> Result<String, S3Error> {
    response
        .text()
        .await
        .map_err(|e| S3Error::local(op, format!("reading the answer failed: {e}")))
}

/// S3's settings for SigV4: the path signed as sent (keys are encoded once, never
/// normalised) and, for header signing, the payload's SHA-256 in `x-amz-content-sha256`.
fn settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
    let mut s = SigningSettings::default();
    s.percent_encoding_mode = PercentEncodingMode::Single;
    s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.signature_location = location;
    s.expires_in = expires_in;
    s.payload_checksum_kind = match location {
        SignatureLocation::Headers => PayloadChecksumKind::XAmzSha256,
        _ => PayloadChecksumKind::NoHeader,
    };
    s
}

/// SigV4 for S3 of `request` at `time`, with the signature in `location`.
fn sign_for_s3(
    credentials: &Credentials,
    region: &str,
    request: SignableRequest<'_>,
    location: SignatureLocation,
    expires_in: Option<Duration>,
    time: SystemTime,
) -> Result<SigningInstructions, String> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings(location, expires_in))
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions)
}

/// The headers that sign a request (`authorization`, `x-amz-date`, `x-amz-content-sha256`,
/// `x-amz-security-token`).
fn sign_headers(
    credentials: &Credentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, String> {
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(payload),
    )
    .map_err(|e| e.to_string())?;
    let instructions = sign_for_s3(
        credentials,
        region,
        request,
        SignatureLocation::Headers,
        None,
        time,
    )?;
    let (headers, _) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect())
}

/// A presigned GET of `url` valid `ttl` from `time` (SigV4 query signing, unsigned payload).
pub fn presign_get(
    credentials: &Credentials,
    region: &str,
    url: &str,
    ttl: Duration,
    time: SystemTime,
) -> Result<String, String> {
    let request = SignableRequest::new(
        "GET",
        url,
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|e| e.to_string())?;
    let instructions = sign_for_s3(
        credentials,
        region,
        request,
        SignatureLocation::QueryParams,
        Some(ttl),
        time,
    )?;
    let mut out = url.to_string();
    let mut first = !url.contains('?');
    for (name, value) in instructions.params() {
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(name);
        out.push('=');
        out.push_str(&encode(value, false));
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/` in a key's
/// path), as SigV4's canonical form does.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// CompleteMultipartUpload's body.
fn complete_multipart_body(parts: &[(u32, String)]) -> String {
    let mut xml =
        String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (number, etag) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            xml_escape(etag)
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

/// The code and message of S3's error document (`<Error><Code>…</Code><Message>…`).
fn s3_error(xml: &str) -> Option<(String, String)> {
    let error = xml_element(xml, "Error")?;
    let code = xml_text(error, "Code")?;
    Some((code, xml_text(error, "Message").unwrap_or_default()))
}

/// The raw content of the first `<tag>` element (with or without attributes).
fn xml_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(at) = xml[from..].find(&open) {
        let start = from + at + open.len();
        let rest = &xml[start..];
        // `<Tag>` or `<Tag attr=…>`, not `<TagOther>`.
        match rest.chars().next() {
            Some('>') | Some(' ') | Some('\t') | Some('\r') | Some('\n') => {
                let content_start = start + rest.find('>')? + 1;
                let close = format!("</{tag}>");
                let end = content_start + xml[content_start..].find(&close)?;
                return Some(&xml[content_start..end]);
            }
            Some('/') => return Some(""),
            _ => from = start,
        }
    }
    None
}

/// The text of the first `<tag>` element, entities decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_element(xml, tag).map(xml_unescape)
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes the predefined entities and character references; anything else is kept as is.
fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::aws_http::{reqwest_client, DEFAULT_CONNECT_TIMEOUT};

    fn example_credentials() -> Credentials {
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        )
    }

    /// AWS's example of a presigned GET ("Authenticating Requests: Using Query Parameters
    /// (AWS Signature Version 4)", Amazon S3 API Reference).
    #[test]
    fn presigned_get_matches_the_s3_documentation_example() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        let url = presign_get(
            &example_credentials(),
            "us-east-1",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            Duration::from_secs(86_400),
            time,
        )
        .unwrap();
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt\
             ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    /// AWS's example of a signed GET with a header ("Authenticating Requests: Using the
    /// Authorization Header", example "GET Object"): the payload hash and header signing.
    #[test]
    fn header_signing_matches_the_s3_documentation_example() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let signed = sign_headers(
            &example_credentials(),
            "us-east-1",
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[("range", "bytes=0-9")],
            b"",
            time,
        )
        .unwrap();
        let get = |name: &str| {
            signed
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get("x-amz-content-sha256"),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(get("x-amz-date"), Some("20130524T000000Z"));
        assert_eq!(
            get("authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
                 Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            )
        );
    }

    #[test]
    fn urls_are_path_style_on_a_custom_endpoint_and_virtual_hosted_on_aws() {
        let local = S3::new(
            reqwest_client(DEFAULT_CONNECT_TIMEOUT),
            None,
            "us-east-1".into(),
            Some("http://127.0.0.1:5000/".into()),
        );
        assert_eq!(
            local.url(
                "media",
                "a b/ü+1.csv",
                &[("partNumber", "2"), ("uploadId", "x+y/=")]
            ),
            "http://127.0.0.1:5000/media/a%20b/%C3%BC%2B1.csv?partNumber=2&uploadId=x%2By%2F%3D"
        );
        assert_eq!(
            local.url("media", "k", &[("uploads", "")]),
            "http://127.0.0.1:5000/media/k?uploads"
        );
        let aws = S3::new(
            reqwest_client(DEFAULT_CONNECT_TIMEOUT),
            None,
            "eu-west-1".into(),
            None,
        );
        assert_eq!(
            aws.url("media", "k/1", &[]),
            "https://media.s3.eu-west-1.amazonaws.com/k/1"
        );
        assert_eq!(
            aws.url("my.media", "k", &[]),
            "https://s3.eu-west-1.amazonaws.com/my.media/k"
        );
    }

    #[test]
    fn the_upload_id_and_errors_are_read_from_s3s_answers() {
        let created = r#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>media</Bucket><Key>a&amp;b</Key>
  <UploadId>VXBsb2FkIElE&#x2B;&#43;&lt;1&gt;</UploadId>
</InitiateMultipartUploadResult>"#;
        assert_eq!(
            xml_text(created, "UploadId").as_deref(),
            Some("VXBsb2FkIElE++<1>")
        );
        assert_eq!(xml_text(created, "Key").as_deref(), Some("a&b"));
        assert_eq!(xml_text(created, "Missing"), None);
        // `<Uploads>` is not `<Upload…>`'s prefix match, and an unknown entity is kept.
        assert_eq!(
            xml_text(
                "<UploadIds>x</UploadIds><UploadId>a&nbsp;b &</UploadId>",
                "UploadId"
            )
            .as_deref(),
            Some("a&nbsp;b &")
        );
        let error = "<?xml version=\"1.0\"?>\n<Error><Code>NoSuchUpload</Code>\
                     <Message>The upload &quot;x&quot; does not exist</Message></Error>";
        assert_eq!(
            s3_error(error),
            Some((
                "NoSuchUpload".into(),
                "The upload \"x\" does not exist".into()
            ))
        );
        assert_eq!(s3_error(created), None);
        assert_eq!(s3_error("<Error><Message>no code</Message></Error>"), None);
        assert_eq!(s3_error("<Error><Code>Unclosed"), None);
    }

    #[test]
    fn the_completion_lists_every_part_with_its_etag_escaped() {
        assert_eq!(
            complete_multipart_body(&[(1, "\"a1\"".into()), (2, "<b&>".into())]),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>&lt;b&amp;&gt;</ETag></Part>\
             </CompleteMultipartUpload>"
        );
    }
}
