//! The brokers: what carries bytes between nodes. Each runs as background
//! tasks behind the same three channels (out, interest changes, in) and
//! reports its health in [`BrokerStatus`]. A broker that goes away is a
//! degraded state, never a crash: local delivery goes on, messages meant
//! for other nodes are dropped (and counted), and the broker reconnects and
//! resubscribes by itself.

pub mod nats;
pub mod redis;
pub mod url;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

/// Between reconnection attempts.
pub const RETRY: Duration = Duration::from_millis(250);
/// Connecting, and any single broker request, gives up after this.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// A topic to start or stop receiving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interest {
    Subscribe(String),
    Unsubscribe(String),
}

/// What a broker hands to the node.
#[derive(Debug)]
pub enum Inbound {
    Message(Bytes),
    /// The broker is back after an outage (and subscribed again).
    Reconnected,
}

/// The broker's ends of the channels.
pub struct Link {
    pub outgoing: mpsc::Receiver<(String, Bytes)>,
    pub interest: mpsc::UnboundedReceiver<Interest>,
    pub incoming: mpsc::Sender<Inbound>,
    pub status: std::sync::Arc<BrokerStatus>,
}

/// Hands a received message to the node; drops it (counted) when the node
/// is that far behind.
pub fn deliver(incoming: &mpsc::Sender<Inbound>, status: &BrokerStatus, payload: Bytes) {
    status.received.fetch_add(1, Ordering::Relaxed);
    if incoming.try_send(Inbound::Message(payload)).is_err() {
        status.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Drops what is queued to publish (the broker is away: stale messages are
/// not sent later); returns how many.
pub fn drain(outgoing: &mut mpsc::Receiver<(String, Bytes)>, status: &BrokerStatus) -> usize {
    let mut n = 0;
    while outgoing.try_recv().is_ok() {
        n += 1;
    }
    status.dropped.fetch_add(n as u64, Ordering::Relaxed);
    n
}

/// Health and counters, shared by the broker tasks and the node.
#[derive(Debug, Default)]
pub struct BrokerStatus {
    publishing: AtomicBool,
    subscribed: AtomicBool,
    /// Messages sent to the broker.
    pub published: AtomicU64,
    /// Messages received from it.
    pub received: AtomicU64,
    /// Messages lost: not sent while the broker was away, or received
    /// faster than the node could take them.
    pub dropped: AtomicU64,
    /// Connections re-established after a failure.
    pub reconnects: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl BrokerStatus {
    /// Both directions work.
    pub fn is_up(&self) -> bool {
        self.publishing.load(Ordering::Acquire) && self.subscribed.load(Ordering::Acquire)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }

    pub fn set_publishing(&self, up: bool) {
        self.publishing.store(up, Ordering::Release);
    }

    pub fn set_subscribed(&self, up: bool) {
        self.subscribed.store(up, Ordering::Release);
    }

    /// Marks the broker up (a local "broker" always is).
    pub fn set_up(&self) {
        self.set_publishing(true);
        self.set_subscribed(true);
    }

    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        let message = format!("{what}: {error}");
        let mut last = self.last_error.lock();
        if last.as_deref() != Some(message.as_str()) {
            tracing::warn!(error = %message, "broker");
            *last = Some(message);
        }
    }
}
