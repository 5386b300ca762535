//! The node's side of the cluster: what it publishes (broadcasts, commands,
//! registry changes, heartbeats, room counts) without waiting, and what it
//! knows of the other nodes. What it hears is handled in `inbound.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::mpsc;

use crate::broker::{self, BrokerStatus, Interest, Link};
use crate::view::{Peer, View};
use crate::wire::{Broadcast, Command, Envelope, Heartbeat, Message, RoomCounts};
use crate::{BrokerUrl, ClusterError, Event, NodeId, Options, Status, TAG_LEN, Topics, topics};

/// Messages waiting for the broker before new ones are dropped.
const OUTGOING: usize = 65_536;
/// Messages from the broker waiting for the node.
const INCOMING: usize = 65_536;

pub struct Cluster {
    // The fields `inbound.rs` updates from what it hears are `pub(crate)`.
    pub(crate) id: NodeId,
    tag: String,
    name: String,
    started_ms: u64,
    broker: BrokerUrl,
    topics: Topics,
    out: Option<mpsc::Sender<(String, Bytes)>>,
    interest: Option<mpsc::UnboundedSender<Interest>>,
    pub(crate) events: mpsc::Sender<Event>,
    status: Arc<BrokerStatus>,
    pub(crate) view: RwLock<View>,
    pub(crate) peers: AtomicUsize,
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
            tokio::spawn(crate::inbound::dispatch(
                Arc::downgrade(&cluster),
                incoming_rx,
            ));
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
