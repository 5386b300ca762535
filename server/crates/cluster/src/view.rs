//! What a node knows of the others: who is alive (from heartbeats) and how
//! many members each of their rooms has (from room counts).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::NodeId;
use crate::wire::{Heartbeat, RoomCounts};

/// A node missing this long is considered gone (heartbeats come every second).
pub const NODE_TTL: Duration = Duration::from_millis(3_500);

/// Another node, as its heartbeats describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub id: NodeId,
    pub name: String,
    pub started_ms: u64,
    /// Sockets per app on that node.
    pub apps: HashMap<String, u64>,
    pub last_seen: Instant,
}

/// (namespace, room) → node → members there.
type RoomsOfApp = HashMap<(String, String), HashMap<NodeId, u32>>;

#[derive(Debug, Default)]
pub struct View {
    peers: HashMap<NodeId, Peer>,
    /// app → its rooms on other nodes.
    rooms: HashMap<String, RoomsOfApp>,
}

impl View {
    /// Records a heartbeat; true when the node is new.
    pub fn heard(&mut self, id: NodeId, beat: Heartbeat, now: Instant) -> bool {
        let peer = Peer {
            id,
            name: beat.name,
            started_ms: beat.started_ms,
            apps: beat.apps.into_iter().collect(),
            last_seen: now,
        };
        self.peers.insert(id, peer).is_none()
    }

    pub fn is_known(&self, id: NodeId) -> bool {
        self.peers.contains_key(&id)
    }

    /// Forgets a node and its room counts; true when it was known.
    pub fn forget(&mut self, id: NodeId) -> bool {
        for rooms in self.rooms.values_mut() {
            rooms.retain(|_, nodes| {
                nodes.remove(&id);
                !nodes.is_empty()
            });
        }
        self.rooms.retain(|_, rooms| !rooms.is_empty());
        self.peers.remove(&id).is_some()
    }

    /// Forgets the nodes not heard from within [`NODE_TTL`]; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<NodeId> {
        let gone: Vec<NodeId> = self
            .peers
            .values()
            .filter(|p| now.duration_since(p.last_seen) > NODE_TTL)
            .map(|p| p.id)
            .collect();
        for id in &gone {
            self.forget(*id);
        }
        gone
    }

    /// Applies a node's room counts (from a node not yet heard from too:
    /// its heartbeat may come second).
    pub fn counts(&mut self, id: NodeId, update: RoomCounts) {
        let rooms = self.rooms.entry(update.app).or_default();
        if update.snapshot {
            rooms.retain(|_, nodes| {
                nodes.remove(&id);
                !nodes.is_empty()
            });
        }
        for (namespace, room, count) in update.entries {
            let key = (namespace, room);
            if count == 0 {
                if let Some(nodes) = rooms.get_mut(&key) {
                    nodes.remove(&id);
                    if nodes.is_empty() {
                        rooms.remove(&key);
                    }
                }
            } else {
                rooms.entry(key).or_default().insert(id, count);
            }
        }
    }

    /// Members of a room on the other nodes.
    pub fn room_size(&self, app: &str, namespace: &str, room: &str) -> u64 {
        self.rooms
            .get(app)
            .and_then(|rooms| rooms.get(&(namespace.to_owned(), room.to_owned())))
            .map_or(0, |nodes| nodes.values().map(|n| u64::from(*n)).sum())
    }

    /// Sockets of an app on the other nodes.
    pub fn connections(&self, app: &str) -> u64 {
        self.peers.values().filter_map(|p| p.apps.get(app)).sum()
    }

    pub fn peers(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self.peers.values().cloned().collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
        peers
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(apps: &[(&str, u64)]) -> Heartbeat {
        Heartbeat {
            name: "n".into(),
            started_ms: 1,
            apps: apps.iter().map(|(a, n)| ((*a).to_owned(), *n)).collect(),
        }
    }

    fn counts(app: &str, snapshot: bool, entries: &[(&str, &str, u32)]) -> RoomCounts {
        RoomCounts {
            app: app.into(),
            snapshot,
            entries: entries
                .iter()
                .map(|(n, r, c)| ((*n).to_owned(), (*r).to_owned(), *c))
                .collect(),
        }
    }

    #[test]
    fn rooms_and_connections_add_up_across_nodes() {
        let now = Instant::now();
        let (a, b) = (NodeId(1), NodeId(2));
        let mut view = View::default();
        assert!(view.heard(a, beat(&[("chat", 3)]), now));
        assert!(!view.heard(a, beat(&[("chat", 4)]), now));
        view.heard(b, beat(&[("chat", 1), ("other", 9)]), now);
        assert_eq!(view.connections("chat"), 5);
        view.counts(
            a,
            counts("chat", false, &[("/", "lobby", 2), ("/", "x", 1)]),
        );
        view.counts(b, counts("chat", false, &[("/", "lobby", 1)]));
        assert_eq!(view.room_size("chat", "/", "lobby"), 3);
        // A change, then a snapshot that no longer lists `x`.
        view.counts(a, counts("chat", false, &[("/", "lobby", 0)]));
        assert_eq!(view.room_size("chat", "/", "lobby"), 1);
        view.counts(a, counts("chat", true, &[("/", "y", 7)]));
        assert_eq!(view.room_size("chat", "/", "x"), 0);
        assert_eq!(view.room_size("chat", "/", "y"), 7);
        // A node that stops beating is forgotten with its rooms.
        let later = now + NODE_TTL + Duration::from_millis(1);
        view.heard(b, beat(&[("chat", 1)]), later);
        assert_eq!(view.expire(later), vec![a]);
        assert_eq!(view.room_size("chat", "/", "y"), 0);
        assert_eq!(view.connections("chat"), 1);
        assert_eq!(view.peer_count(), 1);
        assert!(view.forget(b));
        assert!(view.rooms.is_empty());
    }
}
