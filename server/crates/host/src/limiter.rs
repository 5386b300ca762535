//! The per-app memory cap, enforced as the guest grows its memory.

use wasmtime::ResourceLimiter;

pub(crate) struct MemoryLimiter {
    limit: usize,
    /// Set when the guest tried to grow past the limit: the trap that follows
    /// is then reported as a memory fault.
    pub exceeded: bool,
    /// The guest's linear memory now (wasmtime reports the initial size as
    /// a growth from zero, so this is exact).
    pub bytes: usize,
}

/// Table elements a handler may have (function tables stay small in practice).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            exceeded: false,
            bytes: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded (wanted {desired})",
                self.limit
            )));
        }
        self.bytes = desired;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
