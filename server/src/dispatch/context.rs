//! The capabilities a handler holds while it runs, scoped to its own app and
//! namespace: it can only name sockets and rooms of that namespace.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use eddy_cluster::SocketOp;

use crate::socket::{DisconnectReason, JoinError, Namespace, Socket, encode_event};
use crate::tenant::App;

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

/// What a hook reaches: one namespace of one app, on this node and through
/// the cluster, and the socket the hook is about (none for a timer).
pub(crate) struct Scope<'a> {
    app: &'a Arc<App>,
    namespace: &'a str,
    /// The namespace on this node, if any socket of it is here (borrowed
    /// from the calling socket: no reference count touched per emit).
    local: Option<Cow<'a, Arc<Namespace>>>,
    caller: Option<&'a Arc<Socket>>,
}

impl<'a> Scope<'a> {
    /// A namespace of `app` with no calling socket (a timer's hook).
    pub(crate) fn of_namespace(app: &'a Arc<App>, namespace: &'a str) -> Self {
        Self {
            app,
            namespace,
            local: app.existing_namespace(namespace).map(Cow::Owned),
            caller: None,
        }
    }

    /// Emits `event` with `args` (a valid JSON array; placeholders for
    /// `attachments`). Encodes once whatever the number of recipients and
    /// returns how many sockets it was queued for.
    pub(crate) fn emit(
        &self,
        to: Target<'_>,
        event: &str,
        args: &str,
        attachments: &[Bytes],
    ) -> usize {
        let Some(head) = encode_event(self.namespace, event, None, args, attachments.len()) else {
            debug_assert!(false, "emit args must be a JSON array: {args}");
            return 0;
        };
        super::fanout::emit(
            self.app,
            self.namespace,
            self.local.as_deref().map(|nsp| &**nsp),
            to,
            self.caller.map(|s| &**s),
            head,
            attachments,
        )
    }

    /// Adds a socket to a room. False when no such socket, or when the
    /// app's limits refuse the join (the reason goes to the app's log).
    pub(crate) fn join(&self, socket_id: &str, room: &str) -> bool {
        match self.resolve(socket_id) {
            Some(s) => match s.join(room) {
                Ok(()) => true,
                Err(refused) => {
                    self.app.refused_join(room, refused);
                    false
                }
            },
            None => {
                // The node that has the socket applies every limit; the
                // name is checked here too so the handler hears of it.
                let max_name = self.app.limits().max_room_name_bytes;
                if room.len() as u64 > max_name {
                    self.app
                        .refused_join(room, JoinError::NameTooLong { max: max_name });
                    return false;
                }
                self.remote(socket_id, SocketOp::Join { room: room.into() })
            }
        }
    }

    /// Removes a socket from a room. False when no such socket.
    pub(crate) fn leave(&self, socket_id: &str, room: &str) -> bool {
        match self.resolve(socket_id) {
            Some(s) => {
                s.leave(room);
                true
            }
            None => self.remote(socket_id, SocketOp::Leave { room: room.into() }),
        }
    }

    /// Disconnects a socket other than the caller. False when no such socket.
    pub(crate) fn disconnect_other(&self, socket_id: &str) -> bool {
        match self.local.as_ref().and_then(|nsp| nsp.socket(socket_id)) {
            Some(other) => {
                super::disconnect_by_server(other);
                true
            }
            None => self.remote(socket_id, SocketOp::Disconnect),
        }
    }

    /// Asks the node that has `socket_id` to apply `op`; false when no live
    /// node has such a socket.
    fn remote(&self, socket_id: &str, op: SocketOp) -> bool {
        let link = &self.app.cluster;
        if !link.has_peers() || !link.cluster.knows_socket(socket_id) {
            return false;
        }
        link.cluster.command(eddy_cluster::Command {
            app: self.app.slug.to_string(),
            namespace: self.namespace.to_owned(),
            socket: socket_id.to_owned(),
            op,
        });
        true
    }

    /// Number of sockets in a room of this namespace, on every node (other
    /// nodes' counts are a moment old).
    pub(crate) fn room_size(&self, room: &str) -> usize {
        self.local.as_ref().map_or(0, |nsp| nsp.room_size(room))
            + self
                .app
                .cluster
                .remote_room_size(&self.app.slug, self.namespace, room)
    }

    /// Ids of the sockets in a room of this namespace (on this node).
    pub(crate) fn room_members(&self, room: &str) -> Vec<String> {
        self.local
            .as_ref()
            .map_or_else(Vec::new, |nsp| nsp.room_members(room))
    }

    /// The namespace's name.
    pub(crate) fn namespace_name(&self) -> &'a str {
        self.namespace
    }

    /// A socket of this namespace on this node.
    pub(crate) fn resolve(&self, socket_id: &str) -> Option<Arc<Socket>> {
        match self.caller {
            Some(caller) if caller.id() == socket_id => Some(caller.clone()),
            _ => self.local.as_ref()?.socket(socket_id),
        }
    }
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

    pub(crate) fn app_ref(&self) -> &Arc<App> {
        self.socket.app()
    }

    /// The JSON data attached to the socket (at connect, or since by the
    /// handler).
    pub fn socket_data(&self) -> Option<Arc<str>> {
        self.socket.data()
    }

    /// What this socket's hooks reach.
    pub(crate) fn scope(&self) -> Scope<'_> {
        Scope {
            app: self.socket.app(),
            namespace: self.socket.namespace().name(),
            local: Some(Cow::Borrowed(self.socket.namespace())),
            caller: Some(&self.socket),
        }
    }

    /// See [`Scope::emit`].
    pub fn emit(&self, to: Target<'_>, event: &str, args: &str, attachments: &[Bytes]) -> usize {
        self.scope().emit(to, event, args, attachments)
    }

    /// Adds a socket (usually the caller's own) to a room; see [`Scope::join`].
    pub fn join(&self, socket_id: &str, room: &str) -> bool {
        self.scope().join(socket_id, room)
    }

    /// Removes a socket from a room. False when no such socket.
    pub fn leave(&self, socket_id: &str, room: &str) -> bool {
        self.scope().leave(socket_id, room)
    }

    /// Disconnects a socket from the namespace (the client receives
    /// DISCONNECT and does not reconnect on its own). False when no such socket.
    pub fn disconnect(&self, socket_id: &str) -> bool {
        if socket_id == self.socket.id() {
            self.disconnect_self.store(true, Ordering::Release);
            return true;
        }
        self.scope().disconnect_other(socket_id)
    }

    /// See [`Scope::room_size`].
    pub fn room_size(&self, room: &str) -> usize {
        self.scope().room_size(room)
    }

    /// Ids of the sockets in a room of this namespace (on this node).
    pub fn room_members(&self, room: &str) -> Vec<String> {
        self.socket.namespace().room_members(room)
    }

    /// Applies what had to wait for the handler to return.
    pub(crate) async fn apply_deferred(&self) {
        if self.disconnect_self.swap(false, Ordering::AcqRel) && self.socket.detach() {
            self.socket.send_disconnect();
            super::disconnect(&self.socket, DisconnectReason::ServerNamespaceDisconnect).await;
        }
    }
}
