//! `eddy-cluster`: how Eddy nodes act as one server.
//!
//! Nodes exchange [`wire`] messages over a broker (Redis pub/sub or NATS
//! core subjects; `local` on a single node): room and namespace broadcasts,
//! commands for a socket on another node, registry changes (deploys,
//! activations, limits), heartbeats, and the member counts of their rooms.
//! From heartbeats and counts each node keeps a [`view::View`] of the others:
//! who is alive, how many sockets each app has there, how big each room is.
//!
//! The node decides what it wants to hear ([`Cluster::subscribe`]): the
//! topics of rooms and namespaces it has members in, so a broadcast reaches
//! only the nodes that deliver it. A broadcast travels as its encoded
//! Socket.IO frame, so each node queues the same bytes for all its members.
//!
//! Delivery between nodes is at-most-once: while the broker is away, local
//! delivery goes on and cross-node messages are dropped (and counted); the
//! broker reconnects by itself and the node resynchronises (see
//! [`Event::Reconnected`]).

pub mod broker;
pub mod topics;
pub mod view;
pub mod wire;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::RwLock;
use thiserror::Error;
use tokio::sync::mpsc;

use broker::{BrokerStatus, Inbound, Interest, Link};
pub use topics::Topics;
pub use view::Peer;
use view::View;
pub use wire::{Broadcast, Command, Envelope, Heartbeat, Message, RoomCounts, SocketOp};

/// A node, for the life of its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u64);

impl NodeId {
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// Six characters that start the ids of the node's sockets, so a
    /// command for a socket goes to its node alone.
    pub fn tag(self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..6)
            .map(|i| ALPHABET[((self.0 >> (i * 6)) & 63) as usize] as char)
            .collect()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Characters of a socket id that name its node (see [`NodeId::tag`]).
pub const TAG_LEN: usize = 6;

/// Which broker connects the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerUrl {
    /// One node: nothing leaves the process.
    Local,
    Redis(String),
    Nats(String),
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<Self, ClusterError> {
        if url == "local" {
            Ok(Self::Local)
        } else if url.starts_with("redis://") || url.starts_with("rediss://") {
            redis::Client::open(url).map_err(|e| ClusterError::BadUrl(format!("{e}")))?;
            Ok(Self::Redis(url.to_owned()))
        } else if url.starts_with("nats://") {
            Ok(Self::Nats(url.to_owned()))
        } else {
            Err(ClusterError::BadUrl(
                "the broker is `local`, `redis://…` or `nats://…`".into(),
            ))
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Redis(_) => "redis",
            Self::Nats(_) => "nats",
        }
    }
}

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("invalid broker address: {0}")]
    BadUrl(String),
    #[error("invalid broker prefix {0:?}: use letters, digits, - and _ (at most 64)")]
    BadPrefix(String),
}

pub struct Options {
    pub broker: BrokerUrl,
    /// Keeps this cluster's topics apart from others on the same broker.
    pub prefix: String,
    /// What operators call this node (shown in the admin UI).
    pub node_name: String,
}

/// What the node must act on.
#[derive(Debug)]
pub enum Event {
    /// Deliver to the local members.
    Broadcast(Broadcast),
    /// Apply to the local socket, if it is here.
    Command(Command),
    /// Reload the app from the registry.
    AppChanged(String),
    /// A node appeared: tell it the member counts of our rooms.
    NodeJoined(NodeId),
    NodeLeft(NodeId),
    /// The broker is back after an outage: messages may have been missed,
    /// so reload what they would have said.
    Reconnected,
}

/// The broker's health and traffic, for metrics and the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub broker: &'static str,
    pub up: bool,
    pub published: u64,
    pub received: u64,
    pub dropped: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
}

/// Messages waiting for the broker before new ones are dropped.
const OUTGOING: usize = 65_536;
/// Messages from the broker waiting for the node.
const INCOMING: usize = 65_536;
/// Multi-room broadcast ids remembered to deliver each once.
const SEEN: usize = 8_192;

pub struct Cluster {
    id: NodeId,
    tag: String,
    name: String,
    started_ms: u64,
    broker: BrokerUrl,
    topics: Topics,
    out: Option<mpsc::Sender<(String, Bytes)>>,
    interest: Option<mpsc::UnboundedSender<Interest>>,
    events: mpsc::Sender<Event>,
    status: Arc<BrokerStatus>,
    view: RwLock<View>,
    peers: AtomicUsize,
    next_broadcast: AtomicU64,
}

impl Cluster {
    /// Starts the node's side of the cluster: connects to the broker in the
    /// background (a broker that is down at start is retried; the node
    /// serves its own clients meanwhile) and returns the events to act on.
    pub fn start(options: Options) -> Result<(Arc<Self>, mpsc::Receiver<Event>), ClusterError> {
        if !topics::valid_prefix(&options.prefix) {
            return Err(ClusterError::BadPrefix(options.prefix));
        }
        let id = NodeId::random();
        let (events_tx, events_rx) = mpsc::channel(INCOMING);
        let status = Arc::new(BrokerStatus::default());
        let topics = Topics::new(&options.prefix);
        let mut cluster = Self {
            id,
            tag: id.tag(),
            name: options.node_name,
            started_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            broker: options.broker.clone(),
            topics,
            out: None,
            interest: None,
            events: events_tx,
            status: status.clone(),
            view: RwLock::new(View::default()),
            peers: AtomicUsize::new(0),
            next_broadcast: AtomicU64::new(1),
        };
        let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING);
        let link = if matches!(options.broker, BrokerUrl::Local) {
            status.set_up();
            None
        } else {
            let (out_tx, out_rx) = mpsc::channel(OUTGOING);
            let (interest_tx, interest_rx) = mpsc::unbounded_channel();
            cluster.out = Some(out_tx);
            cluster.interest = Some(interest_tx);
            Some(Link {
                outgoing: out_rx,
                interest: interest_rx,
                incoming: incoming_tx,
                status,
            })
        };
        let cluster = Arc::new(cluster);
        if let Some(link) = link {
            match &options.broker {
                BrokerUrl::Redis(url) => {
                    let client = redis::Client::open(url.as_str())
                        .map_err(|e| ClusterError::BadUrl(e.to_string()))?;
                    broker::redis::start(client, link);
                }
                BrokerUrl::Nats(url) => broker::nats::start(url.clone(), link),
                BrokerUrl::Local => unreachable!("no link for a local broker"),
            }
            for topic in [
                cluster.topics.control(),
                cluster.topics.nodes(),
                cluster.topics.counts(),
                cluster.topics.node(&cluster.tag),
            ] {
                cluster.subscribe(topic);
            }
            tokio::spawn(dispatch(Arc::downgrade(&cluster), incoming_rx));
        }
        Ok((cluster, events_rx))
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The prefix of this node's socket ids.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// False on a single node (`local`): nothing is ever published.
    pub fn is_clustered(&self) -> bool {
        self.out.is_some()
    }

    /// Other live nodes exist: broadcasts must be published.
    pub fn has_peers(&self) -> bool {
        self.peers.load(Ordering::Relaxed) > 0
    }

    pub fn subscribe(&self, topic: String) {
        if let Some(interest) = &self.interest {
            let _ = interest.send(Interest::Subscribe(topic));
        }
    }

    pub fn unsubscribe(&self, topic: String) {
        if let Some(interest) = &self.interest {
            let _ = interest.send(Interest::Unsubscribe(topic));
        }
    }

    fn envelope(&self, message: Message) -> Bytes {
        Envelope {
            origin: self.id,
            message,
        }
        .encode()
    }

    fn publish(&self, topic: String, payload: Bytes) {
        if let Some(out) = &self.out
            && out.try_send((topic, payload)).is_err()
        {
            self.status.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends a broadcast to the other nodes with members of its rooms (or
    /// sockets in its namespace). Encoded once for all its topics.
    pub fn broadcast(&self, mut broadcast: Broadcast) {
        if !self.is_clustered() {
            return;
        }
        broadcast.id = self.next_broadcast.fetch_add(1, Ordering::Relaxed);
        let topics: Vec<String> = if broadcast.rooms.is_empty() {
            vec![self.topics.namespace(&broadcast.app, &broadcast.namespace)]
        } else {
            broadcast
                .rooms
                .iter()
                .map(|room| self.topics.room(&broadcast.app, &broadcast.namespace, room))
                .collect()
        };
        let payload = self.envelope(Message::Broadcast(broadcast));
        for topic in topics {
            self.publish(topic, payload.clone());
        }
    }

    /// Sends a command to the node whose tag starts `command.socket`.
    pub fn command(&self, command: Command) {
        if !self.is_clustered() || command.socket.len() < TAG_LEN {
            return;
        }
        let Some(tag) = command.socket.get(..TAG_LEN) else {
            return;
        };
        let topic = self.topics.node(tag);
        self.publish(topic, self.envelope(Message::Command(command)));
    }

    /// Tells every node to reload an app from the registry.
    pub fn app_changed(&self, app: &str) {
        let payload = self.envelope(Message::AppChanged {
            app: app.to_owned(),
        });
        self.publish(self.topics.control(), payload);
    }

    /// Publishes this node's member counts of an app's rooms.
    pub fn room_counts(&self, counts: RoomCounts) {
        let topic = self.topics.counts();
        self.publish(topic, self.envelope(Message::RoomCounts(counts)));
    }

    /// Once a second: says this node is alive (with its sockets per app)
    /// and forgets the nodes that stopped saying so.
    pub fn beat(&self, apps: Vec<(String, u64)>) {
        if !self.is_clustered() {
            return;
        }
        let beat = Heartbeat {
            name: self.name.clone(),
            started_ms: self.started_ms,
            apps,
        };
        self.publish(self.topics.nodes(), self.envelope(Message::Heartbeat(beat)));
        let gone = {
            let mut view = self.view.write();
            let gone = view.expire(Instant::now());
            self.peers.store(view.peer_count(), Ordering::Relaxed);
            gone
        };
        for id in gone {
            tracing::warn!(node = %id, "node stopped beating; forgotten");
            let _ = self.events.try_send(Event::NodeLeft(id));
        }
    }

    /// Says goodbye, so the others forget this node now (on shutdown).
    pub fn bye(&self) {
        self.publish(self.topics.nodes(), self.envelope(Message::Bye));
    }

    /// Members of a room on the other nodes.
    pub fn remote_room_size(&self, app: &str, namespace: &str, room: &str) -> u64 {
        if !self.has_peers() {
            return 0;
        }
        self.view.read().room_size(app, namespace, room)
    }

    /// Sockets of an app on the other nodes.
    pub fn remote_connections(&self, app: &str) -> u64 {
        if !self.has_peers() {
            return 0;
        }
        self.view.read().connections(app)
    }

    /// A live node (this one excluded) may have a socket with this id: its
    /// tag names one.
    pub fn knows_socket(&self, socket: &str) -> bool {
        let Some(tag) = socket.get(..TAG_LEN) else {
            return false;
        };
        self.view.read().peers().iter().any(|p| p.id.tag() == tag)
    }

    /// The other live nodes.
    pub fn peers(&self) -> Vec<Peer> {
        self.view.read().peers()
    }

    pub fn status(&self) -> Status {
        let s = &self.status;
        Status {
            broker: self.broker.kind(),
            up: s.is_up(),
            published: s.published.load(Ordering::Relaxed),
            received: s.received.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            last_error: s.last_error(),
        }
    }

    /// Handles one message from the broker: membership and counts here,
    /// the rest as events for the node.
    fn receive(&self, payload: &Bytes, seen: &mut Seen) -> Option<Event> {
        let envelope = match Envelope::decode(payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable message from the broker; ignored");
                return None;
            }
        };
        let origin = envelope.origin;
        if origin == self.id {
            return None;
        }
        match envelope.message {
            Message::Heartbeat(beat) => {
                let mut view = self.view.write();
                let new = view.heard(origin, beat, Instant::now());
                self.peers.store(view.peer_count(), Ordering::Relaxed);
                new.then(|| {
                    tracing::info!(node = %origin, "node joined");
                    Event::NodeJoined(origin)
                })
            }
            Message::Bye => {
                let mut view = self.view.write();
                let known = view.forget(origin);
                self.peers.store(view.peer_count(), Ordering::Relaxed);
                known.then(|| {
                    tracing::info!(node = %origin, "node left");
                    Event::NodeLeft(origin)
                })
            }
            Message::RoomCounts(counts) => {
                self.view.write().counts(origin, counts);
                None
            }
            Message::AppChanged { app } => Some(Event::AppChanged(app)),
            Message::Command(command) => Some(Event::Command(command)),
            Message::Broadcast(broadcast) => {
                // Heard once per room topic this node follows: deliver once.
                if broadcast.rooms.len() > 1 && !seen.first(origin, broadcast.id) {
                    return None;
                }
                Some(Event::Broadcast(broadcast))
            }
        }
    }
}

/// Recently delivered multi-room broadcasts.
#[derive(Default)]
struct Seen {
    set: HashSet<(NodeId, u64)>,
    order: VecDeque<(NodeId, u64)>,
}

impl Seen {
    fn first(&mut self, origin: NodeId, id: u64) -> bool {
        if !self.set.insert((origin, id)) {
            return false;
        }
        self.order.push_back((origin, id));
        if self.order.len() > SEEN
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

async fn dispatch(cluster: std::sync::Weak<Cluster>, mut incoming: mpsc::Receiver<Inbound>) {
    let mut seen = Seen::default();
    while let Some(inbound) = incoming.recv().await {
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let event = match inbound {
            Inbound::Message(payload) => cluster.receive(&payload, &mut seen),
            Inbound::Reconnected => {
                tracing::info!("broker reconnected");
                Some(Event::Reconnected)
            }
        };
        if let Some(event) = event
            && cluster.events.send(event).await.is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_six_url_safe_characters() {
        let a = NodeId(0).tag();
        let b = NodeId(u64::MAX).tag();
        assert_eq!(a, "AAAAAA");
        assert_eq!(b, "______");
        let random = NodeId::random().tag();
        assert_eq!(random.len(), TAG_LEN);
        assert!(
            random
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn broker_urls_are_checked() {
        assert_eq!(BrokerUrl::parse("local").unwrap(), BrokerUrl::Local);
        assert_eq!(
            BrokerUrl::parse("redis://127.0.0.1:6379").unwrap().kind(),
            "redis"
        );
        assert_eq!(
            BrokerUrl::parse("nats://127.0.0.1:4222").unwrap().kind(),
            "nats"
        );
        assert!(BrokerUrl::parse("kafka://x").is_err());
        assert!(BrokerUrl::parse("").is_err());
    }

    #[test]
    fn multi_room_broadcasts_are_delivered_once() {
        let mut seen = Seen::default();
        assert!(seen.first(NodeId(1), 5));
        assert!(!seen.first(NodeId(1), 5));
        assert!(seen.first(NodeId(2), 5));
        for i in 0..(SEEN as u64 + 10) {
            seen.first(NodeId(3), 100 + i);
        }
        assert!(seen.set.len() <= SEEN);
        assert!(seen.first(NodeId(1), 5), "old ids are forgotten");
    }

    #[tokio::test]
    async fn a_local_cluster_sends_nothing() {
        let (cluster, _events) = Cluster::start(Options {
            broker: BrokerUrl::Local,
            prefix: "eddy".into(),
            node_name: "n".into(),
        })
        .unwrap();
        assert!(!cluster.is_clustered());
        assert!(cluster.status().up);
        cluster.app_changed("a");
        cluster.beat(vec![]);
        assert_eq!(cluster.status().published, 0);
        assert!(
            Cluster::start(Options {
                broker: BrokerUrl::Local,
                prefix: "no.dots".into(),
                node_name: "n".into(),
            })
            .is_err()
        );
    }
}
