//! The HTTP server: hyper's HTTP/1.1 connection loop with the limits of [`HttpLimits`], so a
//! client that sends slowly, or not at all, cannot hold connections for long.
//!
//! - A request's head must arrive within the header timeout. Hyper starts that timer as soon as
//!   a connection waits for a request, so it also closes connections that never send a byte and
//!   kept-alive connections left idle.
//! - A request's body must arrive within the body timeout, counted from the end of its head: a
//!   body trickled in a byte at a time fails to read (and the connection closes), while
//!   answers that stream for long (status streams, the media socket) are not limited.
//! - At most `max_connections` connections are served at once; further ones wait in the
//!   listen backlog until one closes. A connection upgraded to a WebSocket leaves the count
//!   (the media socket has its own cap on sockets whose `start` is not verified).
//!
//! HTTP/1.1 only: a TLS-terminating proxy speaks it upstream and Twilio's media socket is an
//! HTTP/1.1 upgrade, while HTTP/2's connection preface would wait without any timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use commands::CancellationToken;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::config::HttpLimits;

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting, lets
/// connections finish their requests (idle ones close at once) and returns when all are closed.
/// Handlers see the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Media frames are small and latency-bound: no Nagle delay (a frame held back one
        // 20 ms frame period otherwise).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let body_timeout = limits.body_timeout;
        let service = router
            .clone()
            .map_request(move |request: http::Request<Incoming>| {
                let mut request =
                    request.map(|body| Body::new(DeadlineBody::new(body, body_timeout)));
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    // Every permit back = every connection closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if let Ok(permits) = connections.acquire_many(all).await {
        drop(permits);
    }
}

/// An accept error: a connection that failed before we saw it is skipped; running out of file
/// descriptors (or another resource) gets a pause, as retrying at once would spin.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; pausing");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A request body that fails once its deadline has passed, however steadily bytes trickle in
/// (tower-http's body timeout restarts with every frame, which a byte per second satisfies).
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

/// The request body did not arrive within `HTTP_BODY_TIMEOUT_SECONDS`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
