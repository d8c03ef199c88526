//! Which network addresses an outbound request may go to. The platform fetches URLs that
//! tenants give it (media links; webhook URLs), so those must resolve only to public
//! addresses: never loopback, private networks, link-local (where cloud metadata lives) or
//! other special ranges. `ALLOW_LOOPBACK_TARGETS=true` (local development) admits loopback
//! — and plain `http` to it — and nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    /// 169.254.0.0/16, fe80::/10: includes the cloud metadata service.
    LinkLocal,
    /// Anything else that is not a routable unicast address on the internet.
    Special(&'static str),
}

impl AddressClass {
    /// How a refusal names it.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private network address",
            AddressClass::LinkLocal => "a link-local (cloud metadata) address",
            AddressClass::Special(what) => what,
        }
    }
}

/// Where outbound requests may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    pub allow_loopback: bool,
}

impl TargetPolicy {
    pub fn permits(self, class: AddressClass) -> bool {
        match class {
            AddressClass::Public => true,
            AddressClass::Loopback => self.allow_loopback,
            _ => false,
        }
    }

    /// `https` always; `http` only in local development, and then only to loopback.
    pub fn permits_scheme(self, scheme: &str, classes: &[AddressClass]) -> bool {
        match scheme {
            "https" => true,
            "http" => {
                self.allow_loopback
                    && !classes.is_empty()
                    && classes.iter().all(|c| *c == AddressClass::Loopback)
            }
            _ => false,
        }
    }
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let ranges: [([u8; 4], u32, AddressClass); 18] = [
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([169, 254, 0, 0], 16, LinkLocal),
        (
            [0, 0, 0, 0],
            8,
            Special("an unspecified (0.0.0.0/8) address"),
        ),
        ([100, 64, 0, 0], 10, Special("a carrier-grade NAT address")),
        (
            [192, 0, 0, 0],
            24,
            Special("an IETF protocol assignment address"),
        ),
        ([192, 0, 2, 0], 24, Special("a documentation address")),
        ([198, 51, 100, 0], 24, Special("a documentation address")),
        ([203, 0, 113, 0], 24, Special("a documentation address")),
        ([198, 18, 0, 0], 15, Special("a benchmarking address")),
        ([192, 88, 99, 0], 24, Special("a 6to4 relay address")),
        ([192, 31, 196, 0], 24, Special("an AS112 address")),
        ([192, 52, 193, 0], 24, Special("an AMT relay address")),
        ([224, 0, 0, 0], 4, Special("a multicast address")),
        ([240, 0, 0, 0], 4, Special("a reserved address")),
        ([255, 255, 255, 255], 32, Special("the broadcast address")),
    ];
    ranges
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
        .unwrap_or(Public)
}

/// The IPv4 address carried by two IPv6 segments.
fn v4_from(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let seg = ip.segments();
    if ip.is_loopback() {
        return Loopback;
    }
    if ip.is_unspecified() {
        return Special("an unspecified address");
    }
    // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 address it carries.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(v4_from(seg[6], seg[7]));
    }
    // 6to4 (2002::/16) embeds one in bits 16–48.
    if seg[0] == 0x2002 {
        return classify_v4(v4_from(seg[1], seg[2]));
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => Private, // fc00::/7 unique local (incl. fd00:ec2::254)
        s if s & 0xffc0 == 0xfe80 => LinkLocal, // fe80::/10
        s if s & 0xffc0 == 0xfec0 => Special("a site-local address"),
        s if s & 0xff00 == 0xff00 => Special("a multicast address"),
        0x2001 if seg[1] == 0x0db8 => Special("a documentation address"),
        0x2001 if seg[1] == 0 => Special("a Teredo tunnel address"),
        0x2001 if seg[1] < 0x0200 => Special("an IETF protocol assignment address"),
        0x0100 if seg[1..4] == [0, 0, 0] => Special("a discard-only address"),
        0x3fff if seg[1] < 0x1000 => Special("a documentation address"),
        // Only 2000::/3 is global unicast (this also refuses the deprecated IPv4-compatible
        // ::a.b.c.d and the local-use NAT64 prefix 64:ff9b:1::/48).
        s if s & 0xe000 != 0x2000 => Special("a non-global IPv6 address"),
        _ => Public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    #[test]
    fn public_addresses() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "157.240.1.35",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "2a03:2880:f10e:83:face:b00c:0:25de",
            "2606:4700::1111",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn internal_addresses() {
        use AddressClass::*;
        assert_eq!(class("127.0.0.1"), Loopback);
        assert_eq!(class("127.255.0.9"), Loopback);
        assert_eq!(class("::1"), Loopback);
        assert_eq!(class("::ffff:127.0.0.1"), Loopback);
        assert_eq!(class("10.1.2.3"), Private);
        assert_eq!(class("172.16.0.1"), Private);
        assert_eq!(class("172.31.255.255"), Private);
        assert_eq!(class("192.168.1.1"), Private);
        assert_eq!(class("::ffff:10.0.0.1"), Private);
        assert_eq!(class("64:ff9b::a00:1"), Private, "NAT64 of 10.0.0.1");
        assert_eq!(class("2002:c0a8:0101::1"), Private, "6to4 of 192.168.1.1");
        assert_eq!(class("fd00:ec2::254"), Private, "AWS metadata over IPv6");
        assert_eq!(class("169.254.169.254"), LinkLocal, "cloud metadata");
        assert_eq!(class("fe80::1"), LinkLocal);
        for ip in [
            "0.0.0.0",
            "::",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.10",
            "198.18.0.1",
            "240.0.0.1",
            "ff02::1",
            "2001:db8::1",
            "::10.0.0.1",
        ] {
            assert!(
                matches!(class(ip), Special(_) | Private),
                "{ip}: {:?}",
                class(ip)
            );
        }
    }

    #[test]
    fn policy() {
        let strict = TargetPolicy::default();
        let local = TargetPolicy {
            allow_loopback: true,
        };
        assert!(strict.permits(AddressClass::Public));
        assert!(!strict.permits(AddressClass::Loopback));
        assert!(local.permits(AddressClass::Loopback));
        assert!(!local.permits(AddressClass::Private));
        assert!(!local.permits(AddressClass::LinkLocal));
        assert!(strict.permits_scheme("https", &[AddressClass::Public]));
        assert!(!strict.permits_scheme("http", &[AddressClass::Public]));
        assert!(!local.permits_scheme("http", &[AddressClass::Public]));
        assert!(local.permits_scheme("http", &[AddressClass::Loopback]));
        assert!(!local.permits_scheme("http", &[AddressClass::Loopback, AddressClass::Public]));
        assert!(!local.permits_scheme("ftp", &[AddressClass::Loopback]));
    }
}
