//! The accept loop and graceful shutdown.
//!
//! `run` takes a bound listener and a shutdown future (as in mini-redis),
//! so tests bind port 0 and stop the server when they like. A semaphore caps
//! open connections (never above what the open-files limit allows), one
//! client address may hold only so many, and upgraded websockets keep their
//! permit for their life. When the cap is reached a few overflow
//! connections are still served, for probes and the admin API only: a full
//! server still answers `/healthz`.
//!
//! With `admin_listen` there are two listeners, public and admin, each with
//! its part of the router ([`http::Surface`]); they share the loop, so the
//! cap, the timeouts and the shutdown are the same for both.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, SemaphorePermit};
use tower::ServiceExt;

use crate::http::{self, Surface};
use crate::state::ServerState;
use crate::transport::{ConnectionPermit, DeadlineBody, OVERFLOW_CONNECTIONS, OverflowConnection};

/// Time a client has to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Says "connections refused" at most this often (with how many since).
const REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// One warning per period for a flood of the same event, with a count.
struct QuietWarning {
    last: Option<tokio::time::Instant>,
    suppressed: u64,
}

impl QuietWarning {
    fn new() -> Self {
        Self {
            last: None,
            suppressed: 0,
        }
    }

    /// Some(count of events since the last warning) when one is due now.
    fn due(&mut self) -> Option<u64> {
        let now = tokio::time::Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < REFUSAL_WARNING_EVERY)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed) + 1)
    }
}

/// The bound sockets the server accepts on.
pub(crate) struct Listeners {
    /// Clients; and everything else when there is no `admin`.
    pub(crate) public: TcpListener,
    /// The admin UI, the admin API and `/metrics` (`admin_listen`).
    pub(crate) admin: Option<TcpListener>,
}

impl Listeners {
    /// The next connection on either listener, and whether the admin one took it.
    async fn accept(&self) -> std::io::Result<(TcpStream, SocketAddr, bool)> {
        let admin = async {
            match &self.admin {
                Some(admin) => admin.accept().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            accepted = self.public.accept() => accepted.map(|(stream, remote)| (stream, remote, false)),
            accepted = admin => accepted.map(|(stream, remote)| (stream, remote, true)),
        }
    }
}

pub(crate) async fn run(
    listeners: Listeners,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) {
    let (public_router, admin_router) = if listeners.admin.is_some() {
        (
            http::router(state.clone(), Surface::Public),
            Some(http::router(state.clone(), Surface::Admin)),
        )
    } else {
        (http::router(state.clone(), Surface::All), None)
    };
    // Flips to true on shutdown: idle keep-alive connections close, busy ones
    // finish their request first.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);

    // On shutdown the server keeps accepting while sessions close, so a
    // polling client can still fetch its close packet; new sessions get 503.
    let grace = Duration::from_millis(state.config.shutdown_grace_ms);
    let body_timeout = Duration::from_millis(state.config.request_body_timeout_ms);
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    // Polled only once shutdown has begun: the drain ends when the last
    // session is gone or at the deadline, whichever comes first.
    let sessions_closed = state.sessions_closed();
    tokio::pin!(sessions_closed);
    let mut accept_failed = QuietWarning::new();
    let mut at_capacity = QuietWarning::new();
    loop {
        let (stream, remote, on_admin) = tokio::select! {
            _ = &mut shutdown, if drain_deadline.is_none() => {
                tracing::info!(sessions = state.open_sessions(), "shutting down: closing sessions");
                state.begin_shutdown();
                drain_deadline = Some(tokio::time::Instant::now() + grace);
                continue;
            }
            () = &mut sessions_closed, if drain_deadline.is_some() => break,
            () = sleep_until_some(drain_deadline), if drain_deadline.is_some() => break,
            accepted = listeners.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors despite the cap (other files,
                    // the registry): back off instead of spinning, and say so
                    // once in a while, not for every try.
                    if let Some(times) = accept_failed.due() {
                        tracing::warn!(%error, times, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (permit, overflow) = match state.connection_permits.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(_) => match state.overflow_permits.clone().try_acquire_owned() {
                Ok(permit) => (permit, true),
                Err(_) => {
                    state.metrics.connections_refused.inc();
                    if let Some(times) = at_capacity.due() {
                        tracing::warn!(
                            times,
                            max_connections = state.max_connections,
                            "connections refused: the server is at max_connections"
                        );
                    }
                    drop(stream);
                    continue;
                }
            },
        };
        let Ok(slot) = state.addresses.connect(remote.ip()) else {
            drop(stream);
            continue;
        };
        state.metrics.connections_accepted.inc();
        let _ = stream.set_nodelay(true);
        let permit = ConnectionPermit::new(permit, slot);
        let router = match &admin_router {
            Some(admin) if on_admin => admin.clone(),
            _ => public_router.clone(),
        };
        let addresses = state.addresses.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo::<SocketAddr>(remote));
            extensions.insert(permit.clone());
            extensions.insert(addresses.clone());
            if overflow {
                extensions.insert(OverflowConnection);
            }
            router
                .clone()
                .oneshot(request.map(|body| Body::new(DeadlineBody::new(body, body_timeout))))
        });
        let connection = http1
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }

    drop(listeners);
    let deadline =
        drain_deadline.unwrap_or_else(tokio::time::Instant::now) + Duration::from_millis(500);
    let _ = stopping_tx.send(true);
    let connections_closed = async {
        // Overflow connections (probes, the admin API) are open connections too.
        let _all = permits_returned(&state.connection_permits, state.max_connections).await;
        let _overflow = permits_returned(&state.overflow_permits, OVERFLOW_CONNECTIONS).await;
    };
    if tokio::time::timeout_at(deadline, connections_closed)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = state.open_connections(),
            overflow = OVERFLOW_CONNECTIONS - state.overflow_permits.available_permits(),
            "shutdown grace period over; dropping the rest"
        );
    }
    tracing::info!("stopped");
}

/// Sleeps until the deadline, if there is one (else forever).
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Resolves, holding them, once all `total` permits of `permits` are back:
/// no connection holds one any more. Resolves at once when every permit
/// is free, and never if `total` is more than the semaphore was given.
async fn permits_returned(permits: &Semaphore, total: usize) -> Option<SemaphorePermit<'_>> {
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    permits.acquire_many(total).await.ok()
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn permits_returned_waits_for_the_last_connection_and_not_before() {
        let permits = Arc::new(Semaphore::new(3));
        assert!(
            permits_returned(&permits, 3).now_or_never().is_some(),
            "none held"
        );
        let a = permits.clone().try_acquire_owned().unwrap();
        let b = permits.clone().try_acquire_owned().unwrap();
        let mut returned = Box::pin(permits_returned(&permits, 3));
        assert!((&mut returned).now_or_never().is_none());
        drop(a);
        assert!(
            (&mut returned).now_or_never().is_none(),
            "one is still held"
        );
        drop(b);
        let held = (&mut returned).now_or_never().expect("all returned");
        assert_eq!(
            permits.available_permits(),
            0,
            "held while the shutdown finishes"
        );
        drop(held);
        assert_eq!(permits.available_permits(), 3);
    }
}
