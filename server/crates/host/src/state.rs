//! What a store carries: the locked-down WASI context, the memory limiter,
//! captured stdout/stderr, and the capabilities of the call in progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::caps::Capabilities;
use crate::limiter::{MemoryBudget, MemoryLimiter};
use crate::stdio::GuestOutput;

pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    pub stdout: GuestOutput,
    pub stderr: GuestOutput,
    /// Set for the duration of one hook call.
    pub call: Option<CallScope>,
    /// Past this instant, running guest code is interrupted (see
    /// `bounds.rs`). Set while instantiating and during a hook call.
    pub deadline: Option<Instant>,
    /// Host time this call is not billed for (fan-out to big rooms), in
    /// nanoseconds: read by the call's wall-clock bound, which runs beside
    /// the store (see `bounds.rs`).
    pub(crate) excused: Arc<AtomicU64>,
}

/// One hook call: whose capabilities, since when, and what is left of its budgets.
pub(crate) struct CallScope {
    pub caps: Arc<dyn Capabilities>,
    pub started: Instant,
    pub emits_left: u32,
    pub max_payload: usize,
}

impl HostState {
    pub(crate) fn new(memory_limit: usize, budget: Option<Arc<MemoryBudget>>) -> Self {
        let stdout = GuestOutput::default();
        let stderr = GuestOutput::default();
        // No arguments, no environment, no preopened directories, no
        // network: the handler reaches the world only through our imports.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_limit, budget),
            stdout,
            stderr,
            call: None,
            deadline: None,
            excused: Arc::default(),
        }
    }

    /// Moves this call's deadline out by `took`, host work done for the
    /// guest that is not its own running time, up to
    /// [`crate::bounds::MAX_EXCUSED`] per call.
    pub(crate) fn excuse(&mut self, took: Duration) {
        let so_far = Duration::from_nanos(self.excused.load(Ordering::Relaxed));
        let granted = took.min(crate::bounds::MAX_EXCUSED.saturating_sub(so_far));
        if granted.is_zero() {
            return;
        }
        self.excused
            .fetch_add(granted.as_nanos() as u64, Ordering::Relaxed);
        if let Some(deadline) = &mut self.deadline {
            *deadline += granted;
        }
    }

    /// The current call, or a trap: imports are only usable inside a hook.
    pub(crate) fn scope(&mut self) -> wasmtime::Result<&mut CallScope> {
        self.call
            .as_mut()
            .ok_or_else(|| wasmtime::Error::msg("an eddy:handler import was called outside a hook"))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
