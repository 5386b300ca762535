//! `eddy:handler/socket-data`: JSON kept with a socket while it is
//! connected, checked here (size, JSON) before the embedder keeps it.

use crate::bindings::eddy::handler::socket_data::{DataError, Host};
use crate::state::HostState;

/// Largest data one socket keeps.
pub const MAX_SOCKET_DATA_BYTES: usize = 64 * 1024;

impl Host for HostState {
    fn get(&mut self, socket: String) -> wasmtime::Result<Option<String>> {
        Ok(self.scope()?.caps.socket_data(&socket))
    }

    fn set(
        &mut self,
        socket: String,
        data: Option<String>,
    ) -> wasmtime::Result<Result<(), DataError>> {
        let caps = &self.scope()?.caps;
        if let Some(data) = &data {
            if data.len() > MAX_SOCKET_DATA_BYTES {
                return Ok(Err(DataError::TooLarge));
            }
            if serde_json::from_str::<serde::de::IgnoredAny>(data).is_err() {
                return Ok(Err(DataError::NotJson));
            }
        }
        Ok(caps.set_socket_data(&socket, data))
    }
}
