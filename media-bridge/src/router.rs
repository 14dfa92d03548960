//! `GET /twilio/media`: the Media Streams WebSocket, served by the [`Bridge`]. A process that runs
//! only media sockets serves [`router`]; the API process routes its documented handler to
//! [`serve_media`].
//!
//! Anyone can open the socket; only Twilio can pass its `start` check (a token bound to the call).
//! Until then a socket is kept cheap: messages of at most [`MAX_MESSAGE_BEFORE_START`] bytes, the
//! start deadline, and at most [`UnverifiedSockets::per_address`] such sockets per client address.
//! Sockets whose `start` was verified are not counted: every real call comes from Twilio's few
//! egress addresses, so a cap on them would limit real traffic, while a Twilio socket is
//! unverified only for the moment between its handshake and its `start`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};

use crate::bridge::Bridge;

/// Where Twilio opens the media socket (the voice webhook's `<Connect><Stream url>`).
pub const MEDIA_PATH: &str = "/twilio/media";

/// The largest message a media socket accepts before its `start` is verified. Twilio's
/// `connected` and `start` messages are well under 1 kB (the custom parameters are a call id
/// and a token).
pub const MAX_MESSAGE_BEFORE_START: usize = 4 * 1024;

/// The largest frame or message a media socket accepts at all (checked by the WebSocket codec
/// from the frame header, before the payload is read). Twilio's media frames carry 20 ms of
/// µ-law audio and are under 1 kB.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// Unverified media sockets one client address may hold open unless configured otherwise
/// (`MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS`).
pub const DEFAULT_UNVERIFIED_PER_ADDRESS: usize = 64;

/// The media socket route over `bridge`.
pub fn router(bridge: Arc<Bridge>) -> Router {
    Router::new()
        .route(MEDIA_PATH, get(media))
        .with_state(bridge)
}

async fn media(
    State(bridge): State<Arc<Bridge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: MediaUpgrade,
) -> Response {
    // A bridge-only process knows no proxies: it counts per peer.
    serve_media(Some(bridge), peer.ip(), upgrade).await
}

/// Upgrades to the media socket and hands it to the bridge; 503 when this process runs none,
/// 429 when `client` already holds as many unverified sockets as allowed.
pub async fn serve_media(
    bridge: Option<Arc<Bridge>>,
    client: IpAddr,
    upgrade: MediaUpgrade,
) -> Response {
    let Some(bridge) = bridge else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no media bridge in this process",
        )
            .into_response();
    };
    let Some(permit) = bridge.unverified().admit(client) else {
        tracing::warn!(%client, "too many unverified media sockets from one address");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many media sockets waiting for their start from this address",
        )
            .into_response();
    };
    let MediaUpgrade { key, on_upgrade } = upgrade;
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => bridge.run(upgraded, permit),
            Err(error) => tracing::debug!(%error, "the media socket's upgrade failed"),
        }
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept_key(&key)),
        ],
        Body::empty(),
    )
        .into_response()
}

/// The media socket's opening handshake (RFC 6455 §4.2.1, HTTP/1.1): once answered, hyper hands
/// the connection to the [`Bridge`]. A request that is no WebSocket handshake is refused with a
/// status and a plain-text reason.
pub struct MediaUpgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for MediaUpgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        MediaUpgrade::read(parts).map_err(|error| {
            let status = match error {
                HandshakeError::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
                HandshakeError::NotUpgradeable => StatusCode::UPGRADE_REQUIRED,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, format!("not a WebSocket handshake: {error}")).into_response()
        })
    }
}

impl MediaUpgrade {
    fn read(parts: &mut Parts) -> Result<Self, HandshakeError> {
        let headers = &parts.headers;
        if parts.method != Method::GET {
            return Err(HandshakeError::MethodNotGet);
        }
        if !has_token(headers, header::CONNECTION, "upgrade") {
            return Err(HandshakeError::Connection);
        }
        if !has_token(headers, header::UPGRADE, "websocket") {
            return Err(HandshakeError::Upgrade);
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|version| version.as_bytes() != b"13")
        {
            return Err(HandshakeError::Version);
        }
        let key = headers
            .get(header::SEC_WEBSOCKET_KEY)
            .filter(|key| {
                BASE64
                    .decode(key.as_bytes())
                    .is_ok_and(|key| key.len() == 16)
            })
            .ok_or(HandshakeError::Key)?
            .clone();
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or(HandshakeError::NotUpgradeable)?;
        Ok(Self { key, on_upgrade })
    }
}

/// Why a request is no WebSocket handshake.
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("the method must be GET")]
    MethodNotGet,
    #[error("`Connection` must name `upgrade`")]
    Connection,
    #[error("`Upgrade` must name `websocket`")]
    Upgrade,
    #[error("`Sec-WebSocket-Version` must be 13")]
    Version,
    #[error("`Sec-WebSocket-Key` must be 16 bytes in base64")]
    Key,
    #[error("this connection cannot be upgraded")]
    NotUpgradeable,
}

/// True when header `name` lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// `Sec-WebSocket-Accept` for `key`: base64 of SHA-1 over the key and RFC 6455's GUID.
fn accept_key(key: &HeaderValue) -> HeaderValue {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    HeaderValue::try_from(BASE64.encode(sha1.finalize())).expect("base64 is a header value")
}

/// Counts the media sockets per client address whose `start` is not verified yet.
#[derive(Debug)]
pub struct UnverifiedSockets {
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl UnverifiedSockets {
    /// At most `per_address` unverified sockets per client address (IPv6: per /64, the block
    /// one subscriber usually holds).
    pub fn new(per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            per_address,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// How many unverified sockets one address may hold.
    pub fn per_address(&self) -> usize {
        self.per_address
    }

    /// How many unverified sockets are open, over all addresses.
    pub fn open(&self) -> usize {
        self.lock().values().sum()
    }

    /// A place for one more unverified socket from `ip`, or `None` when it holds enough.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<UnverifiedPermit> {
        let key = address_key(ip);
        let mut open = self.lock();
        let count = open.entry(key).or_default();
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(UnverifiedPermit {
            sockets: Arc::clone(self),
            key,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // The map stays consistent whatever panicked while holding it (one counter at a time).
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One unverified socket's place; dropping it (once `start` is verified, or the socket is
/// refused or gone) frees the place.
#[derive(Debug)]
pub struct UnverifiedPermit {
    sockets: Arc<UnverifiedSockets>,
    key: IpAddr,
}

impl Drop for UnverifiedPermit {
    fn drop(&mut self) {
        let mut open = self.sockets.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The address sockets are counted under: IPv4 as is (also when mapped into IPv6), IPv6 by /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_of_unverified_sockets() {
        let sockets = UnverifiedSockets::new(2);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let first = sockets.admit(ip).unwrap();
        let _second = sockets.admit(ip).unwrap();
        assert!(sockets.admit(ip).is_none());
        assert!(sockets.admit("203.0.113.8".parse().unwrap()).is_some());
        drop(first);
        assert!(sockets.admit(ip).is_some());
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let sockets = UnverifiedSockets::new(1);
        let _one = sockets.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert!(sockets.admit("2001:db8::ffff:2".parse().unwrap()).is_none());
        assert!(sockets.admit("2001:db8:0:1::1".parse().unwrap()).is_some());
        let _v4 = sockets.admit("192.0.2.1".parse().unwrap()).unwrap();
        assert!(sockets.admit("::ffff:192.0.2.1".parse().unwrap()).is_none());
    }

    #[test]
    fn freed_places_leave_no_entry_behind() {
        let sockets = UnverifiedSockets::new(4);
        let permits: Vec<_> = (0..3)
            .map(|_| sockets.admit("198.51.100.1".parse().unwrap()).unwrap())
            .collect();
        assert_eq!(sockets.open(), 3);
        drop(permits);
        assert_eq!(sockets.open(), 0);
        assert!(sockets.lock().is_empty());
    }

    /// RFC 6455 §1.3's example.
    #[test]
    fn the_accept_key_is_the_rfcs() {
        let key = HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(accept_key(&key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn a_handshake_needs_get_the_upgrade_tokens_version_13_and_a_16_byte_key() {
        let handshake = |method: &str, headers: &[(&str, &str)]| {
            let mut request = axum::http::Request::builder()
                .method(method)
                .uri(MEDIA_PATH);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let (mut parts, ()) = request.body(()).unwrap().into_parts();
            MediaUpgrade::read(&mut parts).map(|_| ()).unwrap_err()
        };
        let good = [
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        // Everything right, but a request built by hand has no connection to take over.
        assert!(matches!(
            handshake("GET", &good),
            HandshakeError::NotUpgradeable
        ));
        assert!(matches!(
            handshake("POST", &good),
            HandshakeError::MethodNotGet
        ));
        let without = |name: &str| -> Vec<(&str, &str)> {
            good.iter().copied().filter(|(n, _)| *n != name).collect()
        };
        assert!(matches!(
            handshake("GET", &without("connection")),
            HandshakeError::Connection
        ));
        assert!(matches!(
            handshake("GET", &without("upgrade")),
            HandshakeError::Upgrade
        ));
        assert!(matches!(
            handshake("GET", &without("sec-websocket-version")),
            HandshakeError::Version
        ));
        let mut short_key = without("sec-websocket-key");
        short_key.push(("sec-websocket-key", "c2hvcnQ="));
        assert!(matches!(handshake("GET", &short_key), HandshakeError::Key));
        let mut upgrade_elsewhere = without("upgrade");
        upgrade_elsewhere.push(("upgrade", "h2c, websocketx"));
        assert!(matches!(
            handshake("GET", &upgrade_elsewhere),
            HandshakeError::Upgrade
        ));
    }
}
