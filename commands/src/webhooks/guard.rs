//! The SSRF guard: a webhook URL is an address an account chose, so outside sandbox mode we
//! never deliver to our own machine or network. Resolve, then check every address, then connect
//! to a checked one: the guard is the sending client's DNS resolver, so the address that was
//! checked is the one connected to and a name that resolves elsewhere the second time (DNS
//! rebinding) gains nothing. Literal IP hosts never reach a resolver; [`Guard::check_host`]
//! checks them before the request is made.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Why a URL or host is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Not a URL at all.
    #[error("url: not a valid URL")]
    NotAUrl,
    /// Not `https` (or `http` in sandbox mode).
    #[error("url: must be https")]
    NotHttps,
    /// Credentials, a missing host, or a fragment.
    #[error("url: {0}")]
    Malformed(&'static str),
    /// The host is, or resolves to, an address we do not deliver to.
    #[error("url: {host} is a private, loopback, link-local or multicast address ({addr})")]
    Forbidden { host: String, addr: IpAddr },
    /// The host has no address.
    #[error("url: {host} does not resolve")]
    Unresolvable { host: String },
}

/// Checks webhook URLs and resolves their hosts to allowed addresses only.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    allow_private: bool,
}

impl Guard {
    /// A guard; `allow_private` (sandbox mode) lets loopback, private hosts and `http` through.
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Parses and checks a URL's shape and, when its host is an IP literal, that address.
    pub fn check_url(&self, text: &str) -> Result<Url, GuardError> {
        let url = Url::parse(text).map_err(|_| GuardError::NotAUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(GuardError::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::Malformed("must not carry credentials"));
        }
        if url.fragment().is_some() {
            return Err(GuardError::Malformed("must not have a fragment"));
        }
        self.check_host(&url)?;
        Ok(url)
    }

    /// Refuses a URL whose host is a forbidden IP literal or `localhost`; names are checked when
    /// they resolve.
    pub fn check_host(&self, url: &Url) -> Result<(), GuardError> {
        if self.allow_private {
            return Ok(());
        }
        let forbidden = |host: String, addr: IpAddr| Err(GuardError::Forbidden { host, addr });
        match url.host() {
            None => Err(GuardError::Malformed("must name a host")),
            Some(Host::Ipv4(ip)) if is_forbidden(IpAddr::V4(ip)) => {
                forbidden(ip.to_string(), IpAddr::V4(ip))
            }
            Some(Host::Ipv6(ip)) if is_forbidden(IpAddr::V6(ip)) => {
                forbidden(ip.to_string(), IpAddr::V6(ip))
            }
            Some(Host::Domain(name))
                if name.eq_ignore_ascii_case("localhost")
                    || name.to_ascii_lowercase().ends_with(".localhost") =>
            {
                forbidden(name.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            Some(_) => Ok(()),
        }
    }

    /// The addresses of `host`, all of them allowed; refused when any is not (a name that
    /// points at both a public and a private address is not ours to pick from).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| GuardError::Unresolvable {
                host: host.to_owned(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(GuardError::Unresolvable {
                host: host.to_owned(),
            });
        }
        if !self.allow_private
            && let Some(bad) = addrs.iter().find(|addr| is_forbidden(addr.ip()))
        {
            return Err(GuardError::Forbidden {
                host: host.to_owned(),
                addr: bad.ip(),
            });
        }
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = *self;
        Box::pin(async move {
            // The port is the connector's to set; 0 here is replaced by the URL's.
            let addrs = guard.resolve(name.as_str(), 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether we refuse to deliver to `ip`: loopback, private, shared (CGNAT), link-local,
/// multicast, broadcast, unspecified, or an IPv6 form of one of those.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT: inside someone's network.
        || (a == 100 && (64..128).contains(&b))
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_multicast_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "ff02::1",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad}");
        }
        for fine in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_forbidden(fine.parse().unwrap()), "{fine}");
        }
    }

    #[test]
    fn outside_sandbox_mode_only_https_to_public_hosts_passes() {
        let guard = Guard::new(false);
        assert!(guard.check_url("https://hooks.example.com/in").is_ok());
        assert_eq!(
            guard.check_url("http://hooks.example.com/in"),
            Err(GuardError::NotHttps)
        );
        for bad in [
            "https://127.0.0.1/in",
            "https://[::1]/in",
            "https://localhost:8443/in",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.5/",
        ] {
            assert!(
                matches!(guard.check_url(bad), Err(GuardError::Forbidden { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            guard.check_url("https://user:pw@hooks.example.com/"),
            Err(GuardError::Malformed(_))
        ));
        assert_eq!(guard.check_url("not a url"), Err(GuardError::NotAUrl));
    }

    #[test]
    fn sandbox_mode_allows_loopback_over_http() {
        let guard = Guard::new(true);
        assert!(guard.check_url("http://127.0.0.1:9000/in").is_ok());
        assert_eq!(
            guard.check_url("ftp://127.0.0.1/"),
            Err(GuardError::NotHttps)
        );
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_when_resolved() {
        let refused = Guard::new(false).resolve("localhost", 443).await;
        assert!(
            matches!(refused, Err(GuardError::Forbidden { .. })),
            "{refused:?}"
        );
        let allowed = Guard::new(true).resolve("localhost", 443).await.unwrap();
        assert!(allowed.iter().all(|addr| addr.ip().is_loopback()));
    }
}
