//! The accept loop and graceful shutdown.
//!
//! `run` takes a bound listener and a shutdown future (as in mini-redis),
//! so tests bind port 0 and stop the server when they like. A semaphore caps
//! open connections (never above what the open-files limit allows), one
//! client address may hold only so many, and upgraded websockets keep their
//! permit for their life. When the cap is reached a few overflow
//! connections are still served, for probes and the admin API only: a full
//! server still answers `/healthz`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::http;
use crate::state::ServerState;
use crate::transport::{ConnectionPermit, DeadlineBody, OverflowConnection};

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

pub async fn run(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) {
    let router = http::router(state.clone());
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
    let mut accept_failed = QuietWarning::new();
    let mut at_capacity = QuietWarning::new();
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown, if drain_deadline.is_none() => {
                tracing::info!(sessions = state.open_sessions(), "shutting down: closing sessions");
                state.begin_shutdown();
                drain_deadline = Some(tokio::time::Instant::now() + grace);
                continue;
            }
            _ = tokio::time::sleep(Duration::from_millis(10)), if drain_deadline.is_some() => {
                if state.open_sessions() == 0 || drain_deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    break;
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
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
        let router = router.clone();
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

    drop(listener);
    let deadline =
        drain_deadline.unwrap_or_else(tokio::time::Instant::now) + Duration::from_millis(500);
    let _ = stopping_tx.send(true);
    while state.open_connections() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if state.open_connections() > 0 {
        tracing::warn!(
            connections = state.open_connections(),
            "shutdown grace period over; dropping the rest"
        );
    }
    tracing::info!("stopped");
}
