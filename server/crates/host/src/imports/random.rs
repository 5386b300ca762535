//! `eddy:handler/random`: the host's randomness.

use rand::RngCore;

use crate::bindings::eddy::handler::random::Host;
use crate::state::HostState;

const MAX_BYTES: u32 = 4096;

impl Host for HostState {
    fn bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        let mut out = vec![0u8; len.min(MAX_BYTES) as usize];
        rand::rng().fill_bytes(&mut out);
        Ok(out)
    }

    fn next_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(rand::random())
    }
}
