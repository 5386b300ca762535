//! Engine.IO sessions: one per connected client, whatever its transport.
//!
//! A session owns the bounded [`Outbox`], the heartbeat, the polling →
//! websocket upgrade state and the close reason. What runs on top of it is
//! its [`Layer`]: Socket.IO for an app, or the diagnostics echo. Inbound
//! messages are processed by whoever holds the session's inbound token (the
//! websocket task, or one polling POST at a time), which keeps a client's
//! events in order without holding any lock that others wait on.

mod close;
mod driver;
mod engine;
mod handshake;
pub(crate) mod heartbeat;
pub(crate) mod outbox;
mod settings;
mod table;

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::metrics::Traffic;
use crate::socket::SioLayer;
pub(crate) use close::CloseReason;
pub(crate) use driver::drive_polling;
pub(crate) use engine::{on_binary, on_packet, on_text};
pub use handshake::HandshakeInfo;
pub(crate) use handshake::{HANDSHAKE_HEADERS, unix_millis};
pub(crate) use heartbeat::{Beat, Heartbeat, HeartbeatSettings};
pub(crate) use outbox::{OutFrame, Outbox, OutboxLimits, PushError};
pub use settings::EngineSettings;
pub(crate) use table::SessionTable;

/// Resolves at once if `done()` holds, else at the next `notify_waiters` on
/// `notify` (its holder calls it when `done` becomes true). The waiter
/// registers before it checks, so a change between the two still wakes it.
async fn notified_once(notify: &Notify, done: impl Fn() -> bool) {
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    if done() {
        return;
    }
    notified.await;
}

/// How long a closed polling session waits for the client to collect its
/// close packet before it is forgotten.
const POLLING_FAREWELL_WAIT: Duration = Duration::from_secs(1);

/// What runs on top of the Engine.IO session.
pub enum Layer {
    SocketIo(SioLayer),
    /// Diagnostics: every message is sent back unchanged.
    Echo,
}

/// Per-session inbound state, owned by whoever holds the inbound token.
pub(crate) enum Inbound {
    SocketIo(eddy_proto::socketio::Assembler),
    Echo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Polling = 0,
    WebSocket = 1,
}

pub struct Session {
    pub sid: Arc<str>,
    pub layer: Layer,
    pub outbox: Outbox,
    pub handshake: HandshakeInfo,
    pub settings: Arc<EngineSettings>,
    /// The endpoint's byte counters (shared by its sessions).
    pub traffic: Arc<Traffic>,
    table: Weak<SessionTable>,
    transport: AtomicU8,
    upgrading: AtomicBool,
    reason: OnceLock<CloseReason>,
    closed: Notify,
    /// Wakes the polling driver: a pong arrived, a namespace was joined, the
    /// session upgraded or closed.
    wake: Notify,
    pong: AtomicBool,
    joined: AtomicBool,
    /// A long-poll collected the pending ping (for the driver's heartbeat).
    ping_delivered: AtomicBool,
    /// Releases a pending polling GET with a noop (an upgrade is under way).
    release_poll: Notify,
    created: Instant,
    /// When the heartbeat gives up on the client, in ms after `created`
    /// (see [`Session::ping_overdue`]).
    expires_ms: AtomicU64,
    /// The inbound token. An async mutex on purpose: its holder awaits
    /// handlers while holding it, and it is never contended on the hot path
    /// (a second holder is an overlapping request, which is refused).
    pub(crate) inbound: tokio::sync::Mutex<Inbound>,
    /// The outbox consumer token: one polling GET at a time, or the websocket task.
    pub(crate) consumer: tokio::sync::Mutex<()>,
}

impl Session {
    pub fn new(
        layer: Layer,
        transport: Transport,
        handshake: HandshakeInfo,
        settings: Arc<EngineSettings>,
        table: &Arc<SessionTable>,
    ) -> Arc<Self> {
        let inbound = match &layer {
            Layer::SocketIo(_) => Inbound::SocketIo(eddy_proto::socketio::Assembler::new(
                settings.max_attachments,
            )),
            Layer::Echo => Inbound::Echo,
        };
        let expires_ms = (settings.ping_interval + settings.ping_timeout).as_millis() as u64;
        let session = Arc::new(Self {
            sid: random_id(),
            layer,
            outbox: Outbox::new(settings.outbox),
            handshake,
            settings,
            traffic: table.traffic.clone(),
            table: Arc::downgrade(table),
            transport: AtomicU8::new(transport as u8),
            upgrading: AtomicBool::new(false),
            reason: OnceLock::new(),
            closed: Notify::new(),
            wake: Notify::new(),
            pong: AtomicBool::new(false),
            joined: AtomicBool::new(false),
            ping_delivered: AtomicBool::new(false),
            release_poll: Notify::new(),
            created: Instant::now(),
            expires_ms: AtomicU64::new(expires_ms),
            inbound: tokio::sync::Mutex::new(inbound),
            consumer: tokio::sync::Mutex::new(()),
        });
        table.insert(session.clone());
        session
    }

    /// The `open` packet for this session.
    pub fn open_packet(&self) -> String {
        let upgrades: &[&str] = match self.transport() {
            Transport::Polling => &["websocket"],
            Transport::WebSocket => &[],
        };
        eddy_proto::engine::encode_open(&eddy_proto::engine::Handshake {
            sid: &self.sid,
            upgrades,
            ping_interval_ms: self.settings.ping_interval.as_millis() as u64,
            ping_timeout_ms: self.settings.ping_timeout.as_millis() as u64,
            max_payload: self.settings.max_payload as u64,
        })
    }

    pub fn heartbeat_settings(&self) -> HeartbeatSettings {
        HeartbeatSettings {
            ping_interval: self.settings.ping_interval,
            ping_timeout: self.settings.ping_timeout,
            connect_timeout: match self.layer {
                Layer::SocketIo(_) => Some(self.settings.connect_timeout),
                Layer::Echo => None,
            },
        }
    }

    pub fn transport(&self) -> Transport {
        match self.transport.load(Ordering::Acquire) {
            0 => Transport::Polling,
            _ => Transport::WebSocket,
        }
    }

    /// Claims the right to upgrade this polling session; false when it is not
    /// polling or another upgrade is under way.
    pub fn begin_upgrade(&self) -> bool {
        self.transport() == Transport::Polling
            && !self.is_closed()
            && self
                .upgrading
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// True while a websocket is probing to take this polling session over.
    pub fn is_upgrading(&self) -> bool {
        self.upgrading.load(Ordering::Acquire)
    }

    pub fn abort_upgrade(&self) {
        self.upgrading.store(false, Ordering::Release);
    }

    /// Switches to websocket: polling requests are refused from now on, a
    /// pending GET is released with a noop, and the polling driver hands over.
    pub fn complete_upgrade(&self) {
        self.transport
            .store(Transport::WebSocket as u8, Ordering::Release);
        self.upgrading.store(false, Ordering::Release);
        self.release_poll();
        self.wake.notify_one();
    }

    /// Answers a pending polling GET with a noop, as the reference server
    /// does during an upgrade. The noop goes to that GET only, never into the
    /// outbox: on the new transport nothing but real packets may follow.
    pub fn release_poll(&self) {
        self.release_poll.notify_waiters();
    }

    /// Resolves when [`Session::release_poll`] is called after this started.
    pub(crate) async fn poll_released(&self) {
        self.release_poll.notified().await;
    }

    /// Records when the heartbeat will give up on the client.
    /// (It only moves forward: a pong or a delivered ping may have moved it
    /// further already.)
    pub(crate) fn set_expiry(&self, at: Instant) {
        let ms = at.saturating_duration_since(self.created).as_millis() as u64;
        self.expires_ms.fetch_max(ms, Ordering::AcqRel);
    }

    /// True when the client missed its pong deadline, even if the driver
    /// (late on a busy machine) has not closed the session yet. Requests
    /// check this on arrival: a session past its deadline no longer exists.
    pub fn ping_overdue(&self, now: Instant) -> bool {
        let expires = self.created + Duration::from_millis(self.expires_ms.load(Ordering::Acquire));
        now >= expires && !self.pong.load(Ordering::Acquire)
    }

    pub fn on_pong(&self) {
        // The deadline moves before the flag is seen, so no request finds
        // the old deadline with the pong already taken.
        self.set_expiry(Instant::now() + self.settings.ping_interval + self.settings.ping_timeout);
        self.pong.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// A long-poll handed the client its ping: it has a whole ping timeout
    /// from now to answer, however late the ping was sent.
    pub fn on_ping_delivered(&self) {
        self.set_expiry(Instant::now() + self.settings.ping_timeout);
        self.ping_delivered.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// True once since the last call if a long-poll delivered the ping.
    pub fn take_ping_delivered(&self) -> bool {
        self.ping_delivered.swap(false, Ordering::AcqRel)
    }

    /// True once since the last call if a pong arrived.
    pub fn take_pong(&self) -> bool {
        self.pong.swap(false, Ordering::AcqRel)
    }

    pub fn mark_joined(&self) {
        if !self.joined.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    pub fn has_joined(&self) -> bool {
        self.joined.load(Ordering::Acquire)
    }

    /// Starts closing the session; the first reason wins. The session's
    /// driver does the teardown (disconnect hooks, table removal).
    pub fn close(&self, reason: CloseReason) -> bool {
        if self.reason.set(reason).is_err() {
            return false;
        }
        if self.transport() == Transport::Polling
            && let Some(frame) = reason.polling_farewell()
        {
            self.outbox.push_control(frame);
        }
        self.outbox.close();
        self.closed.notify_waiters();
        self.wake.notify_one();
        true
    }

    pub fn is_closed(&self) -> bool {
        self.reason.get().is_some()
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.reason.get().copied()
    }

    /// Resolves once [`Session::close`] has been called.
    pub async fn closed(&self) {
        let notified = self.closed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closed() {
            return;
        }
        notified.await;
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Runs the layer's teardown (disconnect hooks) and forgets the session.
    /// Call with the inbound token held, so it runs after every event.
    pub(crate) async fn teardown(self: &Arc<Self>) {
        let reason = self.close_reason().unwrap_or(CloseReason::TransportClose);
        if let Layer::SocketIo(sio) = &self.layer {
            sio.teardown(reason).await;
        }
        // A polling client learns of the close from its next GET: keep the
        // session findable until that GET has taken the farewell, briefly.
        // Not when the client is gone: the reference server forgets such a
        // session at once (its next request gets 400).
        if self.transport() == Transport::Polling && !reason.client_gone() {
            let _ = tokio::time::timeout(POLLING_FAREWELL_WAIT, self.outbox.emptied()).await;
        }
        if let Some(table) = self.table.upgrade() {
            table.remove(&self.sid);
        }
        tracing::debug!(sid = %self.sid, %reason, "session closed");
    }
}

/// A random, URL-safe 20-character id (120 bits): session ids authorize
/// polling requests, so they must not be guessable.
pub(crate) fn random_id() -> Arc<str> {
    use base64::Engine as _;
    let bytes: [u8; 15] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn ids_are_url_safe_and_distinct() {
        let a = random_id();
        let b = random_id();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[tokio::test]
    async fn close_is_once_and_says_goodbye_to_polling_clients() {
        let table = Arc::new(SessionTable::default());
        let settings = Arc::new(EngineSettings::from_config(&Config::default()));
        let s = Session::new(
            Layer::Echo,
            Transport::Polling,
            HandshakeInfo::default(),
            settings,
            &table,
        );
        assert_eq!(table.len(), 1);
        assert!(s.close(CloseReason::PingTimeout));
        assert!(!s.close(CloseReason::TransportClose));
        assert_eq!(s.close_reason(), Some(CloseReason::PingTimeout));
        s.closed().await;
        let mut out = Vec::new();
        assert!(s.outbox.drain(&mut out, usize::MAX));
        assert_eq!(out, vec![OutFrame::CLOSE]);
        s.teardown().await;
        assert!(table.is_empty());
    }

    #[test]
    fn upgrade_is_claimed_once() {
        let table = Arc::new(SessionTable::default());
        let settings = Arc::new(EngineSettings::from_config(&Config::default()));
        let s = Session::new(
            Layer::Echo,
            Transport::Polling,
            HandshakeInfo::default(),
            settings,
            &table,
        );
        assert!(s.begin_upgrade());
        assert!(!s.begin_upgrade());
        s.abort_upgrade();
        assert!(s.begin_upgrade());
        s.complete_upgrade();
        assert_eq!(s.transport(), Transport::WebSocket);
        assert!(!s.begin_upgrade());
        assert!(s.open_packet().contains("\"upgrades\":[]"));
    }
}
