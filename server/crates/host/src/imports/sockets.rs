//! `eddy:handler/sockets`: emits and rooms, checked here (budgets, JSON,
//! reserved names) before they reach the embedder.

use crate::bindings::eddy::handler::sockets::{EmitError, Host, Target};
use crate::state::HostState;

/// Event names Socket.IO clients reserve for themselves.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

fn is_json_array(text: &str) -> bool {
    text.trim_start().starts_with('[')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

impl Host for HostState {
    fn emit(
        &mut self,
        to: Target,
        event: String,
        args: String,
        attachments: Vec<Vec<u8>>,
    ) -> wasmtime::Result<Result<u32, EmitError>> {
        let scope = self.scope()?;
        if scope.emits_left == 0 {
            return Ok(Err(EmitError::LimitReached));
        }
        if event.is_empty() || RESERVED_EVENTS.contains(&event.as_str()) {
            return Ok(Err(EmitError::InvalidEvent));
        }
        let size = event.len() + args.len() + attachments.iter().map(Vec::len).sum::<usize>();
        if size > scope.max_payload {
            return Ok(Err(EmitError::TooLarge));
        }
        if !is_json_array(&args) {
            return Ok(Err(EmitError::InvalidArgs));
        }
        scope.emits_left -= 1;
        // Queueing for every member of a big room is host work, not the
        // guest's running time (bounds.rs).
        let started = std::time::Instant::now();
        let sent = scope.caps.emit(&to, &event, &args, &attachments);
        self.excuse(started.elapsed());
        Ok(sent)
    }

    fn join(&mut self, socket: String, room: String) -> wasmtime::Result<bool> {
        Ok(self.scope()?.caps.join(&socket, &room))
    }

    fn leave(&mut self, socket: String, room: String) -> wasmtime::Result<bool> {
        Ok(self.scope()?.caps.leave(&socket, &room))
    }

    fn disconnect(&mut self, socket: String) -> wasmtime::Result<bool> {
        Ok(self.scope()?.caps.disconnect(&socket))
    }

    fn room_size(&mut self, room: String) -> wasmtime::Result<u32> {
        Ok(self.scope()?.caps.room_size(&room))
    }

    fn room_members(&mut self, room: String) -> wasmtime::Result<Vec<String>> {
        Ok(self.scope()?.caps.room_members(&room))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_arrays_only() {
        assert!(super::is_json_array("[1,\"a\"]"));
        assert!(super::is_json_array(" []"));
        assert!(!super::is_json_array("{}"));
        assert!(!super::is_json_array("[1,"));
        assert!(!super::is_json_array("1"));
    }
}
