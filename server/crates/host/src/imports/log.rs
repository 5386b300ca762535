//! `eddy:handler/log`: lines for the app's operators (the embedder rate-limits).

use crate::bindings::eddy::handler::log::{Host, Level};
use crate::state::HostState;

/// Longest line kept; the rest is cut.
const MAX_LINE_BYTES: usize = 4096;

impl Host for HostState {
    fn write(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        if message.len() > MAX_LINE_BYTES {
            let cut = message.floor_char_boundary(MAX_LINE_BYTES);
            message.truncate(cut);
            message.push('…');
        }
        self.scope()?.caps.log(level, &message);
        Ok(())
    }
}
