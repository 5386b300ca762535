//! The capabilities a handler holds while it runs, scoped to its own app and
//! namespace: it can only name sockets and rooms of that namespace.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use crate::socket::{DisconnectReason, Socket, encode_event};

/// Who receives an emit.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// One socket of the namespace, by id.
    Socket(&'a str),
    /// Members of any of `rooms` (each once), minus members of any of
    /// `except`. A socket id is also a room holding just that socket.
    Rooms {
        rooms: &'a [&'a str],
        except: &'a [&'a str],
    },
    /// Every socket of the namespace, minus members of `except`.
    Namespace { except: &'a [&'a str] },
}

pub struct SocketContext {
    socket: Arc<Socket>,
    /// The handler asked to disconnect its own socket: done once it returns,
    /// so the disconnect hook runs after the event that caused it.
    disconnect_self: AtomicBool,
}

impl SocketContext {
    pub fn new(socket: Arc<Socket>) -> Self {
        Self {
            socket,
            disconnect_self: AtomicBool::new(false),
        }
    }

    pub fn socket_id(&self) -> &str {
        self.socket.id()
    }

    pub fn namespace(&self) -> &str {
        self.socket.namespace().name()
    }

    pub fn app(&self) -> &str {
        &self.socket.app().slug
    }

    pub(crate) fn app_ref(&self) -> &Arc<crate::tenant::App> {
        self.socket.app()
    }

    /// The JSON data attached to the socket when it connected.
    pub fn socket_data(&self) -> Option<Arc<str>> {
        self.socket.data()
    }

    /// Emits `event` with `args` (a valid JSON array; placeholders for
    /// `attachments`). Encodes once whatever the number of recipients and
    /// returns how many sockets it was queued for.
    pub fn emit(&self, to: Target<'_>, event: &str, args: &str, attachments: &[Bytes]) -> usize {
        let nsp = self.socket.namespace();
        let Some(head) = encode_event(nsp.name(), event, None, args, attachments.len()) else {
            debug_assert!(false, "emit args must be a JSON array: {args}");
            return 0;
        };
        let delivered = match to {
            Target::Socket(id) if id == self.socket.id() => {
                usize::from(self.socket.send(head, attachments))
            }
            Target::Socket(id) => nsp
                .socket(id)
                .map_or(0, |s| usize::from(s.send(head, attachments))),
            Target::Rooms { rooms, except } => {
                nsp.deliver(Some(rooms), except, Some(&self.socket), &head, attachments)
            }
            Target::Namespace { except } => {
                nsp.deliver(None, except, Some(&self.socket), &head, attachments)
            }
        };
        self.socket.app().metrics.emits.add(delivered as u64);
        delivered
    }

    /// Adds a socket (usually the caller's own) to a room. False when no such socket.
    pub fn join(&self, socket_id: &str, room: &str) -> bool {
        self.resolve(socket_id).is_some_and(|s| {
            s.join(room);
            true
        })
    }

    /// Removes a socket from a room. False when no such socket.
    pub fn leave(&self, socket_id: &str, room: &str) -> bool {
        self.resolve(socket_id).is_some_and(|s| {
            s.leave(room);
            true
        })
    }

    /// Disconnects a socket from the namespace (the client receives
    /// DISCONNECT and does not reconnect on its own). False when no such socket.
    pub fn disconnect(&self, socket_id: &str) -> bool {
        if socket_id == self.socket.id() {
            self.disconnect_self.store(true, Ordering::Release);
            return true;
        }
        let Some(other) = self.socket.namespace().socket(socket_id) else {
            return false;
        };
        if other.detach() {
            other.send_disconnect();
            tokio::spawn(async move {
                super::disconnect(&other, DisconnectReason::ServerNamespaceDisconnect).await;
            });
        }
        true
    }

    /// Number of sockets in a room of this namespace (on this node).
    pub fn room_size(&self, room: &str) -> usize {
        self.socket.namespace().room_size(room)
    }

    /// Ids of the sockets in a room of this namespace (on this node).
    pub fn room_members(&self, room: &str) -> Vec<String> {
        self.socket.namespace().room_members(room)
    }

    fn resolve(&self, socket_id: &str) -> Option<Arc<Socket>> {
        if socket_id == self.socket.id() {
            Some(self.socket.clone())
        } else {
            self.socket.namespace().socket(socket_id)
        }
    }

    /// Applies what had to wait for the handler to return.
    pub(crate) async fn apply_deferred(&self) {
        if self.disconnect_self.swap(false, Ordering::AcqRel) && self.socket.detach() {
            self.socket.send_disconnect();
            super::disconnect(&self.socket, DisconnectReason::ServerNamespaceDisconnect).await;
        }
    }
}
