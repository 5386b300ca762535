//! Data kept with a socket while it is connected: what
//! [`ConnectReply::data`](crate::ConnectReply::data) attached, and what
//! [`Context::set_data`](crate::Context::set_data) changes. Later hooks,
//! `on_disconnect` included, see it in [`Context::data`](crate::Context::data).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::EventError;
use crate::host;

/// The most data one socket keeps, in bytes of JSON.
pub const MAX_DATA_BYTES: usize = 64 * 1024;

/// Why a socket's data was not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// There is no such socket on this node (it left, or lives on another).
    NoSuchSocket,
    /// The data is not valid JSON (or could not be serialized; the message
    /// says why).
    NotJson,
    /// The data is larger than 64 KiB.
    TooLarge,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoSuchSocket => "no such socket on this node",
            Self::NotJson => "socket data is not JSON",
            Self::TooLarge => "socket data over 64 KiB",
        })
    }
}

impl std::error::Error for DataError {}

impl From<DataError> for EventError {
    fn from(e: DataError) -> Self {
        Self::new("data_failed", e.to_string())
    }
}

/// `value` as the JSON text the host keeps.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, DataError> {
    serde_json::to_string(value).map_err(|_| DataError::NotJson)
}

/// A socket's data parsed as `T`; `None` when it has none or it does not fit.
pub(crate) fn read<T: DeserializeOwned>(socket: &str) -> Option<T> {
    host::data_get(socket).and_then(|d| serde_json::from_str(&d).ok())
}
