//! The SSRF guard for URLs the platform calls on a tenant's behalf (webhook targets, media
//! to download): HTTPS only, and every address the host resolves to must be public.
//!
//! These are plain functions; [`crate::adapters::http_client`] runs them inside the HTTP client's DNS
//! resolution, so the check happens at every connection (a name that resolved to a public
//! address when it was configured and to `10.0.0.1` now is refused now: DNS rebinding).
//!
//! `ALLOW_LOOPBACK_TARGETS=true` (local development, tests) admits loopback addresses, and
//! plain `http` to loopback addresses only. Nothing else is ever admitted.

use super::net::{classify, AddressClass};
use std::net::IpAddr;
use url::{Host, Url};

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Which addresses a connection may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Public addresses only (production).
    Public,
    /// Public or loopback (`https` with `ALLOW_LOOPBACK_TARGETS`).
    PublicOrLoopback,
    /// Loopback only (plain `http` with `ALLOW_LOOPBACK_TARGETS`).
    LoopbackOnly,
}

impl Policy {
    /// The policy for a URL scheme, or `None` when the scheme is refused.
    pub fn for_scheme(scheme: &str, allow_loopback: bool) -> Option<Policy> {
        match (scheme, allow_loopback) {
            ("https", false) => Some(Policy::Public),
            ("https", true) => Some(Policy::PublicOrLoopback),
            ("http", true) => Some(Policy::LoopbackOnly),
            _ => None,
        }
    }

    pub fn admits(self, ip: IpAddr) -> bool {
        matches!(
            (self, classify(ip)),
            (
                Policy::Public | Policy::PublicOrLoopback,
                AddressClass::Public
            ) | (
                Policy::PublicOrLoopback | Policy::LoopbackOnly,
                AddressClass::Loopback
            )
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("must be an absolute URL such as https://example.com/hook")]
    Invalid,
    #[error("must be at most {MAX_URL_LEN} characters")]
    TooLong,
    #[error("must use https")]
    NotHttps,
    #[error("plain http is only allowed to loopback addresses")]
    HttpNotLoopback,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("must name a host")]
    NoHost,
    #[error("resolves to {0}, which is not a public address")]
    NotPublic(IpAddr),
    #[error("host {0} does not resolve")]
    Unresolvable(String),
}

/// Checks what can be checked without the network: syntax, scheme, no credentials, and
/// the address when the host is an IP literal. Returns the parsed URL and its policy.
pub fn check_url(raw: &str, allow_loopback: bool) -> Result<(Url, Policy), UrlRefusal> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(UrlRefusal::TooLong);
    }
    let url = Url::parse(raw).map_err(|_| UrlRefusal::Invalid)?;
    let policy = Policy::for_scheme(url.scheme(), allow_loopback).ok_or(UrlRefusal::NotHttps)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefusal::Credentials);
    }
    match url.host() {
        None => return Err(UrlRefusal::NoHost),
        Some(Host::Domain("")) => return Err(UrlRefusal::NoHost),
        Some(Host::Domain(_)) => {}
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), policy)?,
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), policy)?,
    }
    Ok((url, policy))
}

/// One address against a policy.
pub fn check_ip(ip: IpAddr, policy: Policy) -> Result<(), UrlRefusal> {
    if policy.admits(ip) {
        Ok(())
    } else if policy == Policy::LoopbackOnly {
        Err(UrlRefusal::HttpNotLoopback)
    } else {
        Err(UrlRefusal::NotPublic(ip))
    }
}

/// Every address a host resolved to must be admitted: one private address among public
/// ones refuses the host (the client could connect to any of them).
pub fn check_resolved(host: &str, addrs: &[IpAddr], policy: Policy) -> Result<(), UrlRefusal> {
    if addrs.is_empty() {
        return Err(UrlRefusal::Unresolvable(host.to_string()));
    }
    addrs.iter().try_for_each(|ip| check_ip(*ip, policy))
}

/// True for globally routable unicast addresses (see [`classify`]).
pub fn is_public(ip: IpAddr) -> bool {
    classify(ip) == AddressClass::Public
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn public_and_non_public_addresses() {
        for p in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450:4001:80b::200e",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(p)), "{p} should be public");
        }
        for n in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "2001::1",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(!is_public(ip(n)), "{n} should not be public");
        }
    }

    #[test]
    fn urls_must_be_https_without_credentials() {
        assert!(check_url("https://hooks.example.com/wati", false).is_ok());
        assert!(check_url("https://8.8.8.8:8443/x?y=1", false).is_ok());
        assert_eq!(
            check_url("http://hooks.example.com/wati", false).map(|_| ()),
            Err(UrlRefusal::NotHttps)
        );
        assert_eq!(
            check_url("ftp://hooks.example.com", false).map(|_| ()),
            Err(UrlRefusal::NotHttps)
        );
        assert_eq!(
            check_url("not a url", false).map(|_| ()),
            Err(UrlRefusal::Invalid)
        );
        assert_eq!(
            check_url("https://user:pw@hooks.example.com/", false).map(|_| ()),
            Err(UrlRefusal::Credentials)
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(
            check_url(&long, false).map(|_| ()),
            Err(UrlRefusal::TooLong)
        );
    }

    #[test]
    fn ip_literals_are_checked_without_resolving() {
        for url in [
            "https://10.0.0.5/hook",
            "https://192.168.0.10/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00::1]/hook",
            "https://[::ffff:192.168.0.1]/hook",
            "https://127.0.0.1:8443/hook",
            "https://0x7f000001/hook",
            "https://2130706433/hook",
        ] {
            assert!(
                matches!(check_url(url, false), Err(UrlRefusal::NotPublic(_))),
                "{url}: {:?}",
                check_url(url, false)
            );
        }
    }

    #[test]
    fn loopback_targets_only_with_the_setting() {
        // With the setting: loopback over https or http; still nothing private.
        assert!(check_url("https://127.0.0.1:9/x", true).is_ok());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_url("http://[::1]:9/x", true).is_ok());
        assert_eq!(
            check_url("http://10.0.0.1/x", true).map(|_| ()),
            Err(UrlRefusal::HttpNotLoopback)
        );
        assert_eq!(
            check_url("http://8.8.8.8/x", true).map(|_| ()),
            Err(UrlRefusal::HttpNotLoopback)
        );
        assert!(matches!(
            check_url("https://10.0.0.1/x", true),
            Err(UrlRefusal::NotPublic(_))
        ));
        // Names are judged once resolved.
        let (_, policy) = check_url("http://localhost:9/x", true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy, Policy::LoopbackOnly);
        assert!(check_resolved("localhost", &[ip("127.0.0.1")], policy).is_ok());
        assert!(check_resolved("localhost", &[ip("8.8.8.8")], policy).is_err());
    }

    #[test]
    fn one_private_address_refuses_the_host() {
        let p = Policy::Public;
        assert!(check_resolved("h", &[ip("8.8.8.8"), ip("1.1.1.1")], p).is_ok());
        assert_eq!(
            check_resolved("h", &[ip("8.8.8.8"), ip("10.0.0.1")], p),
            Err(UrlRefusal::NotPublic(ip("10.0.0.1")))
        );
        assert_eq!(
            check_resolved("h", &[], p),
            Err(UrlRefusal::Unresolvable("h".into()))
        );
        assert!(check_resolved("h", &[ip("127.0.0.1")], p).is_err());
        assert!(check_resolved("h", &[ip("127.0.0.1")], Policy::PublicOrLoopback).is_ok());
    }
}
