//! Emits being built: recipients, arguments, then `send`.

use serde::Serialize;

use crate::host::{self, EmitError, To};

/// An emit being built: pick recipients, add arguments, then [`Emit::send`].
/// From [`Context::emit`](crate::Context::emit) (addressed to the calling
/// socket until told otherwise) or [`Unaddressed`].
#[must_use = "an emit does nothing until it is sent"]
pub struct Emit<'a> {
    /// The calling socket, if the hook has one (`on_timer` has none).
    me: Option<&'a str>,
    event: String,
    to: To,
    /// The JSON array being built, without its closing bracket.
    args: String,
    attachments: Vec<Vec<u8>>,
}

impl<'a> Emit<'a> {
    pub(crate) fn new(me: Option<&'a str>, event: &str, to: To) -> Self {
        Self {
            me,
            event: event.to_owned(),
            to,
            args: String::from("["),
            attachments: Vec::new(),
        }
    }

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

    /// Leaves out the calling socket. In `on_timer`, which has no calling
    /// socket, it leaves out nobody.
    pub fn except_me(self) -> Self {
        match self.me {
            Some(me) => self.except(me),
            None => self,
        }
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

/// An emit from a hook without a calling socket
/// ([`TimerContext::emit`](crate::TimerContext::emit)): it has no
/// recipients until one of these methods names them, so it cannot be sent
/// to a socket that is not there.
#[must_use = "an emit does nothing until it is addressed and sent"]
pub struct Unaddressed {
    event: String,
}

impl Unaddressed {
    pub(crate) fn new(event: &str) -> Self {
        Self {
            event: event.to_owned(),
        }
    }

    /// To one socket of the namespace.
    pub fn to_socket(self, socket_id: &str) -> Emit<'static> {
        Emit::new(None, &self.event, To::Socket(socket_id.to_owned()))
    }

    /// To the members of `room` (add rooms and exceptions on the [`Emit`]).
    pub fn to_room(self, room: &str) -> Emit<'static> {
        Emit::new(
            None,
            &self.event,
            To::Rooms {
                rooms: vec![room.to_owned()],
                except: Vec::new(),
            },
        )
    }

    /// To every socket of the namespace.
    pub fn to_all(self) -> Emit<'static> {
        Emit::new(None, &self.event, To::Namespace { except: Vec::new() })
    }
}
