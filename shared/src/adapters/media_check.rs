//! Checks a media URL before it is sent: `https`, resolving only to public addresses
//! (`ALLOW_LOOPBACK_TARGETS` aside), reachable, within WhatsApp's size limit for its kind and
//! of a type WhatsApp accepts. The file itself is never downloaded: a `HEAD` (or, when a
//! server does not answer `HEAD` usefully, a `GET` for one byte whose body is dropped)
//! gives its size and type. Redirects are followed by hand, each hop checked again, and the
//! HTTP client's own resolver refuses internal addresses too, so a DNS answer that changes
//! between the check and the request cannot reach inside.

use crate::domain::media::{
    human_size, is_generic_mimetype, mimetype_from_path, normalize_mimetype, MediaKind,
};
use crate::domain::net::{classify, AddressClass, TargetPolicy};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, StatusCode, Url};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const MAX_REDIRECTS: usize = 5;

/// What the check learnt about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMedia {
    /// The MIME type the message is recorded with (declared, served, or from the extension).
    pub mimetype: String,
    pub size: u64,
}

/// Size and type as the server reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Normalised; `None` when absent or generic (`application/octet-stream`).
    pub content_type: Option<String>,
    pub size: Option<u64>,
    /// The URL after redirects.
    pub final_url: Url,
}

pub struct MediaInspector {
    policy: TargetPolicy,
    timeout: Duration,
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for MediaInspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaInspector")
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Resolves names for the media client, refusing any name with an address the policy does
/// not permit.
struct GuardedResolver {
    policy: TargetPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() || addrs.iter().any(|a| !policy.permits(classify(a.ip()))) {
                return Err(format!(
                    "{host} resolves to an address outbound requests may not reach"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl MediaInspector {
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Self {
        MediaInspector {
            policy,
            timeout,
            http: OnceLock::new(),
        }
    }

    pub fn policy(&self) -> TargetPolicy {
        self.policy
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        let (policy, timeout) = (self.policy, self.timeout);
        self.http
            .get_or_init(|| {
                crate::runtime::tls::client_builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .dns_resolver(Arc::new(GuardedResolver { policy }))
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .user_agent(concat!("wati-pro-media-check/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                tracing::error!(error = %e, "building the media check HTTP client failed");
                "the media URL could not be checked; try again".to_string()
            })
    }

    /// The whole check for a media message. `Err` is the 400 message.
    pub async fn check(
        &self,
        kind: MediaKind,
        url: &Url,
        declared_mimetype: Option<&str>,
    ) -> Result<CheckedMedia, String> {
        // Redirects and the ranged fallback are several requests: bound them all together,
        // so a slow host cannot use up the function's time.
        let budget = self.timeout * 2;
        let probe = tokio::time::timeout(budget, self.probe(url))
            .await
            .map_err(|_| {
                format!(
                    "\"url\" is not reachable: no complete answer within {} s",
                    budget.as_secs()
                )
            })??;
        let Some(size) = probe.size else {
            return Err(format!(
                "\"url\" did not say how large the file is (no Content-Length): WhatsApp takes {kind} files up to {}",
                human_size(kind.max_bytes())
            ));
        };
        if size > kind.max_bytes() {
            return Err(format!(
                "\"url\" points to a {} file: WhatsApp takes {kind} files up to {}",
                human_size(size),
                human_size(kind.max_bytes())
            ));
        }
        if size == 0 {
            return Err("\"url\" points to an empty file".into());
        }
        let accepted = || kind.accepted_mimetypes().join(", ");
        if let Some(served) = &probe.content_type {
            if !kind.accepts(served) {
                return Err(format!(
                    "\"url\" serves {served}, which WhatsApp does not accept for {kind} messages (accepted: {})",
                    accepted()
                ));
            }
        }
        let mimetype = declared_mimetype
            .map(str::to_string)
            .or_else(|| probe.content_type.clone())
            .or_else(|| mimetype_from_path(kind, probe.final_url.path()).map(String::from))
            .or_else(|| mimetype_from_path(kind, url.path()).map(String::from))
            .ok_or_else(|| {
                format!(
                    "the type of the file at \"url\" could not be told (no Content-Type, no known extension): pass \"mimetype\" (accepted for {kind}: {})",
                    accepted()
                )
            })?;
        if !kind.accepts(&mimetype) {
            return Err(format!(
                "\"url\" points to {mimetype}, which WhatsApp does not accept for {kind} messages (accepted: {})",
                accepted()
            ));
        }
        Ok(CheckedMedia { mimetype, size })
    }

    /// Size and type of the file at `url`, without downloading it.
    pub async fn probe(&self, url: &Url) -> Result<Probe, String> {
        let (final_url, head) = self.fetch(Method::HEAD, url).await?;
        let head_ok = head.status().is_success();
        let mut content_type = content_type(&head);
        let mut size = head_ok.then(|| header_u64(&head, CONTENT_LENGTH)).flatten();
        if size.is_none() {
            // Some servers refuse HEAD or leave out the length: ask for the first byte.
            let (_, get) = self.fetch(Method::GET, &final_url).await?;
            let status = get.status();
            if status == StatusCode::PARTIAL_CONTENT {
                size = get
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit_once('/'))
                    .and_then(|(_, total)| total.trim().parse().ok());
            } else if status.is_success() {
                size = header_u64(&get, CONTENT_LENGTH);
            } else {
                return Err(format!(
                    "\"url\" is not reachable: it answered HTTP {}",
                    status.as_u16()
                ));
            }
            content_type = content_type.or_else(|| self::content_type(&get));
            // `get` is dropped here, unread: at most what arrived with the headers is held.
        }
        Ok(Probe {
            content_type,
            size,
            final_url,
        })
    }

    /// One request, following redirects by hand with every hop checked.
    async fn fetch(&self, method: Method, url: &Url) -> Result<(Url, reqwest::Response), String> {
        let client = self.client()?;
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            check_target(&current, self.policy).await?;
            let mut req = client.request(method.clone(), current.clone());
            if method == Method::GET {
                req = req.header(RANGE, "bytes=0-0");
            }
            let res = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    format!(
                        "\"url\" is not reachable: no answer within {} s",
                        self.timeout.as_secs()
                    )
                } else {
                    "\"url\" is not reachable: the connection failed".to_string()
                }
            })?;
            if res.status().is_redirection() {
                let next = res
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| current.join(loc).ok())
                    .ok_or_else(|| "\"url\" redirects without a valid Location".to_string())?;
                current = next;
                continue;
            }
            if method == Method::HEAD
                || res.status().is_success()
                || res.status() == StatusCode::PARTIAL_CONTENT
            {
                return Ok((current, res));
            }
            return Err(format!(
                "\"url\" is not reachable: it answered HTTP {}",
                res.status().as_u16()
            ));
        }
        Err(format!("\"url\" redirects more than {MAX_REDIRECTS} times"))
    }
}

fn header_u64(res: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<u64> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn content_type(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(normalize_mimetype)
        .filter(|m| !is_generic_mimetype(m))
}

/// Scheme, credentials and where the host resolves: the checks before any connection.
pub async fn check_target(url: &Url, policy: TargetPolicy) -> Result<Vec<SocketAddr>, String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("\"url\" must not contain a user name or password".into());
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err("\"url\" must be an https:// URL".into());
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "\"url\" must be an https:// URL".to_string())?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| "\"url\" must have a host".to_string())?;
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let (shown, addrs): (String, Vec<SocketAddr>) = match literal {
        Some(ip) => (ip.to_string(), vec![SocketAddr::new(ip, port)]),
        None => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| format!("\"url\" host {host} could not be resolved"))?
                .collect();
            if addrs.is_empty() {
                return Err(format!("\"url\" host {host} could not be resolved"));
            }
            (host.to_string(), addrs)
        }
    };
    let classes: Vec<AddressClass> = addrs.iter().map(|a| classify(a.ip())).collect();
    if let Some((addr, class)) = addrs
        .iter()
        .zip(&classes)
        .find(|(_, c)| !policy.permits(**c))
    {
        let detail = if shown == addr.ip().to_string() {
            String::new()
        } else {
            format!(" ({})", addr.ip())
        };
        return Err(format!(
            "\"url\" must point to a public address: {shown} is {}{detail}",
            class.describe()
        ));
    }
    if !policy.permits_scheme(url.scheme(), &classes) {
        return Err("\"url\" must be an https:// URL".into());
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[tokio::test]
    async fn targets_are_checked_before_connecting() {
        let strict = TargetPolicy::default();
        let local = TargetPolicy {
            allow_loopback: true,
        };
        async fn err(u: &str, p: TargetPolicy) -> String {
            match check_target(&url(u), p).await {
                Err(e) => e,
                Ok(_) => panic!("{u} was let through"),
            }
        }
        let refused = [
            (strict, "http://93.184.215.14/a.jpg", "\"url\" must be an https:// URL"),
            (strict, "ftp://93.184.215.14/a.jpg", "\"url\" must be an https:// URL"),
            (strict, "https://u:p@93.184.215.14/a.jpg", "\"url\" must not contain a user name or password"),
            (strict, "https://127.0.0.1/a.jpg", "\"url\" must point to a public address: 127.0.0.1 is a loopback address"),
            (local, "https://169.254.169.254/latest/meta-data/", "\"url\" must point to a public address: 169.254.169.254 is a link-local (cloud metadata) address"),
            (local, "https://10.0.0.8/a.jpg", "\"url\" must point to a public address: 10.0.0.8 is a private network address"),
            (local, "https://[::ffff:192.168.0.1]/a.jpg", "\"url\" must point to a public address: ::ffff:192.168.0.1 is a private network address"),
            // http only to loopback, even locally.
            (local, "http://93.184.215.14/a.jpg", "\"url\" must be an https:// URL"),
        ];
        for (policy, u, want) in refused {
            assert_eq!(err(u, policy).await, want, "{u}");
        }
        // localhost resolves to ::1 or 127.0.0.1, whichever the resolver gives first.
        let localhost = err("https://localhost/a.jpg", strict).await;
        assert!(
            localhost.starts_with("\"url\" must point to a public address: ")
                && localhost.contains(" is a loopback address"),
            "{localhost}"
        );
        assert!(check_target(&url("http://127.0.0.1:9/a.jpg"), local)
            .await
            .is_ok());
        assert!(check_target(&url("https://93.184.215.14/a.jpg"), strict)
            .await
            .is_ok());
    }
}
