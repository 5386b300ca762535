//! Randomness from the host.

use crate::host;

/// A random 64-bit number.
pub fn next_u64() -> u64 {
    host::random_u64()
}

/// `len` random bytes (at most 4096 per call).
pub fn bytes(len: u32) -> Vec<u8> {
    host::random_bytes(len.min(4096))
}
