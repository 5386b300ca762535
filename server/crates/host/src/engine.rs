//! The process-wide wasmtime engine: configuration, the epoch ticker, the
//! linker with every import, and loading (checking + compiling) components.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::App;
use crate::bindings::v0_1::App as AppV0_1;
use crate::cache::Cache;
use crate::pool::Contract;
use crate::state::HostState;
use crate::{HostFault, LoadError, validate};

/// How often the epoch advances: the granularity of deadlines, and how
/// long a busy guest runs before it yields to other tasks.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// Ticks with no guest work before the ticker parks. While guest work
/// comes and goes (a loaded server), the ticker keeps ticking and a call
/// pays one atomic increment; only an idle server's ticker sleeps.
const PARK_AFTER_IDLE_TICKS: u32 = 100;

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where compiled components are cached (`None`: compile every load).
    pub cache_dir: Option<PathBuf>,
    /// Most handler instances alive at once, across all apps.
    pub max_instances: u32,
    /// The most memory any one instance may have (apps set lower limits).
    pub max_memory_bytes: usize,
    /// The largest component accepted.
    pub max_component_bytes: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_instances: 1000,
            max_memory_bytes: 512 << 20,
            max_component_bytes: 32 << 20,
        }
    }
}

/// A compiled, checked component, ready for [`crate::HandlerPool::new`].
#[derive(Clone)]
pub struct LoadedComponent {
    pub(crate) component: Component,
    /// Hex SHA-256 of the uploaded bytes.
    pub content_hash: String,
    pub size: usize,
    /// The contract version it was built against.
    pub contract: Contract,
    /// The SDK that built it, as the SDK stamped it (`None`: not built
    /// with eddy-sdk, or with one from before the stamp).
    pub sdk_version: Option<String>,
}

#[derive(Clone)]
pub struct HostEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    options: EngineOptions,
    cache: Option<Cache>,
    ticker: Ticker,
}

/// The epoch ticker and what wakes it: it advances the epoch every
/// [`TICK`] while guest code may run, and parks when none has for
/// [`PARK_AFTER_IDLE_TICKS`], so an idle server makes no wake-ups for it.
struct Ticker {
    shared: Arc<TickerShared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct TickerShared {
    stop: AtomicBool,
    /// Guest work (calls, start-ups) in progress.
    active: AtomicUsize,
    /// The ticker is parked, or about to park.
    parked: AtomicBool,
}

/// Held while guest code may run: the ticker ticks until it is dropped.
pub(crate) struct GuestWork<'a> {
    shared: &'a TickerShared,
}

impl Drop for GuestWork<'_> {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticker {
    fn start(engine: Engine) -> std::io::Result<Self> {
        let shared = Arc::new(TickerShared::default());
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("eddy-epoch".into())
            .spawn(move || {
                let mut idle = 0u32;
                while !state.stop.load(Ordering::Acquire) {
                    if state.active.load(Ordering::SeqCst) > 0 {
                        idle = 0;
                    } else {
                        idle += 1;
                    }
                    if idle >= PARK_AFTER_IDLE_TICKS {
                        // Said before looking again: work that starts after
                        // the look below sees `parked` and unparks us.
                        state.parked.store(true, Ordering::SeqCst);
                        if state.active.load(Ordering::SeqCst) == 0
                            && !state.stop.load(Ordering::Acquire)
                        {
                            std::thread::park();
                        }
                        state.parked.store(false, Ordering::SeqCst);
                        idle = 0;
                        continue;
                    }
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Guest work begins: the ticker ticks (woken if it was parked).
    fn work(&self) -> GuestWork<'_> {
        let first = self.shared.active.fetch_add(1, Ordering::SeqCst) == 0;
        if first
            && self.shared.parked.load(Ordering::SeqCst)
            && let Some(thread) = &self.thread
        {
            thread.thread().unpark();
        }
        GuestWork {
            shared: &self.shared,
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl HostEngine {
    pub fn new(options: EngineOptions) -> Result<Self, HostFault> {
        let fault = |what: &str, e: wasmtime::Error| HostFault(format!("{what}: {e:#}"));
        let engine =
            Engine::new(&config(&options)).map_err(|e| fault("cannot configure wasmtime", e))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| fault("cannot link WASI", e))?;
        App::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|e| fault("cannot link eddy:handler", e))?;
        AppV0_1::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|e| fault("cannot link eddy:handler@0.1.0", e))?;
        let cache =
            match &options.cache_dir {
                Some(dir) => Some(Cache::new(dir.clone(), &engine).map_err(|e| {
                    HostFault(format!("cannot use cache dir {}: {e}", dir.display()))
                })?),
                None => None,
            };
        let ticker = Ticker::start(engine.clone())
            .map_err(|e| HostFault(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                options,
                cache,
                ticker,
            }),
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.inner.linker
    }

    /// Marks guest work (a call, a start-up) in progress until dropped:
    /// its deadline needs the epoch to advance.
    pub(crate) fn guest_work(&self) -> GuestWork<'_> {
        self.inner.ticker.work()
    }

    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    /// Checks and compiles a component (or loads its cached compilation).
    /// CPU-heavy on a cache miss: call it off the async runtime's threads.
    pub fn load(&self, wasm: &[u8]) -> Result<LoadedComponent, LoadError> {
        validate::header(wasm, self.inner.options.max_component_bytes)?;
        let content_hash = content_hash(wasm);
        let component = match &self.inner.cache {
            Some(cache) => cache.load_or_compile(&self.inner.engine, &content_hash, wasm)?,
            None => Component::new(&self.inner.engine, wasm)
                .map_err(|e| LoadError::Invalid(format!("{e:#}")))?,
        };
        validate::imports(&self.inner.engine, &component)?;
        Ok(LoadedComponent {
            contract: validate::contract(&self.inner.engine, &component)?,
            sdk_version: validate::sdk_version(wasm),
            component,
            content_hash,
            size: wasm.len(),
        })
    }
}

/// Hex SHA-256: the content address of an upload.
pub(crate) fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn config(options: &EngineOptions) -> Config {
    let n = options.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    // A Rust wasip2 component is a few core instances (the guest plus
    // adapter shims), each with its tables; size the pool for that.
    pool.total_component_instances(n)
        .total_core_instances(n * 4)
        .total_memories(n * 2)
        .total_tables(n * 4)
        .total_stacks(n)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        .max_memory_size(options.max_memory_bytes);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true)
        // Measured here: halves the cost of a call into a component.
        .concurrency_support(false)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20);
    config
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("content_hash", &self.content_hash)
            .field("size", &self.size)
            .field("contract", &self.contract)
            .field("sdk_version", &self.sdk_version)
            .finish_non_exhaustive()
    }
}
