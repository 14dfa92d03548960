//! The client's address: the connection's peer, unless that peer is one of our own reverse
//! proxies (`TRUSTED_PROXIES`), in which case the address the proxies recorded in
//! `X-Forwarded-For`. Whatever keys on the client (the per-address sign-in limit) asks here.
//!
//! `X-Forwarded-For` is read from the right: each proxy appends the address it was reached
//! from, so the right-most entries are written by our proxies and everything left of the first
//! address that is not ours was written by the client and may be forged. The client is that
//! first untrusted address from the right.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header reverse proxies append the client's address to.
const FORWARDED_FOR: &str = "x-forwarded-for";
/// Entries of `X-Forwarded-For` read at most (a longer chain is no proxy setup of ours).
const MAX_HOPS: usize = 20;

/// Addresses and networks of our reverse proxies (`TRUSTED_PROXIES`); empty trusts none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `TRUSTED_PROXIES` entry that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is neither an IP address nor a network such as 10.0.0.0/8")]
pub struct InvalidProxy {
    /// The entry as written.
    pub entry: String,
}

impl TrustedProxies {
    /// Reads a comma-separated list of IP addresses and CIDR networks
    /// (`10.0.0.1, 172.16.0.0/12, ::1`); blank entries are skipped.
    pub fn parse(text: &str) -> Result<Self, InvalidProxy> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidProxy {
                        entry: entry.to_owned(),
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether no proxy is trusted (forwarding headers are then never read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of our proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request that reached us from `peer`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        // Several headers are one list, in order.
        let hops: Vec<&str> = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let Some(ip) = parse_hop(hop) else {
                // Garbage is no address: the last proxy's peer is all we know.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(canonical)
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`, as a dual-stack listener reports it)
/// is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether a request carries forwarding headers (it came through a proxy, whatever its peer).
pub fn is_forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(FORWARDED_FOR)
        || headers.contains_key("forwarded")
        || headers.contains_key("x-real-ip")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let none = TrustedProxies::default();
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(none.client_ip(ip("10.0.0.2"), &headers), ip("10.0.0.2"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        // The client forged the left-most entry; our two proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(
            proxies.client_ip(ip("192.0.2.1"), &headers),
            ip("203.0.113.7")
        );
        // An untrusted peer's header is ignored.
        assert_eq!(
            proxies.client_ip(ip("198.51.100.9"), &headers),
            ip("198.51.100.9")
        );
        // Only proxies in the chain: the left-most of them.
        let headers = forwarded(&["10.9.9.9"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &headers), ip("10.9.9.9"));
        // No header at all: the proxy itself.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ports_mapped_addresses_and_garbage_in_the_chain() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let headers = forwarded(&["203.0.113.7:5123"]);
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        let headers = forwarded(&["[2001:db8::1]:443"]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &headers),
            ip("2001:db8::1")
        );
        let headers = forwarded(&["not-an-ip"]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &headers),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_malformed_entry_is_refused_naming_it() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.1, proxy.local"),
            Err(InvalidProxy {
                entry: "proxy.local".into()
            })
        );
        assert!(TrustedProxies::parse(" , ").unwrap().is_empty());
    }
}
