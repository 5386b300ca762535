//! `eddy:handler/clock`: coarse wall-clock time (milliseconds, no finer:
//! handlers share a process, so no high-resolution timer).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::bindings::eddy::handler::clock::Host;
use crate::state::HostState;

impl Host for HostState {
    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64))
    }
}
