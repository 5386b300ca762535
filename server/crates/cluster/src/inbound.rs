//! What the node hears from the broker: membership and room counts are
//! kept here, the rest becomes [`Event`]s for the server.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::broker::Inbound;
use crate::wire::{Envelope, Message};
use crate::{Cluster, Event, NodeId};

/// Multi-room broadcast ids remembered to deliver each once.
const SEEN: usize = 8_192;

impl Cluster {
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

pub(crate) async fn dispatch(
    cluster: std::sync::Weak<Cluster>,
    mut incoming: mpsc::Receiver<Inbound>,
) {
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
}
