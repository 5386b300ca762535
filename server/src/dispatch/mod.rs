//! Dispatch: a Socket.IO event → the app's [`Handler`] → its reply applied.
//!
//! [`Handler`] is the seam between the data plane and tenant logic. The
//! handler gets a [`SocketContext`] with the capabilities it may use (emit,
//! join, leave, disconnect, room queries), all scoped to its own app; its
//! effects are applied while it runs, and its reply (accept or refuse a
//! connection, an ack) is applied here when it returns.

mod context;
mod echo;
mod events;
pub(crate) mod fanout;
mod timer;
mod unavailable;
mod wasm;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

pub use context::{SocketContext, Target};
pub(crate) use echo::EchoHandler;
pub(crate) use events::{Ack, ConnectEvent, ConnectReject, EventError};
pub use events::{ConnectReply, SocketEvent};
pub(crate) use timer::{TimerContext, TimerOutcome};
pub(crate) use unavailable::UnavailableHandler;
pub use wasm::WasmHandler;

use crate::config::BuiltinHandler;
use crate::socket::{DisconnectReason, Socket};

/// A boxed handler future: the seam is dynamic so an app's handler can be
/// swapped at runtime without the data plane knowing its type.
pub(crate) type HandlerFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An app's event logic. Implementations must be cheap to call concurrently:
/// events of one socket arrive in order, events of different sockets may
/// run in parallel.
pub trait Handler: Send + Sync + 'static {
    /// A short description for logs and metrics (`echo`, `wasm:chat@3`).
    fn describe(&self) -> String;

    /// A client asks to join a namespace: accept (optionally joining rooms)
    /// or refuse with a message the client sees in `connect_error`.
    fn on_connect<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        event: ConnectEvent<'a>,
    ) -> HandlerFuture<'a, Result<ConnectReply, ConnectReject>>;

    /// An event from the client. The returned ack is sent when the client
    /// asked for one.
    fn on_event<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        event: SocketEvent<'a>,
    ) -> HandlerFuture<'a, Result<Option<Ack>, EventError>>;

    /// The socket left, after every event of it was handled. Best effort.
    fn on_disconnect<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        reason: DisconnectReason,
    ) -> HandlerFuture<'a, ()>;

    /// One of the app's timers fell due (contract 0.2). A handler that is
    /// not a component (none deployed, a version that failed to load)
    /// cannot run it now: it is tried again later.
    fn on_timer<'a>(
        &'a self,
        cx: &'a Arc<TimerContext>,
        timer: &'a eddy_store::DueTimer,
    ) -> HandlerFuture<'a, TimerOutcome> {
        let _ = (cx, timer);
        Box::pin(async move {
            TimerOutcome::Unavailable {
                why: format!("the app cannot run handlers here now ({})", self.describe()),
                retry_in: std::time::Duration::from_secs(5),
            }
        })
    }

    /// What running the handler holds now (for the dashboard); native
    /// handlers hold nothing of their own.
    fn footprint(&self) -> Footprint {
        Footprint::default()
    }
}

/// Resources a handler holds, for observability.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Guest linear memory across its instances.
    pub memory_bytes: u64,
    /// Instances warm and waiting for a call.
    pub idle_instances: usize,
    /// While new instances are refused after a failed start-up: for how
    /// much longer, in milliseconds.
    pub faulted_for_ms: Option<u64>,
}

/// The handler of a built-in native handler named in the config.
pub fn builtin(handler: BuiltinHandler) -> Arc<dyn Handler> {
    match handler {
        BuiltinHandler::Echo => Arc::new(EchoHandler),
    }
}

/// Runs the connect hook for a socket that is not yet visible to anyone;
/// on acceptance it joins the namespace and the client gets its CONNECT.
pub(crate) async fn connect(socket: &Arc<Socket>, auth: &str) -> Result<(), ConnectReject> {
    let app = socket.app();
    let handler = app.handler();
    let cx = Arc::new(SocketContext::new(socket.clone()));
    let handshake = socket
        .session()
        .map(|s| s.handshake.clone())
        .unwrap_or_default();
    let event = ConnectEvent {
        namespace: socket.namespace().name(),
        auth,
        handshake: &handshake,
    };
    match handler.on_connect(&cx, event).await {
        Ok(reply) => {
            if socket.accept(reply) {
                app.metrics.connects.inc();
                cx.apply_deferred().await;
            }
            Ok(())
        }
        Err(reject) => {
            socket.discard();
            Err(reject)
        }
    }
}

/// The server disconnects a socket (an admin or the tenant's backend asked):
/// the client gets DISCONNECT, then the app's disconnect hook runs.
pub(crate) fn disconnect_by_server(target: Arc<Socket>) {
    if target.detach() {
        target.send_disconnect();
        tokio::spawn(async move {
            disconnect(&target, DisconnectReason::ServerNamespaceDisconnect).await;
        });
    }
}

/// Runs the event hook and sends its ack (or its error as an ack).
pub(crate) async fn event(
    socket: &Arc<Socket>,
    name: &str,
    args: &str,
    attachments: &[Bytes],
    ack_id: Option<u64>,
) {
    let app = socket.app();
    app.metrics.events_in.inc();
    let handler = app.handler();
    let cx = Arc::new(SocketContext::new(socket.clone()));
    let event = SocketEvent {
        name,
        args,
        attachments,
        wants_ack: ack_id.is_some(),
    };
    let started = std::time::Instant::now();
    let reply = handler.on_event(&cx, event).await;
    let took = started.elapsed();
    app.metrics.handler_latency.record(took);
    app.metrics.handler_nanos.add(took.as_nanos() as u64);
    match (reply, ack_id) {
        (Ok(Some(ack)), Some(id)) => socket.send_ack(id, &ack.args, &ack.attachments),
        (Ok(_), _) => {}
        (Err(error), Some(id)) => {
            app.metrics.handler_errors.inc();
            tracing::debug!(app = %app.slug, event = name, code = %error.code, message = %error.message, "handler error");
            socket.send_ack(id, &error.to_ack_args(), &[]);
        }
        // No ack to carry it to the client: the server's log is all that
        // will tell anyone.
        (Err(error), None) => {
            app.metrics.handler_errors.inc();
            app.log.unacked_error(name, &error.code, &error.message);
        }
    }
    cx.apply_deferred().await;
}

/// Runs the disconnect hook of a socket that has been detached.
pub(crate) async fn disconnect(socket: &Arc<Socket>, reason: DisconnectReason) {
    let handler = socket.app().handler();
    let cx = Arc::new(SocketContext::new(socket.clone()));
    handler.on_disconnect(&cx, reason).await;
}
