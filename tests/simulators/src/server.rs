//! What every simulator shares: the HTTP server lifecycle (bind, port 0 allowed; serve until
//! shut down or dropped; wait for the end), [`SimHandle`], the type of every simulator's
//! handle, and [`Recorded`], the state of every simulator that records its requests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running simulator: what it shares with its server, and the server. Cheap to clone; the
/// server stops on [`SimHandle::shutdown`] or when the last clone is dropped.
///
/// Each simulator names its own (`KioskSim` is `SimHandle<kiosk::Shared>`, …) and adds its
/// own methods; the methods every simulator has are written once here.
pub struct SimHandle<S> {
    pub(crate) shared: Arc<S>,
    server: Arc<Server>,
}

/// What a simulator's shared state tells its [`SimHandle`].
pub trait Simulator: Send + Sync + 'static {
    /// The handle's name, e.g. `KioskSim` (its `Debug`).
    const NAME: &'static str;
    /// What the simulator keeps behind its lock.
    type State;
    /// Locks the state, as the handle's methods see it (a poisoned lock is still usable).
    fn state(&self) -> MutexGuard<'_, Self::State>;
    /// For a simulator that serves plain HTTP or HTTPS: whether it serves HTTPS (shown in
    /// `Debug`). `None` for one that serves only plain HTTP.
    fn tls(&self) -> Option<bool> {
        None
    }
}

/// A simulator state that records the requests it receives and has a behaviour tests set.
pub trait Recording {
    /// One recorded request.
    type Request: Clone;
    /// What `GET /_sim/behaviour` shows.
    type Behaviour: Clone;
    /// Every request so far, in arrival order.
    fn requests(&self) -> &[Self::Request];
    /// The current behaviour.
    fn behaviour(&self) -> &Self::Behaviour;
}

/// The state of a simulator that records the requests it receives and has a behaviour tests
/// set: those two, and what else it keeps (`books`: dossiers, recognitions, …; `()` for
/// none). Every such simulator's state is one of these, so [`Recording`] is written once.
pub struct Recorded<R, B, K = ()> {
    /// Every request so far, in arrival order.
    pub(crate) requests: Vec<R>,
    /// What `GET /_sim/behaviour` shows.
    pub(crate) behaviour: B,
    /// The rest of the simulator's state.
    pub(crate) books: K,
}

impl<R, B, K: Default> Recorded<R, B, K> {
    /// No requests yet, empty books, and `behaviour`.
    pub(crate) fn new(behaviour: B) -> Self {
        Self {
            requests: Vec::new(),
            behaviour,
            books: K::default(),
        }
    }
}

impl<R, B: Default, K: Default> Default for Recorded<R, B, K> {
    fn default() -> Self {
        Self::new(B::default())
    }
}

impl<R: Clone, B: Clone, K> Recording for Recorded<R, B, K> {
    type Request = R;
    type Behaviour = B;
    fn requests(&self) -> &[R] {
        &self.requests
    }
    fn behaviour(&self) -> &B {
        &self.behaviour
    }
}

impl<S> Clone for SimHandle<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            server: self.server.clone(),
        }
    }
}

impl<S: Simulator> std::fmt::Debug for SimHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct(S::NAME);
        d.field("addr", &self.local_addr());
        if let Some(tls) = self.shared.tls() {
            d.field("tls", &tls);
        }
        d.finish_non_exhaustive()
    }
}

impl<S> SimHandle<S> {
    /// Serves `router(shared)` at `addr` (port 0 picks a free port) in a background task:
    /// what a simulator's `start` ends with.
    pub(crate) async fn serve(
        addr: SocketAddr,
        shared: Arc<S>,
        router: impl FnOnce(Arc<S>) -> axum::Router,
    ) -> std::io::Result<Self> {
        let server = Server::start(addr, router(shared.clone())).await?;
        Ok(Self::new(shared, server))
    }

    /// The handle of `shared` served by `server`.
    pub(crate) fn new(shared: Arc<S>, server: Server) -> Self {
        Self {
            shared,
            server: Arc::new(server),
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Stops the server gracefully (requests under way, delays included, are answered).
    /// Idempotent.
    pub fn shutdown(&self) {
        self.server.shutdown();
    }

    /// Waits until the server task has ended (after [`SimHandle::shutdown`]).
    pub async fn stopped(&self) -> std::io::Result<()> {
        self.server.stopped().await
    }
}

impl<S: Simulator> SimHandle<S> {
    /// E.g. `http://127.0.0.1:41234` (`https://…` when serving HTTPS).
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls() == Some(true) {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.local_addr())
    }

    /// The state, locked (see [`Simulator::state`]).
    pub(crate) fn state(&self) -> MutexGuard<'_, S::State> {
        self.shared.state()
    }
}

impl<S: Simulator> SimHandle<S>
where
    S::State: Recording,
{
    /// Every request to the simulator's partner API so far, in arrival order.
    pub fn requests(&self) -> Vec<<S::State as Recording>::Request> {
        self.state().requests().to_vec()
    }

    /// The current behaviour.
    pub fn behaviour(&self) -> <S::State as Recording>::Behaviour {
        self.state().behaviour().clone()
    }

    /// The recorded requests `keep` answers true for, in arrival order.
    pub(crate) fn requests_where(
        &self,
        keep: impl Fn(&<S::State as Recording>::Request) -> bool,
    ) -> Vec<<S::State as Recording>::Request> {
        crate::control::matching(self.state().requests(), keep)
    }

    /// Waits until at least `n` requests arrived; false after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: std::time::Duration) -> bool {
        self.wait_until(timeout, |s| s.requests().len() >= n).await
    }

    /// Waits until `done` answers true for the state; false after `timeout`.
    pub(crate) async fn wait_until(
        &self,
        timeout: std::time::Duration,
        done: impl Fn(&S::State) -> bool,
    ) -> bool {
        crate::control::wait_until(timeout, || done(&self.state())).await
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
