//! The messages nodes exchange, and their compact binary encoding.
//!
//! A message is `[version][kind][origin node id: u64 LE]` and then its
//! fields: integers as LEB128 varints, strings and byte strings as a varint
//! length and the bytes. A broadcast carries the Socket.IO frame already
//! encoded by the sending node, so each receiving node queues it as is
//! (one encoding per node, not per recipient). Input from the broker is
//! untrusted: decoding checks every length and never panics.

use bytes::{BufMut, Bytes, BytesMut};
use thiserror::Error;

use crate::NodeId;

const VERSION: u8 = 1;

/// Longest string field accepted (app slugs, namespaces, rooms, socket ids).
const MAX_NAME: usize = 4096;
/// Most entries in one list field.
const MAX_LIST: usize = 100_000;

/// A room broadcast (or a whole-namespace broadcast when `rooms` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    /// Unique per origin: a node that hears a multi-room broadcast on
    /// several room topics delivers it once.
    pub id: u64,
    pub app: String,
    pub namespace: String,
    pub rooms: Vec<String>,
    /// Rooms and socket ids whose members do not get it.
    pub except: Vec<String>,
    /// The encoded Socket.IO packet (an Engine.IO text frame).
    pub head: String,
    pub attachments: Vec<Bytes>,
}

/// Something to do to one socket, on the node that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub app: String,
    pub namespace: String,
    pub socket: String,
    pub op: SocketOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketOp {
    Emit {
        head: String,
        attachments: Vec<Bytes>,
    },
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    Disconnect,
}

/// A node's member counts for some rooms of an app: the new counts of
/// rooms that changed, or (`snapshot`) all its rooms of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomCounts {
    pub app: String,
    pub snapshot: bool,
    /// `(namespace, room, members on the sending node)`.
    pub entries: Vec<(String, String, u32)>,
}

/// A node is alive: who it is and how many sockets each app has on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// What operators call the node (its advertised address, by default).
    pub name: String,
    pub started_ms: u64,
    pub apps: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Broadcast(Broadcast),
    Command(Command),
    RoomCounts(RoomCounts),
    /// The app's registry record changed (deploy, activation, limits,
    /// creation, deletion): reload it.
    AppChanged {
        app: String,
    },
    Heartbeat(Heartbeat),
    /// The node is shutting down: forget it now.
    Bye,
}

/// A message and the node that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub origin: NodeId,
    pub message: Message,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message version {0} is not supported")]
    Version(u8),
    #[error("unknown message kind {0}")]
    Kind(u8),
    #[error("the message is truncated")]
    Truncated,
    #[error("a field is too long")]
    TooLong,
    #[error("a string field is not UTF-8")]
    Utf8,
    #[error("{0} bytes left over after the message")]
    Trailing(usize),
}

mod kind {
    pub(super) const BROADCAST: u8 = 1;
    pub(super) const COMMAND: u8 = 2;
    pub(super) const ROOM_COUNTS: u8 = 3;
    pub(super) const APP_CHANGED: u8 = 4;
    pub(super) const HEARTBEAT: u8 = 5;
    pub(super) const BYE: u8 = 6;
}

mod op {
    pub(super) const EMIT: u8 = 1;
    pub(super) const JOIN: u8 = 2;
    pub(super) const LEAVE: u8 = 3;
    pub(super) const DISCONNECT: u8 = 4;
}

impl Envelope {
    pub fn encode(&self) -> Bytes {
        let mut w = Writer(BytesMut::with_capacity(self.size_hint()));
        w.0.put_u8(VERSION);
        let message = &self.message;
        w.0.put_u8(match message {
            Message::Broadcast(_) => kind::BROADCAST,
            Message::Command(_) => kind::COMMAND,
            Message::RoomCounts(_) => kind::ROOM_COUNTS,
            Message::AppChanged { .. } => kind::APP_CHANGED,
            Message::Heartbeat(_) => kind::HEARTBEAT,
            Message::Bye => kind::BYE,
        });
        w.0.put_u64_le(self.origin.0);
        match message {
            Message::Broadcast(b) => {
                w.uint(b.id);
                w.str(&b.app);
                w.str(&b.namespace);
                w.strs(&b.rooms);
                w.strs(&b.except);
                w.str(&b.head);
                w.blobs(&b.attachments);
            }
            Message::Command(c) => {
                w.str(&c.app);
                w.str(&c.namespace);
                w.str(&c.socket);
                match &c.op {
                    SocketOp::Emit { head, attachments } => {
                        w.0.put_u8(op::EMIT);
                        w.str(head);
                        w.blobs(attachments);
                    }
                    SocketOp::Join { room } => {
                        w.0.put_u8(op::JOIN);
                        w.str(room);
                    }
                    SocketOp::Leave { room } => {
                        w.0.put_u8(op::LEAVE);
                        w.str(room);
                    }
                    SocketOp::Disconnect => w.0.put_u8(op::DISCONNECT),
                }
            }
            Message::RoomCounts(r) => {
                w.str(&r.app);
                w.0.put_u8(u8::from(r.snapshot));
                w.uint(r.entries.len() as u64);
                for (namespace, room, count) in &r.entries {
                    w.str(namespace);
                    w.str(room);
                    w.uint(u64::from(*count));
                }
            }
            Message::AppChanged { app } => w.str(app),
            Message::Heartbeat(h) => {
                w.str(&h.name);
                w.uint(h.started_ms);
                w.uint(h.apps.len() as u64);
                for (app, connections) in &h.apps {
                    w.str(app);
                    w.uint(*connections);
                }
            }
            Message::Bye => {}
        }
        w.0.freeze()
    }

    fn size_hint(&self) -> usize {
        16 + match &self.message {
            Message::Broadcast(b) => {
                b.app.len()
                    + b.namespace.len()
                    + b.head.len()
                    + b.rooms
                        .iter()
                        .chain(&b.except)
                        .map(|r| r.len() + 2)
                        .sum::<usize>()
                    + b.attachments.iter().map(|a| a.len() + 4).sum::<usize>()
                    + 16
            }
            Message::Command(c) => c.app.len() + c.namespace.len() + c.socket.len() + 64,
            _ => 64,
        }
    }

    /// Decodes a message from the broker. Attachments share `bytes`.
    pub fn decode(bytes: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let kind = r.u8()?;
        let origin = NodeId(r.u64_le()?);
        let message = match kind {
            kind::BROADCAST => Message::Broadcast(Broadcast {
                id: r.uint()?,
                app: r.name()?,
                namespace: r.name()?,
                rooms: r.names()?,
                except: r.names()?,
                head: r.str()?,
                attachments: r.blobs()?,
            }),
            kind::COMMAND => {
                let app = r.name()?;
                let namespace = r.name()?;
                let socket = r.name()?;
                let op = match r.u8()? {
                    op::EMIT => SocketOp::Emit {
                        head: r.str()?,
                        attachments: r.blobs()?,
                    },
                    op::JOIN => SocketOp::Join { room: r.name()? },
                    op::LEAVE => SocketOp::Leave { room: r.name()? },
                    op::DISCONNECT => SocketOp::Disconnect,
                    other => return Err(DecodeError::Kind(other)),
                };
                Message::Command(Command {
                    app,
                    namespace,
                    socket,
                    op,
                })
            }
            kind::ROOM_COUNTS => {
                let app = r.name()?;
                let snapshot = r.u8()? != 0;
                let n = r.len(MAX_LIST)?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let namespace = r.name()?;
                    let room = r.name()?;
                    let count = u32::try_from(r.uint()?).map_err(|_| DecodeError::TooLong)?;
                    entries.push((namespace, room, count));
                }
                Message::RoomCounts(RoomCounts {
                    app,
                    snapshot,
                    entries,
                })
            }
            kind::APP_CHANGED => Message::AppChanged { app: r.name()? },
            kind::HEARTBEAT => {
                let name = r.name()?;
                let started_ms = r.uint()?;
                let n = r.len(MAX_LIST)?;
                let mut apps = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    apps.push((r.name()?, r.uint()?));
                }
                Message::Heartbeat(Heartbeat {
                    name,
                    started_ms,
                    apps,
                })
            }
            kind::BYE => Message::Bye,
            other => return Err(DecodeError::Kind(other)),
        };
        let left = bytes.len() - r.at;
        if left != 0 {
            return Err(DecodeError::Trailing(left));
        }
        Ok(Self { origin, message })
    }
}

struct Writer(BytesMut);

impl Writer {
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.put_u8((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.put_u8(n as u8);
    }

    fn blob(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.0.put_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.blob(s.as_bytes());
    }

    fn strs(&mut self, list: &[String]) {
        self.uint(list.len() as u64);
        for s in list {
            self.str(s);
        }
    }

    fn blobs(&mut self, list: &[Bytes]) {
        self.uint(list.len() as u64);
        for b in list {
            self.blob(b);
        }
    }
}

struct Reader<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.at).ok_or(DecodeError::Truncated)?;
        self.at += 1;
        Ok(b)
    }

    fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let end = self.at.checked_add(8).ok_or(DecodeError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(DecodeError::Truncated)?;
        self.at = end;
        Ok(u64::from_le_bytes(slice.try_into().expect("8 bytes")))
    }

    fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(DecodeError::TooLong)
    }

    /// A length or count, at most `max`.
    fn len(&mut self, max: usize) -> Result<usize, DecodeError> {
        let n = self.uint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(DecodeError::TooLong)
    }

    fn blob(&mut self) -> Result<Bytes, DecodeError> {
        let n = self.len(self.bytes.len())?;
        let end = self.at.checked_add(n).ok_or(DecodeError::Truncated)?;
        if end > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        let b = self.bytes.slice(self.at..end);
        self.at = end;
        Ok(b)
    }

    /// Text of any length (an encoded packet).
    fn str(&mut self) -> Result<String, DecodeError> {
        let b = self.blob()?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Utf8)
    }

    /// A name: an app, namespace, room or socket id.
    fn name(&mut self) -> Result<String, DecodeError> {
        let s = self.str()?;
        if s.len() > MAX_NAME {
            return Err(DecodeError::TooLong);
        }
        Ok(s)
    }

    fn names(&mut self) -> Result<Vec<String>, DecodeError> {
        let n = self.len(MAX_LIST)?;
        let mut list = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            list.push(self.name()?);
        }
        Ok(list)
    }

    fn blobs(&mut self) -> Result<Vec<Bytes>, DecodeError> {
        let n = self.len(MAX_LIST)?;
        let mut list = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            list.push(self.blob()?);
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(message: Message) {
        let envelope = Envelope {
            origin: NodeId(0xDEAD_BEEF_0123),
            message,
        };
        let bytes = envelope.encode();
        assert_eq!(Envelope::decode(&bytes).unwrap(), envelope);
        // Every strict prefix is refused, never a panic.
        for cut in 0..bytes.len() {
            assert!(
                Envelope::decode(&bytes.slice(..cut)).is_err(),
                "prefix {cut}"
            );
        }
    }

    #[test]
    fn every_kind_round_trips() {
        roundtrip(Message::Broadcast(Broadcast {
            id: 300,
            app: "chat".into(),
            namespace: "/".into(),
            rooms: vec!["lobby".into(), "ünï".into()],
            except: vec!["sock-1".into()],
            head: "452-[\"pic\",{\"_placeholder\":true,\"num\":0}]".into(),
            attachments: vec![Bytes::from_static(b"\x00\x01\x02"), Bytes::new()],
        }));
        for op in [
            SocketOp::Emit {
                head: "42[\"hi\"]".into(),
                attachments: vec![],
            },
            SocketOp::Join { room: "r".into() },
            SocketOp::Leave { room: "r".into() },
            SocketOp::Disconnect,
        ] {
            roundtrip(Message::Command(Command {
                app: "a".into(),
                namespace: "/admin".into(),
                socket: "abc".into(),
                op,
            }));
        }
        roundtrip(Message::RoomCounts(RoomCounts {
            app: "a".into(),
            snapshot: true,
            entries: vec![("/".into(), "r".into(), 3), ("/x".into(), "".into(), 0)],
        }));
        roundtrip(Message::AppChanged { app: "a".into() });
        roundtrip(Message::Heartbeat(Heartbeat {
            name: "10.0.0.1:8080".into(),
            started_ms: 1_795_000_000_000,
            apps: vec![("a".into(), 5), ("b".into(), u64::MAX)],
        }));
        roundtrip(Message::Bye);
    }

    #[test]
    fn foreign_input_is_refused() {
        let ok = Envelope {
            origin: NodeId(1),
            message: Message::Bye,
        }
        .encode();
        let mut wrong_version = ok.to_vec();
        wrong_version[0] = 9;
        assert_eq!(
            Envelope::decode(&Bytes::from(wrong_version)),
            Err(DecodeError::Version(9))
        );
        let mut trailing = ok.to_vec();
        trailing.push(0);
        assert_eq!(
            Envelope::decode(&Bytes::from(trailing)),
            Err(DecodeError::Trailing(1))
        );
        // A huge announced length is refused without allocating it.
        let mut huge = vec![VERSION, kind::APP_CHANGED];
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(
            Envelope::decode(&Bytes::from(huge)),
            Err(DecodeError::TooLong)
        );
        assert!(Envelope::decode(&Bytes::from_static(b"PUBLISH x y")).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Envelope::decode(&Bytes::from(bytes));
        }

        #[test]
        fn broadcasts_round_trip(
            id in any::<u64>(),
            rooms in proptest::collection::vec(".{0,12}", 0..5),
            except in proptest::collection::vec(".{0,12}", 0..3),
            head in ".{0,64}",
            attachments in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..32), 0..3),
        ) {
            let envelope = Envelope {
                origin: NodeId(id ^ 7),
                message: Message::Broadcast(Broadcast {
                    id,
                    app: "app".into(),
                    namespace: "/".into(),
                    rooms,
                    except,
                    head,
                    attachments: attachments.into_iter().map(Bytes::from).collect(),
                }),
            };
            prop_assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        }
    }
}
