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

#[cfg(feature = "brokers")]
pub mod broker;
#[cfg(feature = "brokers")]
mod cluster;
#[cfg(feature = "brokers")]
mod inbound;
mod node;
#[cfg(feature = "brokers")]
pub mod topics;
pub mod view;
pub mod wire;

use thiserror::Error;

#[cfg(feature = "brokers")]
pub use broker::url::BrokerUrl;
#[cfg(feature = "brokers")]
pub use cluster::Cluster;
pub use node::{NodeId, TAG_LEN};
#[cfg(feature = "brokers")]
pub use topics::Topics;
pub use view::Peer;
pub use wire::{Broadcast, Command, Envelope, Heartbeat, Message, RoomCounts, SocketOp};

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("invalid broker address: {0}")]
    BadUrl(String),
    #[error("invalid broker prefix {0:?}: use letters, digits, - and _ (at most 64)")]
    BadPrefix(String),
}

#[cfg(feature = "brokers")]
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
