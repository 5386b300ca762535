//! The calling socket and what a handler can do with it.

use std::cell::RefCell;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::data::{self, DataError};
use crate::emit::Emit;
use crate::host::{self, To};
use crate::kv::Kv;
use crate::timers::Timers;

/// The socket a hook is about, and the app's capabilities: emit, rooms,
/// disconnect, socket data, and (as in every hook) [`kv`](Context::kv),
/// [`timers`](Context::timers) and [`config`](Context::config).
/// Everything is scoped to the app and this namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub(crate) app: String,
    pub(crate) namespace: String,
    pub(crate) socket: String,
    /// The socket's data as the hook began, updated by `set_data` so the
    /// hook reads what it wrote without asking the host.
    pub(crate) data: RefCell<Option<String>>,
}

impl Context {
    pub(crate) fn new(app: &str, namespace: &str, socket: &str, data: Option<String>) -> Self {
        Self {
            app: app.to_owned(),
            namespace: namespace.to_owned(),
            socket: socket.to_owned(),
            data: RefCell::new(data),
        }
    }

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

    /// The calling socket's data parsed as `T`: what
    /// [`ConnectReply::data`](crate::ConnectReply::data) attached or
    /// [`Context::set_data`] last set. `None` when there is none or it
    /// does not fit `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        self.data
            .borrow()
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }

    /// The calling socket's data as JSON text.
    pub fn data_raw(&self) -> Option<String> {
        self.data.borrow().clone()
    }

    /// Replaces the calling socket's data with `data` (as JSON, at most
    /// 64 KiB). This hook's [`Context::data`] and every later hook of the
    /// socket, `on_disconnect` included, see it.
    ///
    /// ```no_run
    /// # fn f(cx: &eddy_sdk::Context) -> Result<(), eddy_sdk::DataError> {
    /// let mut seen: u32 = cx.data().unwrap_or(0);
    /// seen += 1;
    /// cx.set_data(&seen)?;
    /// # Ok(()) }
    /// ```
    pub fn set_data<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), DataError> {
        let json = data::to_json(data)?;
        host::data_set(&self.socket, Some(&json))?;
        *self.data.borrow_mut() = Some(json);
        Ok(())
    }

    /// Removes the calling socket's data.
    pub fn clear_data(&self) -> Result<(), DataError> {
        host::data_set(&self.socket, None)?;
        *self.data.borrow_mut() = None;
        Ok(())
    }

    /// Another socket's data (of this namespace, on this node) parsed as
    /// `T`; `None` when it has none, does not fit `T`, or is not here.
    pub fn socket_data<T: DeserializeOwned>(&self, socket_id: &str) -> Option<T> {
        if socket_id == self.socket {
            return self.data();
        }
        data::read(socket_id)
    }

    /// Replaces another socket's data (as [`Context::set_data`] does for
    /// the calling one).
    pub fn set_socket_data<T: Serialize + ?Sized>(
        &self,
        socket_id: &str,
        data: &T,
    ) -> Result<(), DataError> {
        if socket_id == self.socket {
            return self.set_data(data);
        }
        host::data_set(socket_id, Some(&data::to_json(data)?))
    }

    /// Starts an emit of `event`, by default to the calling socket.
    ///
    /// ```no_run
    /// # fn f(cx: &eddy_sdk::Context) -> Result<(), eddy_sdk::EmitError> {
    /// cx.emit("chat").to_room("lobby").except_me().arg("hello")?.send()?;
    /// # Ok(()) }
    /// ```
    pub fn emit(&self, event: &str) -> Emit<'_> {
        Emit::new(Some(&self.socket), event, To::Socket(self.socket.clone()))
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

    /// The app's key-value store (the functions of [`crate::kv`]).
    pub fn kv(&self) -> Kv {
        Kv
    }

    /// The app's timers (the functions of [`crate::timers`]).
    pub fn timers(&self) -> Timers {
        Timers
    }

    /// The app's config (the functions of [`crate::config`]).
    pub fn config(&self) -> Config {
        Config
    }
}
