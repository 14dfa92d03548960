//! Where every sandbox runs: a free port on `127.0.0.1` (or the address `callbot sandbox` is
//! told), served until its handle is dropped.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A bound loopback port, known before anything is served on it (a sandbox's state may need
/// its own address).
pub(crate) struct Bound {
    listener: TcpListener,
    pub(crate) addr: SocketAddr,
}

/// Binds a free loopback port for the sandbox called `name`.
pub(crate) async fn bind(name: &str) -> Bound {
    bind_to(name, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Binds `addr` (port 0: a free one) for the sandbox called `name`.
pub(crate) async fn bind_to(name: &str, addr: SocketAddr) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(addr).await.map_err(|err| {
        std::io::Error::new(
            err.kind(),
            format!("binding {addr} for the {name} sandbox: {err}"),
        )
    })?;
    let addr = listener.local_addr()?;
    Ok(Bound { listener, addr })
}

/// Where a client reaches a server bound to `addr`: loopback for a wildcard address.
pub(crate) fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
    } else {
        addr
    }
}

/// A router served on a loopback port; the serving stops when this is dropped.
pub(crate) struct Served {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Bound {
    /// Serves `router` until the answer is dropped.
    pub(crate) fn serve(self, router: Router, name: &'static str) -> Served {
        let task = tokio::spawn(async move {
            // Frames are not held back for Nagle's algorithm on the stand-ins' side either (the
            // load mode times them; the real services answer at once).
            let listener = self.listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(error = %err, "the {name} sandbox stopped");
            }
        });
        Served {
            addr: self.addr,
            task,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}
