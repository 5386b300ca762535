//! Socket.IO sockets: one per (session, namespace), with rooms and acks.
//!
//! A [`Socket`] is created when a client asks to join a namespace and stays
//! invisible until the app's connect hook accepts it. Anything sent to it in
//! the meantime (the hook's own emits, a broadcast to a room it joined) is
//! held and delivered right after the CONNECT reply, so the client never
//! sees an event before it is connected.

mod acks;
mod connection;
mod error;
mod namespace;

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

pub use connection::SioLayer;
pub(crate) use error::{AckError, DisconnectReason, JoinError};
pub(crate) use namespace::Namespace;

use crate::dispatch::{Ack, ConnectReply};
use crate::session::{CloseReason, Layer, OutFrame, PushError, Session};
use crate::tenant::{App, RateLimiter};
use acks::AckTable;

const CONNECTING: u8 = 0;
const CONNECTED: u8 = 1;
const GONE: u8 = 2;

/// Process-unique socket keys, cheaper to hash and compare than ids.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

type HeldPacket = (OutFrame, Vec<Bytes>);

pub struct Socket {
    id: Arc<str>,
    key: u64,
    app: Arc<App>,
    nsp: Arc<Namespace>,
    session: Weak<Session>,
    state: AtomicU8,
    /// Packets sent while the connect hook runs.
    held: Mutex<Vec<HeldPacket>>,
    /// Rooms joined, besides the implicit room named by the socket id.
    rooms: Mutex<Vec<Arc<str>>>,
    acks: Mutex<Option<Box<AckTable>>>,
    data: Mutex<Option<Arc<str>>>,
    /// The app's events-per-second limit, per socket.
    rate: Mutex<RateLimiter>,
    /// When the client asked to join, in milliseconds since the Unix epoch.
    connected_ms: u64,
}

impl Socket {
    pub fn new(app: Arc<App>, nsp: Arc<Namespace>, session: &Arc<Session>) -> Arc<Self> {
        Arc::new(Self {
            id: format!(
                "{}{}",
                app.cluster.socket_id_prefix(),
                crate::session::random_id()
            )
            .into(),
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            app,
            nsp,
            session: Arc::downgrade(session),
            state: AtomicU8::new(CONNECTING),
            held: Mutex::new(Vec::new()),
            rooms: Mutex::new(Vec::new()),
            acks: Mutex::new(None),
            data: Mutex::new(None),
            rate: Mutex::new(RateLimiter::default()),
            connected_ms: crate::session::unix_millis(),
        })
    }

    pub fn connected_ms(&self) -> u64 {
        self.connected_ms
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn key(&self) -> u64 {
        self.key
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.nsp
    }

    pub fn session(&self) -> Option<Arc<Session>> {
        self.session.upgrade()
    }

    pub fn data(&self) -> Option<Arc<str>> {
        self.data.lock().clone()
    }

    /// Replaces the socket's data (the handler's `socket-data.set`; the
    /// host checked it is JSON and bounded).
    pub fn set_data(&self, data: Option<&str>) {
        *self.data.lock() = data.map(Arc::from);
    }

    pub fn is_connected(&self) -> bool {
        self.state.load(Ordering::Acquire) == CONNECTED
    }

    /// Queues one packet for the client. False when it was not queued (the
    /// socket is gone, or its session overflowed and is being closed).
    pub fn send(&self, head: OutFrame, attachments: &[Bytes]) -> bool {
        match self.state.load(Ordering::Acquire) {
            CONNECTED => self.push(head, attachments),
            CONNECTING => {
                let mut held = self.held.lock();
                // Re-check under the lock: `accept` flips the state while holding it.
                match self.state.load(Ordering::Acquire) {
                    CONNECTING => {
                        held.push((head, attachments.to_vec()));
                        true
                    }
                    CONNECTED => {
                        drop(held);
                        self.push(head, attachments)
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn push(&self, head: OutFrame, attachments: &[Bytes]) -> bool {
        let Some(session) = self.session.upgrade() else {
            return false;
        };
        match session.outbox.push(head, attachments) {
            Ok(()) => true,
            Err(PushError::Closed) => false,
            Err(PushError::Full) => {
                if session.close(CloseReason::SlowConsumer) {
                    tracing::info!(app = %self.app.slug, sid = %session.sid, "closing slow consumer: outbox full");
                }
                false
            }
        }
    }

    /// The connect hook accepted: make the socket visible, join its rooms,
    /// send CONNECT, then everything held while the hook ran. False when the
    /// session closed while the hook ran.
    pub fn accept(self: &Arc<Self>, reply: ConnectReply) -> bool {
        if let Some(data) = reply.data {
            *self.data.lock() = Some(data.into());
        }
        for room in &reply.rooms {
            if let Err(refused) = self.join(room) {
                self.app.refused_join(room, refused);
            }
        }
        self.nsp.insert(self.clone());
        self.app
            .cluster
            .namespace_changed(&self.app.slug, self.nsp.name_arc());
        let mut connect = String::with_capacity(40);
        connect.push('4');
        eddy_proto::socketio::write_connect(&mut connect, self.nsp.name(), &self.id);
        // Only the state flip and the flush happen under `held`: `send` takes
        // it while a broadcast holds the namespace's room lock, so no
        // namespace lock may be taken here.
        let mut held = self.held.lock();
        if self.state.load(Ordering::Acquire) != CONNECTING {
            drop(held);
            self.nsp.remove(self);
            self.app
                .cluster
                .namespace_changed(&self.app.slug, self.nsp.name_arc());
            self.leave_all_rooms();
            return false;
        }
        self.push(OutFrame::text(connect), &[]);
        self.state.store(CONNECTED, Ordering::Release);
        self.app.socket_joined();
        for (head, attachments) in held.drain(..) {
            self.push(head, &attachments);
        }
        *held = Vec::new();
        true
    }

    /// The connect hook refused: forget the socket and what it was sent.
    pub fn discard(&self) {
        self.state.store(GONE, Ordering::Release);
        self.held.lock().clear();
        self.leave_all_rooms();
    }

    /// Joins a room, within the app's limits on rooms per socket and on
    /// room names (a socket could otherwise hold unbounded server memory).
    pub fn join(self: &Arc<Self>, room: &str) -> Result<(), JoinError> {
        if room == &*self.id {
            return Ok(());
        }
        let limits = self.app.limits();
        if room.len() as u64 > limits.max_room_name_bytes {
            return Err(JoinError::NameTooLong {
                max: limits.max_room_name_bytes,
            });
        }
        let mut rooms = self.rooms.lock();
        if self.state.load(Ordering::Acquire) == GONE || rooms.iter().any(|r| &**r == room) {
            return Ok(());
        }
        if rooms.len() as u64 >= limits.max_rooms_per_socket {
            return Err(JoinError::TooManyRooms {
                max: limits.max_rooms_per_socket,
            });
        }
        let room: Arc<str> = room.into();
        self.nsp.add_to_room(&room, self);
        self.app
            .cluster
            .room_changed(&self.app.slug, self.nsp.name_arc(), &room);
        rooms.push(room);
        Ok(())
    }

    pub fn leave(&self, room: &str) {
        let mut rooms = self.rooms.lock();
        if let Some(i) = rooms.iter().position(|r| &**r == room) {
            let room = rooms.swap_remove(i);
            self.nsp.remove_from_room(&room, self.key);
            self.app
                .cluster
                .room_changed(&self.app.slug, self.nsp.name_arc(), &room);
        }
    }

    pub fn rooms(&self) -> Vec<String> {
        self.rooms.lock().iter().map(|r| r.to_string()).collect()
    }

    fn leave_all_rooms(&self) {
        let rooms = std::mem::take(&mut *self.rooms.lock());
        for room in rooms {
            self.nsp.remove_from_room(&room, self.key);
            self.app
                .cluster
                .room_changed(&self.app.slug, self.nsp.name_arc(), &room);
        }
    }

    /// Removes the socket from its namespace, rooms and session. True for the
    /// one caller that actually detached it (and so runs the disconnect hook).
    pub fn detach(self: &Arc<Self>) -> bool {
        let previous = self.state.swap(GONE, Ordering::AcqRel);
        if previous == GONE {
            return false;
        }
        self.nsp.remove(self);
        self.app
            .cluster
            .namespace_changed(&self.app.slug, self.nsp.name_arc());
        self.leave_all_rooms();
        // Waiters see their sender dropped: `AckError::Disconnected`.
        self.acks.lock().take();
        if let Some(session) = self.session.upgrade()
            && let Layer::SocketIo(sio) = &session.layer
        {
            sio.forget(self);
        }
        if previous == CONNECTED {
            self.app.socket_left();
        }
        previous == CONNECTED
    }

    /// Takes one event from the socket's allowance of `per_second`.
    pub fn allow_event(&self, per_second: u64) -> bool {
        self.rate
            .lock()
            .allow(per_second, std::time::Instant::now())
    }

    /// Tells the client the server removed it from the namespace.
    pub fn send_disconnect(&self) {
        let mut packet = String::from("4");
        eddy_proto::socketio::write_disconnect(&mut packet, self.nsp.name());
        if let Some(session) = self.session.upgrade() {
            let _ = session.outbox.push(OutFrame::text(packet), &[]);
        }
    }

    pub fn send_ack(&self, id: u64, args: &str, attachments: &[Bytes]) {
        let Some(inner) = eddy_proto::socketio::array_inner(args) else {
            debug_assert!(false, "ack args must be a JSON array: {args}");
            return;
        };
        let mut packet = String::with_capacity(8 + args.len());
        packet.push('4');
        eddy_proto::socketio::write_ack(&mut packet, self.nsp.name(), id, inner, attachments.len());
        self.send(OutFrame::text(packet), attachments);
    }

    /// Emits to this socket and waits for the client's ack.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: &str,
        attachments: &[Bytes],
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let (id, rx) = {
            let mut acks = self.acks.lock();
            if self.state.load(Ordering::Acquire) == GONE {
                return Err(AckError::Disconnected);
            }
            acks.get_or_insert_with(Default::default).register()
        };
        let Some(head) = encode_event(self.nsp.name(), event, Some(id), args, attachments.len())
        else {
            return Err(AckError::Disconnected);
        };
        if !self.send(head, attachments) {
            self.forget_ack(id);
            return Err(AckError::Disconnected);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                self.forget_ack(id);
                Err(AckError::Timeout)
            }
        }
    }

    fn forget_ack(&self, id: u64) {
        if let Some(table) = self.acks.lock().as_mut() {
            table.forget(id);
        }
    }

    /// The client acknowledged a server emit. False for an id nobody waits on.
    pub fn resolve_ack(&self, id: u64, ack: Ack) -> bool {
        self.acks
            .lock()
            .as_mut()
            .is_some_and(|t| t.resolve(id, ack))
    }
}

/// Encodes an EVENT packet (with its Engine.IO `4` prefix) once, for any
/// number of recipients. `None` when `args` is not a JSON array.
pub fn encode_event(
    nsp: &str,
    event: &str,
    id: Option<u64>,
    args: &str,
    attachments: usize,
) -> Option<OutFrame> {
    let inner = eddy_proto::socketio::array_inner(args)?;
    let mut packet = String::with_capacity(16 + nsp.len() + event.len() + args.len());
    packet.push('4');
    eddy_proto::socketio::write_event(&mut packet, nsp, id, event, inner, attachments);
    Some(OutFrame::text(packet))
}
