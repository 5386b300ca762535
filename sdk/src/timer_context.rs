//! What `on_timer` can do: everything a socket's hook can, except act as
//! "the calling socket", because a timer has none.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::data::{self, DataError};
use crate::emit::Unaddressed;
use crate::host;
use crate::kv::Kv;
use crate::timers::Timers;

/// The scope of a timer that fell due: its app and the namespace it was
/// set from. Emits, rooms and sockets reach that namespace.
///
/// It is a type of its own, not a [`Context`](crate::Context) with an
/// empty socket id, so that what needs a calling socket does not compile
/// here: [`TimerContext::emit`] must be told its recipients, and rooms are
/// joined and left by socket id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerContext {
    pub(crate) app: String,
    pub(crate) namespace: String,
}

impl TimerContext {
    pub(crate) fn new(app: &str, namespace: &str) -> Self {
        Self {
            app: app.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    /// The app's slug.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The namespace the timer was set from.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Starts an emit of `event`; name its recipients next.
    ///
    /// ```no_run
    /// # fn f(cx: &eddy_sdk::TimerContext) -> Result<(), eddy_sdk::EmitError> {
    /// cx.emit("tick").to_room("game/1").arg(&42)?.send()?;
    /// # Ok(()) }
    /// ```
    pub fn emit(&self, event: &str) -> Unaddressed {
        Unaddressed::new(event)
    }

    /// Adds a socket of the namespace to `room`; false if it is gone or the
    /// app's limits refuse the join.
    pub fn join_socket(&self, socket_id: &str, room: &str) -> bool {
        host::join(socket_id, room)
    }

    /// Removes a socket from `room`; false if it is gone.
    pub fn leave_socket(&self, socket_id: &str, room: &str) -> bool {
        host::leave(socket_id, room)
    }

    /// Disconnects a socket of the namespace; false if it is gone.
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

    /// A socket's data parsed as `T`; `None` when it has none, does not
    /// fit `T`, or is not on this node.
    pub fn socket_data<T: DeserializeOwned>(&self, socket_id: &str) -> Option<T> {
        data::read(socket_id)
    }

    /// Replaces a socket's data (as JSON, at most 64 KiB).
    pub fn set_socket_data<T: Serialize + ?Sized>(
        &self,
        socket_id: &str,
        data: &T,
    ) -> Result<(), DataError> {
        host::data_set(socket_id, Some(&data::to_json(data)?))
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
