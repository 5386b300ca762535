//! The capabilities a handler holds while it runs, scoped to its own app and
//! namespace: it can only name sockets and rooms of that namespace.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use eddy_cluster::SocketOp;

use crate::socket::{DisconnectReason, JoinError, Socket, encode_event};

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
        super::fanout::emit(
            self.socket.app(),
            nsp.name(),
            Some(nsp),
            to,
            Some(&self.socket),
            head,
            attachments,
        )
    }

    /// Adds a socket (usually the caller's own) to a room. False when no
    /// such socket, or when the app's limits refuse the join (the reason goes
    /// to the app's log).
    pub fn join(&self, socket_id: &str, room: &str) -> bool {
        let app = self.socket.app();
        match self.resolve(socket_id) {
            Some(s) => match s.join(room) {
                Ok(()) => true,
                Err(refused) => {
                    app.refused_join(room, refused);
                    false
                }
            },
            None => {
                // The node that has the socket applies every limit; the
                // name is checked here too so the handler hears of it.
                let max_name = app.limits().max_room_name_bytes;
                if room.len() as u64 > max_name {
                    app.refused_join(room, JoinError::NameTooLong { max: max_name });
                    return false;
                }
                self.remote(socket_id, SocketOp::Join { room: room.into() })
            }
        }
    }

    /// Removes a socket from a room. False when no such socket.
    pub fn leave(&self, socket_id: &str, room: &str) -> bool {
        match self.resolve(socket_id) {
            Some(s) => {
                s.leave(room);
                true
            }
            None => self.remote(socket_id, SocketOp::Leave { room: room.into() }),
        }
    }

    /// Asks the node that has `socket_id` to apply `op`; false when no live
    /// node has such a socket.
    fn remote(&self, socket_id: &str, op: SocketOp) -> bool {
        let link = &self.socket.app().cluster;
        if !link.has_peers() || !link.cluster.knows_socket(socket_id) {
            return false;
        }
        link.cluster.command(eddy_cluster::Command {
            app: self.app().to_owned(),
            namespace: self.namespace().to_owned(),
            socket: socket_id.to_owned(),
            op,
        });
        true
    }

    /// Disconnects a socket from the namespace (the client receives
    /// DISCONNECT and does not reconnect on its own). False when no such socket.
    pub fn disconnect(&self, socket_id: &str) -> bool {
        if socket_id == self.socket.id() {
            self.disconnect_self.store(true, Ordering::Release);
            return true;
        }
        let Some(other) = self.socket.namespace().socket(socket_id) else {
            return self.remote(socket_id, SocketOp::Disconnect);
        };
        super::disconnect_by_server(other);
        true
    }

    /// Number of sockets in a room of this namespace, on every node (other
    /// nodes' counts are a moment old).
    pub fn room_size(&self, room: &str) -> usize {
        let nsp = self.socket.namespace();
        nsp.room_size(room)
            + self
                .socket
                .app()
                .cluster
                .remote_room_size(self.app(), nsp.name(), room)
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
