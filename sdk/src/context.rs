//! The calling socket and what a handler can do with it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::host::{self, EmitError, To};

/// The socket a hook is about, and the app's capabilities: emit, rooms,
/// disconnect. Everything is scoped to the app and this namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub(crate) app: String,
    pub(crate) namespace: String,
    pub(crate) socket: String,
    pub(crate) data: Option<String>,
}

impl Context {
    /// The calling socket's id.
    pub fn socket_id(&self) -> &str {
        &self.socket
    }

    /// The namespace (`/` or one the client named).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The app's slug.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The data attached to this socket at connect time, parsed as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        self.data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }

    /// Starts an emit of `event`, by default to the calling socket.
    ///
    /// ```no_run
    /// # fn f(cx: &eddy_sdk::Context) -> Result<(), eddy_sdk::EmitError> {
    /// cx.emit("chat").to_room("lobby").except_me().arg("hello")?.send()?;
    /// # Ok(()) }
    /// ```
    pub fn emit(&self, event: &str) -> Emit<'_> {
        Emit {
            cx: self,
            event: event.to_owned(),
            to: To::Socket(self.socket.clone()),
            args: String::from("["),
            attachments: Vec::new(),
        }
    }

    /// Adds the calling socket to `room`. False when the app's limits
    /// refuse it (`max_rooms_per_socket`, `max_room_name_bytes`; the reason
    /// is in the app's log).
    pub fn join(&self, room: &str) -> bool {
        host::join(&self.socket, room)
    }

    /// Removes the calling socket from `room`.
    pub fn leave(&self, room: &str) {
        host::leave(&self.socket, room);
    }

    /// Adds another socket of this namespace to `room`; false if it is gone
    /// or the app's limits refuse the join.
    pub fn join_socket(&self, socket_id: &str, room: &str) -> bool {
        host::join(socket_id, room)
    }

    /// Removes another socket from `room`; false if it is gone.
    pub fn leave_socket(&self, socket_id: &str, room: &str) -> bool {
        host::leave(socket_id, room)
    }

    /// Disconnects the calling socket from the namespace once this hook returns.
    pub fn disconnect(&self) {
        host::disconnect(&self.socket);
    }

    /// Disconnects another socket of this namespace; false if it is gone.
    pub fn disconnect_socket(&self, socket_id: &str) -> bool {
        host::disconnect(socket_id)
    }

    /// How many sockets are in `room`.
    pub fn room_size(&self, room: &str) -> u32 {
        host::room_size(room)
    }

    /// The socket ids in `room`.
    pub fn room_members(&self, room: &str) -> Vec<String> {
        host::room_members(room)
    }
}

/// An emit being built: pick recipients, add arguments, then [`Emit::send`].
#[must_use = "an emit does nothing until it is sent"]
pub struct Emit<'a> {
    cx: &'a Context,
    event: String,
    to: To,
    /// The JSON array being built, without its closing bracket.
    args: String,
    attachments: Vec<Vec<u8>>,
}

impl Emit<'_> {
    /// Sends to one socket of this namespace.
    pub fn to_socket(mut self, socket_id: &str) -> Self {
        self.to = To::Socket(socket_id.to_owned());
        self
    }

    /// Sends to the members of `room` (call again to add rooms).
    pub fn to_room(mut self, room: &str) -> Self {
        match &mut self.to {
            To::Rooms { rooms, .. } => rooms.push(room.to_owned()),
            _ => {
                self.to = To::Rooms {
                    rooms: vec![room.to_owned()],
                    except: Vec::new(),
                }
            }
        }
        self
    }

    /// Sends to every socket of the namespace.
    pub fn to_all(mut self) -> Self {
        self.to = To::Namespace { except: Vec::new() };
        self
    }

    /// Leaves out the members of `room` (a socket id leaves out that socket).
    pub fn except(mut self, room: &str) -> Self {
        match &mut self.to {
            To::Rooms { except, .. } | To::Namespace { except } => except.push(room.to_owned()),
            To::Socket(_) => {}
        }
        self
    }

    /// Leaves out the calling socket.
    pub fn except_me(self) -> Self {
        let me = self.cx.socket.clone();
        self.except(&me)
    }

    /// Appends one argument, serialized as JSON.
    pub fn arg<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self, EmitError> {
        let json = serde_json::to_string(value).map_err(|_| EmitError::InvalidArgs)?;
        self.push_raw(&json);
        Ok(self)
    }

    /// Appends a binary argument (sent as a Socket.IO attachment).
    pub fn binary(mut self, data: impl Into<Vec<u8>>) -> Self {
        let placeholder = format!(
            "{{\"_placeholder\":true,\"num\":{}}}",
            self.attachments.len()
        );
        self.push_raw(&placeholder);
        self.attachments.push(data.into());
        self
    }

    /// Replaces the arguments with a JSON array as it is, with its
    /// attachments (to forward an event's arguments unchanged).
    pub fn raw_args(mut self, json_array: &str, attachments: Vec<Vec<u8>>) -> Self {
        let trimmed = json_array.trim();
        self.args = trimmed.strip_suffix(']').unwrap_or(trimmed).to_owned();
        self.attachments = attachments;
        self
    }

    fn push_raw(&mut self, json: &str) {
        if self.args.len() > 1 {
            self.args.push(',');
        }
        self.args.push_str(json);
    }

    /// Sends; returns how many sockets it was queued for.
    pub fn send(mut self) -> Result<u32, EmitError> {
        self.args.push(']');
        host::emit(self.to, &self.event, &self.args, &self.attachments)
    }
}
