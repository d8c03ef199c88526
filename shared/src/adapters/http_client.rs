//! Outbound HTTP to URLs a tenant chose, behind the SSRF guard of
//! [`crate::domain::url_guard`]. The guard runs inside the client's DNS resolution, so it
//! judges the addresses the connection will actually use, at every new connection: a name
//! that was public when configured and points inside the network now is refused now.
//! IP-literal hosts never reach the resolver, so [`OutboundHttp::client_for`] checks them.
//! No proxies from the environment, no redirects (a 3xx is an answer, not a hop).

use crate::domain::url_guard::{check_resolved, check_url, Policy, UrlRefusal};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Resolves a name and refuses it unless every address is admitted by the policy.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub policy: Policy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let policy = self.policy;
        Box::pin(async move {
            let addrs = resolve_checked(&host, policy).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Looks a host up (port 0: the client fills in the URL's) and checks every address.
pub async fn resolve_checked(host: &str, policy: Policy) -> Result<Vec<SocketAddr>, UrlRefusal> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|_| UrlRefusal::Unresolvable(host.to_string()))?
        .collect();
    let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    check_resolved(host, &ips, policy)?;
    Ok(addrs)
}

/// Checks a URL completely, resolving its host: what a settings endpoint runs before it
/// accepts a URL. Deliveries check again through [`GuardedResolver`].
pub async fn check_url_resolving(raw: &str, allow_loopback: bool) -> Result<Url, UrlRefusal> {
    let (url, policy) = check_url(raw, allow_loopback)?;
    if let Some(url::Host::Domain(d)) = url.host() {
        resolve_checked(d, policy).await?;
    }
    Ok(url)
}

/// HTTP clients for tenant-chosen URLs, one per policy, built once per instance.
#[derive(Clone, Debug)]
pub struct OutboundHttp {
    allow_loopback: bool,
    public: reqwest::Client,
    public_or_loopback: Option<reqwest::Client>,
    loopback_only: Option<reqwest::Client>,
}

fn client(policy: Policy, user_agent: &str) -> Result<reqwest::Client, reqwest::Error> {
    crate::runtime::tls::client_builder()
        .user_agent(user_agent)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

impl OutboundHttp {
    pub fn new(allow_loopback: bool, user_agent: &str) -> Result<Self, reqwest::Error> {
        Ok(OutboundHttp {
            allow_loopback,
            public: client(Policy::Public, user_agent)?,
            public_or_loopback: allow_loopback
                .then(|| client(Policy::PublicOrLoopback, user_agent))
                .transpose()?,
            loopback_only: allow_loopback
                .then(|| client(Policy::LoopbackOnly, user_agent))
                .transpose()?,
        })
    }

    /// The client that may call `raw`, after the checks that need no DNS.
    pub fn client_for(&self, raw: &str) -> Result<(&reqwest::Client, Url), UrlRefusal> {
        let (url, policy) = check_url(raw, self.allow_loopback)?;
        let client = match policy {
            Policy::Public => Some(&self.public),
            Policy::PublicOrLoopback => self.public_or_loopback.as_ref(),
            Policy::LoopbackOnly => self.loopback_only.as_ref(),
        }
        .ok_or(UrlRefusal::NotHttps)?;
        Ok((client, url))
    }
}

/// The guard's refusal when a request failed because of it, found in the error's sources.
pub fn refusal_of(e: &reqwest::Error) -> Option<UrlRefusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<UrlRefusal>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        // localhost resolves to loopback: refused in production, admitted with the setting.
        assert!(matches!(
            check_url_resolving("https://localhost:9/x", false).await,
            Err(UrlRefusal::NotPublic(_))
        ));
        assert!(check_url_resolving("https://localhost:9/x", true)
            .await
            .is_ok());
        assert!(check_url_resolving("http://localhost:9/x", true)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_refused_connection_says_why_without_connecting() {
        let http = OutboundHttp::new(false, "test").unwrap_or_else(|e| panic!("{e}"));
        // An IP literal is refused before any client is picked.
        assert!(matches!(
            http.client_for("https://127.0.0.1:9/x"),
            Err(UrlRefusal::NotPublic(_))
        ));
        // A name is refused by the resolver, inside the request.
        let (client, url) = http
            .client_for("https://localhost:9/x")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = match client.post(url).send().await {
            Ok(r) => panic!("connected: {}", r.status()),
            Err(e) => e,
        };
        assert!(
            matches!(refusal_of(&err), Some(UrlRefusal::NotPublic(_))),
            "{err:?}"
        );
    }
}
