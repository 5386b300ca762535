//! Why a socket left its namespace: the session's close reason, or a
//! namespace-level disconnect by either side. The strings are those
//! Socket.IO servers hand to `disconnect` listeners.

use crate::session::CloseReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The whole session closed.
    Session(CloseReason),
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server (a handler, an operator) removed the socket from the namespace.
    ServerNamespaceDisconnect,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session(reason) => reason.as_str(),
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a server-to-client ack did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("the client did not acknowledge in time")]
    Timeout,
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
}

/// Why a socket could not join a room: one of the app's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("the room name is longer than the app's max_room_name_bytes ({max} bytes)")]
    NameTooLong { max: u64 },
    #[error("the socket is already in the app's max_rooms_per_socket ({max} rooms)")]
    TooManyRooms { max: u64 },
}
