//! Handlers that are WebAssembly components: the [`Handler`] seam on top
//! of an [`eddy_host::HandlerPool`], and the socket capabilities a
//! component's imports reach (everything scoped to its app).
//!
//! Whatever a component returns is untrusted: JSON it hands back is checked
//! before it reaches a client, and a fault becomes an error for the client
//! (an error ack, a refused connection), never a crash.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use eddy_host::types as wit;
use eddy_host::{CallError, Capabilities, HandlerPool, HostFuture, KvFuture};
use eddy_proto::codes::{ClientErrorCode, tenant_code_refusal};
use eddy_proto::socketio::{args_valid, is_json, placeholders_valid};

use super::context::Scope;
use super::timer::{TimerContext, TimerOutcome};
use super::{
    Ack, ConnectEvent, ConnectReject, ConnectReply, EventError, Handler, HandlerFuture,
    SocketContext, SocketEvent, Target,
};
use crate::session::CloseReason;
use crate::socket::DisconnectReason;

/// Rooms a connect reply may join.
const MAX_REPLY_ROOMS: usize = 64;

pub struct WasmHandler {
    pool: Arc<HandlerPool>,
}

impl WasmHandler {
    pub fn new(pool: Arc<HandlerPool>) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &Arc<HandlerPool> {
        &self.pool
    }

    /// Counts a fault on the app and turns it into what the client sees.
    fn fault(&self, cx: &SocketContext, fault: &CallError) -> EventError {
        fault_of(&self.pool, cx.app(), cx.app_metrics(), fault)
    }
}

/// Counts a fault on the app and turns it into what a client would see.
fn fault_of(
    pool: &HandlerPool,
    app: &str,
    m: &crate::metrics::AppMetrics,
    fault: &CallError,
) -> EventError {
    use eddy_host::GuestFault as G;
    match fault {
        CallError::Guest(guest) => {
            match guest {
                G::Timeout { .. } => m.handler_timeouts.inc(),
                G::MemoryLimit { .. } | G::TenantMemory { .. } => m.handler_memory_faults.inc(),
                G::Trap(_) => m.handler_traps.inc(),
                G::StartTimeout { .. } => m.handler_start_faults.inc(),
                // Refused without running anything: counted when it began.
                G::Faulted { .. } => {}
            }
            if matches!(guest, G::StartTimeout { .. }) {
                // Once per failed start (later calls get `Faulted`), so
                // the operator sees an app that faulted, not every event.
                tracing::warn!(
                    %app,
                    error = %guest,
                    retry_in_ms = pool.faulted_for().map(|d| d.as_millis() as u64),
                    "handler start-up failed; the app is faulted"
                );
            }
            let code = match guest {
                G::Timeout { .. } => ClientErrorCode::HandlerTimeout,
                G::MemoryLimit { .. } | G::TenantMemory { .. } => {
                    ClientErrorCode::HandlerMemoryLimit
                }
                G::Trap(_) => ClientErrorCode::HandlerTrap,
                G::StartTimeout { .. } => ClientErrorCode::HandlerStartTimeout,
                // What clients of an app that cannot run get (as with no deployment).
                G::Faulted { .. } => ClientErrorCode::AppUnavailable,
            };
            EventError::server(code, guest.to_string())
        }
        CallError::Host(host) => {
            m.handler_host_faults.inc();
            tracing::error!(%app, error = %host, "handler host fault");
            EventError::server(
                ClientErrorCode::ServerError,
                "the server could not run the handler",
            )
        }
    }
}

fn socket_info(cx: &SocketContext) -> wit::SocketInfo {
    wit::SocketInfo {
        app: cx.app().to_owned(),
        namespace: cx.namespace().to_owned(),
        socket: cx.socket_id().to_owned(),
        data: cx.socket_data().map(|d| d.to_string()),
    }
}

/// Why the `code` of a connect refusal's data may not be sent, if it may not
/// (the same rule as error acks: `eddy_proto::codes`).
fn refused_code(data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    tenant_code_refusal(value.get("code")?.as_str()?)
}

/// A reply that breaks the contract: the client gets `handler_invalid_reply`
/// and the app's log says what was wrong.
fn invalid(cx: &SocketContext, what: &str) -> EventError {
    let e = EventError::server(
        ClientErrorCode::HandlerInvalidReply,
        format!("the handler returned {what}"),
    );
    cx.app_log(wit::Level::Error, &e.message);
    e
}

impl Handler for WasmHandler {
    fn describe(&self) -> String {
        format!("wasm:{}", &self.pool.content_hash()[..12])
    }

    fn footprint(&self) -> super::Footprint {
        super::Footprint {
            memory_bytes: self.pool.stats.memory_bytes.load(Ordering::Relaxed),
            idle_instances: self.pool.idle_instances(),
            faulted_for_ms: self.pool.faulted_for().map(|d| d.as_millis() as u64),
        }
    }

    fn on_connect<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        event: ConnectEvent<'a>,
    ) -> HandlerFuture<'a, Result<ConnectReply, ConnectReject>> {
        Box::pin(async move {
            let hs = event.handshake;
            let handshake = wit::Handshake {
                auth: event.auth.to_owned(),
                query: hs.query.clone(),
                headers: hs.headers.clone(),
                address: hs.remote.map(|a| a.to_string()),
                issued_ms: hs.issued_ms,
            };
            let caps: Arc<dyn Capabilities> = cx.clone();
            match self
                .pool
                .on_connect(caps, &socket_info(cx), &handshake)
                .await
            {
                Ok(Ok(reply)) => {
                    let max_data = eddy_host::MAX_SOCKET_DATA_BYTES.min(
                        usize::try_from(cx.app_ref().limits().max_payload).unwrap_or(usize::MAX),
                    );
                    if reply.rooms.len() > MAX_REPLY_ROOMS
                        || reply
                            .data
                            .as_deref()
                            .is_some_and(|d| d.len() > max_data || !is_json(d))
                    {
                        let e = invalid(
                            cx,
                            &format!(
                                "an invalid connect reply (data must be JSON of at most {max_data} bytes, at most 64 rooms)"
                            ),
                        );
                        return Err(ConnectReject::new(e.message));
                    }
                    Ok(ConnectReply {
                        rooms: reply.rooms,
                        data: reply.data,
                    })
                }
                Ok(Err(reject)) => {
                    let data = reject.data.filter(|d| is_json(d));
                    if let Some(refusal) = data.as_deref().and_then(refused_code) {
                        let e = invalid(
                            cx,
                            &format!(
                                "a connect refusal whose data breaks the code rule: {refusal}"
                            ),
                        );
                        return Err(ConnectReject::handler_failed(&e));
                    }
                    Err(ConnectReject {
                        message: reject.message,
                        data,
                    })
                }
                Err(fault) => Err(ConnectReject::handler_failed(&self.fault(cx, &fault))),
            }
        })
    }

    fn on_event<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        event: SocketEvent<'a>,
    ) -> HandlerFuture<'a, Result<Option<Ack>, EventError>> {
        Box::pin(async move {
            let call = wit::Event {
                name: event.name.to_owned(),
                args: event.args.to_owned(),
                attachments: event.attachments.iter().map(|a| a.to_vec()).collect(),
                wants_ack: event.wants_ack,
            };
            let caps: Arc<dyn Capabilities> = cx.clone();
            match self.pool.on_event(caps, &socket_info(cx), &call).await {
                Ok(Ok(None)) => Ok(None),
                Ok(Ok(Some(ack))) if args_valid(&ack.args, ack.attachments.len()) => {
                    Ok(Some(Ack {
                        args: ack.args,
                        attachments: ack.attachments.into_iter().map(Bytes::from).collect(),
                    }))
                }
                Ok(Ok(Some(_))) => Err(invalid(
                    cx,
                    "ack arguments that are not a JSON array, or a placeholder past its attachments",
                )),
                Ok(Err(e)) => match tenant_code_refusal(&e.code) {
                    None => Err(EventError {
                        code: e.code.into(),
                        message: e.message,
                    }),
                    Some(refusal) => Err(invalid(
                        cx,
                        &format!("an error ack that breaks the code rule: {refusal}"),
                    )),
                },
                Err(fault) => Err(self.fault(cx, &fault)),
            }
        })
    }

    fn on_timer<'a>(
        &'a self,
        cx: &'a Arc<TimerContext>,
        timer: &'a eddy_store::DueTimer,
    ) -> HandlerFuture<'a, TimerOutcome> {
        Box::pin(async move {
            let app = cx.app_ref();
            let call = wit::Timer {
                app: app.slug.to_string(),
                namespace: timer.namespace.clone(),
                key: timer.key.clone(),
                payload: String::from_utf8_lossy(&timer.payload).into_owned(),
                due_ms: u64::try_from(timer.due_at).unwrap_or(0),
            };
            let caps: Arc<dyn Capabilities> = cx.clone();
            use eddy_host::GuestFault as G;
            match self.pool.on_timer(caps, &call).await {
                Ok(true) => TimerOutcome::Fired,
                Ok(false) => TimerOutcome::NoHook(format!(
                    "the live version was built against contract {}, which has no on-timer",
                    self.pool.contract().version()
                )),
                // The hook never ran: the app is faulted, or its start failed.
                Err(CallError::Guest(G::Faulted { retry_in_ms })) => TimerOutcome::Unavailable {
                    why: "the app is faulted (its handler's start-up failed)".into(),
                    retry_in: Duration::from_millis(retry_in_ms.max(1_000)),
                },
                Err(
                    fault @ (CallError::Guest(G::StartTimeout { .. } | G::TenantMemory { .. })
                    | CallError::Host(_)),
                ) => {
                    let e = fault_of(&self.pool, &app.slug, &app.metrics, &fault);
                    // The tenant's other instances hold its memory: not this
                    // hook's doing, and over as soon as calls end.
                    let soon = matches!(fault, CallError::Guest(G::TenantMemory { .. }));
                    TimerOutcome::Unavailable {
                        why: e.message,
                        retry_in: Duration::from_secs(if soon { 1 } else { 5 }),
                    }
                }
                Err(fault) => {
                    let e = fault_of(&self.pool, &app.slug, &app.metrics, &fault);
                    TimerOutcome::Faulted(e.message)
                }
            }
        })
    }

    fn on_disconnect<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        reason: DisconnectReason,
    ) -> HandlerFuture<'a, ()> {
        Box::pin(async move {
            let caps: Arc<dyn Capabilities> = cx.clone();
            if let Err(fault) = self
                .pool
                .on_disconnect(caps, &socket_info(cx), wit_reason(reason))
                .await
            {
                self.fault(cx, &fault);
            }
        })
    }
}

fn wit_reason(reason: DisconnectReason) -> wit::DisconnectReason {
    use wit::DisconnectReason as W;
    match reason {
        DisconnectReason::ClientNamespaceDisconnect => W::ClientNamespaceDisconnect,
        DisconnectReason::ServerNamespaceDisconnect => W::ServerNamespaceDisconnect,
        DisconnectReason::Session(close) => match close {
            CloseReason::TransportClose => W::TransportClose,
            CloseReason::TransportError => W::TransportError,
            CloseReason::PingTimeout => W::PingTimeout,
            CloseReason::ParseError | CloseReason::InvalidUtf8 => W::ParseError,
            CloseReason::MessageTooLarge => W::MessageTooLarge,
            CloseReason::SlowConsumer => W::SlowConsumer,
            CloseReason::ConnectTimeout => W::ConnectTimeout,
            CloseReason::ServerShuttingDown => W::ServerShuttingDown,
            CloseReason::ForcedServerClose => W::ForcedServerClose,
        },
    }
}

/// The imports of a component land here: [`SocketContext`] for a socket's
/// hooks, [`TimerContext`] for a timer's. Both reach one namespace of one
/// app through a [`Scope`](super::context::Scope), so the two impls are one.
macro_rules! hook_capabilities {
    ($context:ty) => {
        impl Capabilities for $context {
            fn emit(
                &self,
                to: &wit::Target,
                event: &str,
                args: &str,
                attachments: &[Vec<u8>],
            ) -> Result<u32, wit::EmitError> {
                emit(&self.scope(), to, event, args, attachments)
            }

            fn join(&self, socket: &str, room: &str) -> bool {
                self.scope().join(socket, room)
            }

            fn leave(&self, socket: &str, room: &str) -> bool {
                self.scope().leave(socket, room)
            }

            fn disconnect(&self, socket: &str) -> bool {
                <$context>::disconnect(self, socket)
            }

            fn room_size(&self, room: &str) -> u32 {
                u32::try_from(self.scope().room_size(room)).unwrap_or(u32::MAX)
            }

            fn room_members(&self, room: &str) -> Vec<String> {
                self.scope().room_members(room)
            }

            fn kv_get<'a>(&'a self, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
                Box::pin(async move { self.app_ref().kv.get(key).await })
            }

            fn kv_set<'a>(
                &'a self,
                key: &'a str,
                value: Vec<u8>,
                ttl_ms: Option<u64>,
            ) -> KvFuture<'a, ()> {
                Box::pin(async move {
                    let app = self.app_ref();
                    let quota = app.limits().kv_quota_bytes;
                    counted(app, app.kv.set(key, value, ttl_ms, quota).await)
                })
            }

            fn kv_delete<'a>(&'a self, key: &'a str) -> KvFuture<'a, bool> {
                Box::pin(async move { self.app_ref().kv.delete(key).await })
            }

            fn kv_increment<'a>(&'a self, key: &'a str, delta: i64) -> KvFuture<'a, i64> {
                Box::pin(async move {
                    let app = self.app_ref();
                    let quota = app.limits().kv_quota_bytes;
                    counted(app, app.kv.increment(key, delta, quota).await)
                })
            }

            fn kv_list<'a>(
                &'a self,
                prefix: &'a str,
                start_after: Option<&'a str>,
                limit: u32,
            ) -> KvFuture<'a, Vec<wit::KvEntry>> {
                Box::pin(async move {
                    let app = self.app_ref();
                    let max_bytes = app.limits().max_payload;
                    app.kv.list((prefix, start_after), limit, max_bytes).await
                })
            }

            fn kv_compare_and_swap<'a>(
                &'a self,
                key: &'a str,
                expected: Option<Vec<u8>>,
                new: Option<Vec<u8>>,
            ) -> KvFuture<'a, bool> {
                Box::pin(async move {
                    let app = self.app_ref();
                    let quota = app.limits().kv_quota_bytes;
                    let swapped = app
                        .kv
                        .compare_and_swap(key, expected.as_deref(), new.as_deref(), quota)
                        .await;
                    counted(app, swapped)
                })
            }

            fn kv_batch<'a>(&'a self, ops: Vec<wit::KvOp>) -> KvFuture<'a, Vec<wit::KvOpResult>> {
                Box::pin(async move {
                    let app = self.app_ref();
                    let quota = app.limits().kv_quota_bytes;
                    counted(app, app.kv.batch(ops, quota).await)
                })
            }

            fn timer_set<'a>(
                &'a self,
                key: &'a str,
                delay_ms: u64,
                payload: String,
            ) -> HostFuture<'a, (), wit::TimerError> {
                Box::pin(async move {
                    let app = self.app_ref();
                    let namespace = self.scope().namespace_name();
                    let max = app.limits().max_timers;
                    let set = app.timers.set((namespace, key), delay_ms, &payload, max).await;
                    if let Err(wit::TimerError::TooMany(max)) = &set {
                        app.metrics.breach_max_timers.inc();
                        app.log.write(
                            wit::Level::Warn,
                            &format!("timer {key:?} refused: the app has {max} timers pending (max_timers)"),
                        );
                    }
                    set
                })
            }

            fn timer_cancel<'a>(&'a self, key: &'a str) -> HostFuture<'a, bool, wit::TimerError> {
                Box::pin(async move { self.app_ref().timers.cancel(key).await })
            }

            fn config_get<'a>(
                &'a self,
                name: &'a str,
            ) -> HostFuture<'a, Option<String>, wit::ConfigError> {
                Box::pin(async move { config_value(self.app_ref(), name).await })
            }

            fn socket_data(&self, socket: &str) -> Option<String> {
                let data = self.scope().resolve(socket)?.data()?;
                Some(data.to_string())
            }

            fn set_socket_data(
                &self,
                socket: &str,
                data: Option<String>,
            ) -> Result<(), wit::DataError> {
                let socket = self
                    .scope()
                    .resolve(socket)
                    .ok_or(wit::DataError::NoSuchSocket)?;
                socket.set_data(data.as_deref());
                Ok(())
            }

            fn log(&self, level: wit::Level, message: &str) {
                self.app_ref().log.write(level, message);
            }
        }
    };
}

hook_capabilities!(SocketContext);
hook_capabilities!(TimerContext);

/// An emit from a hook, to sockets of its scope.
fn emit(
    scope: &Scope<'_>,
    to: &wit::Target,
    event: &str,
    args: &str,
    attachments: &[Vec<u8>],
) -> Result<u32, wit::EmitError> {
    // The host checked that `args` is a JSON array; a placeholder past the
    // attachments would make every receiving client disconnect.
    if !placeholders_valid(args, attachments.len()) {
        return Err(wit::EmitError::InvalidArgs);
    }
    let attachments: Vec<Bytes> = attachments
        .iter()
        .map(|a| Bytes::copy_from_slice(a))
        .collect();
    let delivered = match to {
        wit::Target::Socket(id) => scope.emit(Target::Socket(id), event, args, &attachments),
        wit::Target::RoomsExcept((rooms, except)) => {
            let rooms: Vec<&str> = rooms.iter().map(String::as_str).collect();
            let except: Vec<&str> = except.iter().map(String::as_str).collect();
            scope.emit(
                Target::Rooms {
                    rooms: &rooms,
                    except: &except,
                },
                event,
                args,
                &attachments,
            )
        }
        wit::Target::NamespaceExcept(except) => {
            let except: Vec<&str> = except.iter().map(String::as_str).collect();
            scope.emit(
                Target::Namespace { except: &except },
                event,
                args,
                &attachments,
            )
        }
    };
    Ok(u32::try_from(delivered).unwrap_or(u32::MAX))
}

/// The app's config value `name`, for `config.get`.
async fn config_value(
    app: &crate::tenant::App,
    name: &str,
) -> Result<Option<String>, wit::ConfigError> {
    use crate::tenant::config::ConfigReadError;
    app.config.get(name).await.map_err(|e| match e {
        ConfigReadError::SecretUnavailable => wit::ConfigError::SecretUnavailable,
        ConfigReadError::Unavailable(why) => wit::ConfigError::Unavailable(why),
    })
}

/// A key-value outcome, with a refusal by quota counted on the app.
fn counted<T>(
    app: &crate::tenant::App,
    outcome: Result<T, wit::KvError>,
) -> Result<T, wit::KvError> {
    if matches!(outcome, Err(wit::KvError::QuotaExceeded)) {
        app.metrics.breach_kv_quota.inc();
    }
    outcome
}

impl SocketContext {
    fn app_log(&self, level: wit::Level, message: &str) {
        self.app_ref().log.write(level, message);
    }

    fn app_metrics(&self) -> &crate::metrics::AppMetrics {
        &self.app_ref().metrics
    }
}
