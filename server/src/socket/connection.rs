//! The Socket.IO layer of one Engine.IO session: it turns messages into
//! packets and packets into calls to [`crate::dispatch`].

use std::sync::Arc;

use bytes::Bytes;
use eddy_proto::codes::ClientErrorCode;
use eddy_proto::socketio::{self, Assembler, PacketKind, Progress};
use parking_lot::Mutex;

use super::{DisconnectReason, Socket};
use crate::dispatch::{self, Ack};
use crate::session::{CloseReason, OutFrame, Session};
use crate::tenant::App;

pub struct SioLayer {
    app: Arc<App>,
    /// This session's sockets, one per namespace (connecting or connected).
    sockets: Mutex<Vec<Arc<Socket>>>,
}

impl SioLayer {
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            sockets: Mutex::new(Vec::new()),
        }
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.sockets.lock().clone()
    }

    fn socket(&self, nsp: &str) -> Option<Arc<Socket>> {
        self.sockets
            .lock()
            .iter()
            .find(|s| s.namespace().name() == nsp)
            .cloned()
    }

    pub(super) fn forget(&self, socket: &Socket) {
        self.sockets.lock().retain(|s| s.key() != socket.key());
    }

    pub async fn on_text(
        &self,
        session: &Arc<Session>,
        asm: &mut Assembler,
        data: &str,
    ) -> Result<(), CloseReason> {
        match asm.text(data) {
            Ok(Progress::Complete(packet)) => self.on_packet(session, packet).await,
            Ok(Progress::Incomplete { .. }) => Ok(()),
            Err(error) => Err(self.parse_error(session, error)),
        }
    }

    pub async fn on_binary(
        &self,
        session: &Arc<Session>,
        asm: &mut Assembler,
        data: Bytes,
    ) -> Result<(), CloseReason> {
        match asm.binary(data) {
            Ok(Progress::Complete(packet)) => self.on_packet(session, packet).await,
            Ok(Progress::Incomplete { .. }) => Ok(()),
            Err(error) => Err(self.parse_error(session, error)),
        }
    }

    fn parse_error(&self, session: &Session, error: eddy_proto::Error) -> CloseReason {
        self.app.metrics.parse_errors.inc();
        tracing::debug!(app = %self.app.slug, sid = %session.sid, %error, "invalid Socket.IO packet");
        CloseReason::ParseError
    }

    async fn on_packet(
        &self,
        session: &Arc<Session>,
        packet: socketio::Packet<'_>,
    ) -> Result<(), CloseReason> {
        let data = packet.data.as_deref();
        match packet.kind {
            // Connects and disconnects are rare: boxing their futures keeps
            // every connection task small while it idles (see `transport::websocket`).
            PacketKind::Connect => {
                Box::pin(self.connect(session, &packet.nsp, data.unwrap_or("{}"))).await
            }
            PacketKind::Disconnect => {
                if let Some(socket) = self.socket(&packet.nsp)
                    && socket.detach()
                {
                    Box::pin(dispatch::disconnect(
                        &socket,
                        DisconnectReason::ClientNamespaceDisconnect,
                    ))
                    .await;
                }
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                let Some(socket) = self.socket(&packet.nsp).filter(|s| s.is_connected()) else {
                    // Like the reference server: events for a namespace the
                    // client has not joined are dropped.
                    return Ok(());
                };
                let parts = socketio::split_event(data.unwrap_or_default())
                    .map_err(|e| self.parse_error(session, e))?;
                if !socket.allow_event(self.app.limits().max_events_per_second) {
                    self.app.metrics.breach_event_rate.inc();
                    if let Some(id) = packet.id {
                        let error = crate::dispatch::EventError::server(
                            ClientErrorCode::RateLimited,
                            "too many events: slow down (the app's max_events_per_second)",
                        );
                        socket.send_ack(id, &error.to_ack_args(), &[]);
                    }
                    return Ok(());
                }
                let args = format!("[{}]", parts.args);
                dispatch::event(&socket, &parts.name, &args, &packet.attachments, packet.id).await;
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                let (Some(socket), Some(id)) = (self.socket(&packet.nsp), packet.id) else {
                    return Ok(());
                };
                let ack = Ack {
                    args: data.unwrap_or("[]").to_owned(),
                    attachments: packet.attachments,
                };
                if !socket.resolve_ack(id, ack) {
                    self.app.metrics.unknown_acks.inc();
                    tracing::debug!(app = %self.app.slug, id, "ack for an id nobody waits on: ignored");
                }
            }
            // Only servers send CONNECT_ERROR; a client's is meaningless and harmless.
            PacketKind::ConnectError => {}
        }
        Ok(())
    }

    async fn connect(&self, session: &Arc<Session>, nsp_name: &str, auth: &str) {
        // Counted across the cluster (other nodes' counts are up to a second old).
        let max = self.app.limits().max_connections;
        if self.app.cluster_socket_count() as u64 >= max {
            self.app.metrics.breach_connections.inc();
            self.refuse(
                session,
                nsp_name,
                "connection limit reached",
                Some(&format!(
                    "{{\"code\":\"{}\",\"max_connections\":{max}}}",
                    ClientErrorCode::ConnectionLimit.as_str()
                )),
            );
            return;
        }
        if self.socket(nsp_name).is_some() {
            self.refuse(
                session,
                nsp_name,
                "already connected to this namespace",
                None,
            );
            return;
        }
        let Some(nsp) = self.app.namespace(nsp_name) else {
            let max = self.app.limits().max_namespaces;
            self.app.metrics.breach_namespaces.inc();
            self.app.metrics.connects_refused.inc();
            self.refuse(
                session,
                nsp_name,
                "namespace limit reached",
                Some(&format!(
                    "{{\"code\":\"{}\",\"max_namespaces\":{max}}}",
                    ClientErrorCode::NamespaceLimit.as_str()
                )),
            );
            return;
        };
        let socket = Socket::new(self.app.clone(), nsp, session);
        self.sockets.lock().push(socket.clone());
        match dispatch::connect(&socket, auth).await {
            Ok(()) if socket.is_connected() => session.mark_joined(),
            Ok(()) => self.forget(&socket),
            Err(reject) => {
                self.forget(&socket);
                // The socket holds its namespace: let go first, or it stays.
                drop(socket);
                self.app.prune_namespace(nsp_name);
                self.app.metrics.connects_refused.inc();
                self.refuse(session, nsp_name, &reject.message, reject.data.as_deref());
            }
        }
    }

    fn refuse(&self, session: &Session, nsp: &str, message: &str, data: Option<&str>) {
        let mut packet = String::from("4");
        socketio::write_connect_error(&mut packet, nsp, message, data);
        let _ = session.outbox.push(OutFrame::text(packet), &[]);
    }

    /// The session closed: every socket leaves, and its disconnect hook runs.
    pub async fn teardown(&self, reason: CloseReason) {
        self.app.metrics.closed(reason as usize);
        if reason == CloseReason::MessageTooLarge {
            self.app.metrics.breach_payload.inc();
        }
        let sockets = std::mem::take(&mut *self.sockets.lock());
        for socket in sockets {
            if socket.detach() {
                dispatch::disconnect(&socket, DisconnectReason::Session(reason)).await;
            }
            let nsp = socket.namespace().name_arc().clone();
            drop(socket);
            self.app.prune_namespace(&nsp);
        }
    }
}
