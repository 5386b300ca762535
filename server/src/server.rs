//! The accept loop and graceful shutdown.
//!
//! `run` takes a bound listener and a shutdown future (as in mini-redis),
//! so tests bind port 0 and stop the server when they like. A semaphore caps
//! open connections; upgraded websockets keep their permit for their life.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;
use tower::ServiceExt;

use crate::http::{self, ServerState};

/// Held by a client connection for as long as it is open (including after a
/// websocket upgrade, which outlives the HTTP connection).
#[derive(Clone)]
pub struct ConnectionPermit(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// Time a client has to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    let mut drain_deadline: Option<tokio::time::Instant> = None;
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
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = state.connection_permits.clone().try_acquire_owned() else {
            state.metrics.connections_refused.inc();
            drop(stream);
            continue;
        };
        state.metrics.connections_accepted.inc();
        let _ = stream.set_nodelay(true);
        let permit = ConnectionPermit(Arc::new(permit));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            request.extensions_mut().insert(permit.clone());
            router.clone().oneshot(request.map(Body::new))
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
