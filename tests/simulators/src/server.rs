//! The HTTP server lifecycle every simulator shares: bind (port 0 allowed), serve until
//! shut down or dropped, wait for the end.

use std::net::SocketAddr;
use std::sync::Mutex;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What a simulator's cheap-to-clone handle points at: its shared state and its server.
pub(crate) struct Handle<S, V = Server> {
    pub(crate) shared: std::sync::Arc<S>,
    pub(crate) server: V,
}

impl<S> Handle<S> {
    /// Serves `router(shared)` at `addr` (port 0 picks a free port) in a background task:
    /// what a simulator's `start` ends with.
    pub(crate) async fn serve(
        addr: SocketAddr,
        shared: std::sync::Arc<S>,
        router: impl FnOnce(std::sync::Arc<S>) -> axum::Router,
    ) -> std::io::Result<std::sync::Arc<Self>> {
        let server = Server::start(addr, router(shared.clone())).await?;
        Ok(std::sync::Arc::new(Handle { shared, server }))
    }
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    cancel: CancellationToken,
    task: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl Server {
    pub(crate) async fn start(addr: SocketAddr, app: axum::Router) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let stop = cancel.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        });
        Ok(Server::serving(addr, cancel, task))
    }

    /// A server already serving in `task` until `cancel` (e.g. behind a listener of its own).
    pub(crate) fn serving(
        addr: SocketAddr,
        cancel: CancellationToken,
        task: JoinHandle<std::io::Result<()>>,
    ) -> Server {
        Server {
            addr,
            cancel,
            task: Mutex::new(Some(task)),
        }
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (gracefully: requests under way are answered).
    pub(crate) fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Waits until the server task has ended (after [`Server::shutdown`]).
    pub(crate) async fn stopped(&self) -> std::io::Result<()> {
        let handle = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match handle {
            Some(h) => h.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The methods every simulator's handle has, for a handle whose `inner.server` answers
/// `addr()`, `shutdown()` and `stopped()` (a [`Server`], or the back office's plain-or-TLS
/// server): `local_addr`, `shutdown` and `stopped`.
macro_rules! lifecycle_methods {
    ($sim:literal) => {
        /// The bound address.
        pub fn local_addr(&self) -> std::net::SocketAddr {
            self.inner.server.addr()
        }

        /// Stops the server gracefully (requests under way, delays included, are answered).
        /// Idempotent.
        pub fn shutdown(&self) {
            self.inner.server.shutdown();
        }

        #[doc = concat!("Waits until the server task has ended (after [`", $sim, "::shutdown`]).")]
        pub async fn stopped(&self) -> std::io::Result<()> {
            self.inner.server.stopped().await
        }
    };
}
pub(crate) use lifecycle_methods;

/// `Debug` of a simulator's handle: its name and bound address.
macro_rules! debug_with_addr {
    ($sim:ident) => {
        impl std::fmt::Debug for $sim {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($sim))
                    .field("addr", &self.local_addr())
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_with_addr;
