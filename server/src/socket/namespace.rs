//! A namespace of one app: its sockets by id and its rooms.
//!
//! Locks here are short and never held across an await. A broadcast holds
//! the room lock only while it queues a shared frame for each member, which
//! does not block: a member whose outbox is full is closed, not waited for.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::Socket;
use crate::session::OutFrame;

type Members = HashMap<u64, Arc<Socket>>;

pub struct Namespace {
    name: Arc<str>,
    sockets: RwLock<HashMap<Arc<str>, Arc<Socket>>>,
    rooms: RwLock<HashMap<Arc<str>, Members>>,
}

impl Namespace {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            sockets: RwLock::new(HashMap::new()),
            rooms: RwLock::new(HashMap::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// Members of a named room (socket ids are not counted as rooms here).
    pub fn members(&self, room: &str) -> usize {
        self.rooms.read().get(room).map_or(0, HashMap::len)
    }

    /// Every named room with its member count.
    pub fn room_counts(&self) -> Vec<(String, u32)> {
        self.rooms
            .read()
            .iter()
            .map(|(room, members)| (room.to_string(), members.len() as u32))
            .collect()
    }

    pub fn socket(&self, id: &str) -> Option<Arc<Socket>> {
        self.sockets.read().get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.sockets.read().len()
    }

    /// Up to `limit` of its sockets, in no particular order.
    pub fn sockets(&self, limit: usize) -> Vec<Arc<Socket>> {
        self.sockets.read().values().take(limit).cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.read().is_empty() && self.rooms.read().is_empty()
    }

    pub(super) fn insert(&self, socket: Arc<Socket>) {
        self.sockets.write().insert(socket.id.clone(), socket);
    }

    pub(super) fn remove(&self, socket: &Socket) {
        self.sockets.write().remove(socket.id());
    }

    pub(super) fn add_to_room(&self, room: &Arc<str>, socket: &Arc<Socket>) {
        self.rooms
            .write()
            .entry(room.clone())
            .or_default()
            .insert(socket.key(), socket.clone());
    }

    pub(super) fn remove_from_room(&self, room: &str, key: u64) {
        let mut rooms = self.rooms.write();
        if let Some(members) = rooms.get_mut(room) {
            members.remove(&key);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Sockets in `room`; a socket id counts as a room of one.
    pub fn room_size(&self, room: &str) -> usize {
        if let Some(members) = self.rooms.read().get(room) {
            return members.len();
        }
        usize::from(self.sockets.read().contains_key(room))
    }

    pub fn room_members(&self, room: &str) -> Vec<String> {
        if let Some(members) = self.rooms.read().get(room) {
            return members.values().map(|s| s.id().to_owned()).collect();
        }
        self.sockets
            .read()
            .get(room)
            .map(|s| vec![s.id().to_owned()])
            .unwrap_or_default()
    }

    /// Queues one encoded packet for every member of `rooms` (or of the
    /// whole namespace when `None`), each socket once, skipping members of
    /// `except`. `caller` is the emitting socket, if any: naming it in
    /// `except` excludes it even before it is visible in the namespace.
    /// Returns how many sockets it was queued for.
    pub fn deliver(
        &self,
        rooms: Option<&[&str]>,
        except: &[&str],
        caller: Option<&Socket>,
        head: &OutFrame,
        attachments: &[Bytes],
    ) -> usize {
        let sockets = self.sockets.read();
        let room_index = self.rooms.read();
        let mut excluded = Excluded::resolve(except, &sockets, &room_index);
        if let Some(caller) = caller
            && except.contains(&caller.id())
        {
            excluded.add(caller.key());
        }
        let mut delivered = 0;
        let mut send = |socket: &Arc<Socket>| {
            if !excluded.contains(socket.key()) && socket.send(head.clone(), attachments) {
                delivered += 1;
            }
        };
        match rooms {
            None => sockets.values().for_each(&mut send),
            Some([room]) => for_room(room, &sockets, &room_index, &mut send),
            Some(rooms) => {
                let mut seen = HashSet::new();
                for room in rooms {
                    for_room(room, &sockets, &room_index, &mut |s| {
                        if seen.insert(s.key()) {
                            send(s);
                        }
                    });
                }
            }
        }
        delivered
    }
}

fn for_room(
    room: &str,
    sockets: &HashMap<Arc<str>, Arc<Socket>>,
    rooms: &HashMap<Arc<str>, Members>,
    f: &mut impl FnMut(&Arc<Socket>),
) {
    if let Some(members) = rooms.get(room) {
        members.values().for_each(f);
    } else if let Some(socket) = sockets.get(room) {
        f(socket);
    }
}

/// Socket keys excluded from a broadcast; usually just the sender.
struct Excluded(Vec<u64>);

impl Excluded {
    fn resolve(
        except: &[&str],
        sockets: &HashMap<Arc<str>, Arc<Socket>>,
        rooms: &HashMap<Arc<str>, Members>,
    ) -> Self {
        let mut keys = Vec::new();
        for room in except {
            for_room(room, sockets, rooms, &mut |s| keys.push(s.key()));
        }
        keys.sort_unstable();
        Self(keys)
    }

    fn add(&mut self, key: u64) {
        if let Err(i) = self.0.binary_search(&key) {
            self.0.insert(i, key);
        }
    }

    fn contains(&self, key: u64) -> bool {
        match self.0.len() {
            0 => false,
            1..=8 => self.0.contains(&key),
            _ => self.0.binary_search(&key).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BuiltinHandler, Config};
    use crate::dispatch::ConnectReply;
    use crate::session::{EngineSettings, HandshakeInfo, Layer, Session, Transport};
    use crate::socket::SioLayer;
    use crate::tenant::App;

    /// A member: its session (to read what it was sent) and its socket.
    type Member = (Arc<Session>, Arc<Socket>);
    /// rooms (None: the whole namespace), except, the sending member → who gets it.
    type Case<'a> = (Option<Vec<&'a str>>, Vec<&'a str>, Option<usize>, &'a str);

    /// Sockets a, b, c, d in namespace `/`: a in r1, b in r1 and r2, c in
    /// r2, d in no room.
    fn namespace() -> (Arc<Namespace>, Vec<Member>) {
        let settings = Arc::new(EngineSettings::from_config(&Config::default()));
        let app = App::builtin(
            "rooms",
            crate::dispatch::builtin(BuiltinHandler::Echo),
            &settings,
        );
        let nsp = app.namespace("/").unwrap();
        let rooms: [&[&str]; 4] = [&["r1"], &["r1", "r2"], &["r2"], &[]];
        let members = rooms
            .iter()
            .map(|rooms| {
                let session = Session::new(
                    Layer::SocketIo(SioLayer::new(app.clone())),
                    Transport::WebSocket,
                    HandshakeInfo::default(),
                    settings.clone(),
                    &app.sessions,
                );
                let socket = Socket::new(app.clone(), nsp.clone(), &session);
                assert!(socket.accept(ConnectReply {
                    rooms: rooms.iter().map(|r| r.to_string()).collect(),
                    data: None,
                }));
                (session, socket)
            })
            .collect();
        (nsp, members)
    }

    /// Which of a, b, c, d got frames since the last look, each once at most.
    fn received(members: &[Member]) -> String {
        let mut out = Vec::new();
        let mut who = String::new();
        for ((session, _), name) in members.iter().zip(['a', 'b', 'c', 'd']) {
            out.clear();
            session.outbox.drain(&mut out, usize::MAX);
            // The CONNECT reply (first look only) is not a broadcast.
            out.retain(|frame| !matches!(frame, OutFrame::Text(t) if t.starts_with("40")));
            assert!(out.len() <= 1, "{name} got {} copies", out.len());
            if out.len() == 1 {
                who.push(name);
            }
        }
        who
    }

    #[test]
    fn delivery_by_rooms_except_and_sender() {
        let (nsp, members) = namespace();
        received(&members);
        let id = |i: usize| members[i].1.id().to_owned();
        let (a, b, c) = (id(0), id(1), id(2));
        let cases: Vec<Case<'_>> = vec![
            (None, vec![], None, "abcd"),
            (None, vec![&a], Some(0), "bcd"),
            (None, vec!["r1"], None, "cd"),
            (None, vec!["r1", "r2"], None, "d"),
            (Some(vec!["r1"]), vec![], None, "ab"),
            (Some(vec!["r1"]), vec![&a], Some(0), "b"),
            // The sender is left out only when `except` names it.
            (Some(vec!["r1"]), vec![], Some(0), "ab"),
            (Some(vec!["r1", "r2"]), vec![], None, "abc"),
            (Some(vec!["r1", "r2"]), vec!["r2"], None, "a"),
            (Some(vec!["r2"]), vec!["r1"], None, "c"),
            (Some(vec!["r1"]), vec![&c], None, "ab"),
            // A socket id is a room holding just that socket.
            (Some(vec![&b]), vec![], None, "b"),
            (Some(vec![&b, "r1"]), vec![], None, "ab"),
            (Some(vec![&b]), vec![&b], Some(1), ""),
            (Some(vec!["nobody"]), vec![], None, ""),
            (Some(vec![]), vec![], None, ""),
        ];
        for (rooms, except, sender, expected) in cases {
            let caller = sender.map(|i| members[i].1.clone());
            let delivered = nsp.deliver(
                rooms.as_deref(),
                &except,
                caller.as_deref(),
                &OutFrame::text("42[\"x\"]".into()),
                &[],
            );
            let who = received(&members);
            assert_eq!(
                (who.as_str(), delivered),
                (expected, expected.len()),
                "rooms {rooms:?} except {except:?} sender {sender:?}"
            );
        }
    }
}
