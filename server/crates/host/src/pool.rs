//! A pool of live instances of one app version. One instance serves one
//! call at a time and is reused afterwards; an instance that faulted is
//! dropped (wasmtime refuses to re-enter a trapped component anyway) and the
//! next call gets a fresh one from the pre-instantiated component.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};
use wasmtime::{Store, Trap, WasmBacktrace};

use crate::backoff::StartBackoff;
use crate::bindings::v0_1::{App as AppV0_1, AppPre as AppPreV0_1};
use crate::bindings::{App, AppPre};
use crate::bounds;
use crate::caps::Capabilities;
use crate::engine::{GuestWork, HostEngine, LoadedComponent};
use crate::imports::v0_1::hooks as v0_1;
use crate::limiter::{Exceeded, MemoryBudget};
use crate::state::{CallScope, HostState};
use crate::types::{
    Ack, ConnectReply, DisconnectReason, Event, EventError, Handshake, Level, Reject, SocketInfo,
    Timer,
};
use crate::{CallError, GuestFault, HostFault, LoadError};

/// An app's limits, enforced on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest a hook may take, wall-clock: running, or blocked in a host
    /// call. Time the host spends queueing the hook's emits is added to it,
    /// up to 1 s per call (`bounds.rs`).
    pub deadline: Duration,
    /// Longest a new instance's start-up (instantiation) may take.
    pub start_deadline: Duration,
    /// Largest linear memory an instance may grow to.
    pub memory_bytes: usize,
    /// Emits one hook call may make.
    pub max_emits_per_call: u32,
    /// Largest emit, and the most bytes one import call may pass to the host.
    pub max_payload: usize,
    /// Instances kept warm between calls.
    pub max_idle_instances: usize,
    /// Instances of this app running at once (further calls wait).
    pub max_concurrent_calls: usize,
    /// What the instances of all of the tenant's apps on this node share
    /// (`None`: only the cap per instance applies).
    pub memory_budget: Option<Arc<MemoryBudget>>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(100),
            // Starting an instance takes tens of microseconds; even a slow
            // start-up (big tables to initialize) takes milliseconds.
            start_deadline: Duration::from_secs(1),
            memory_bytes: 64 << 20,
            max_emits_per_call: 1000,
            max_payload: 1_000_000,
            max_idle_instances: 8,
            max_concurrent_calls: 64,
            memory_budget: None,
        }
    }
}

/// Counters per app version.
#[derive(Debug, Default)]
pub struct PoolStats {
    pub calls: AtomicU64,
    /// Calls that ended in a fault (any kind below).
    pub faults: AtomicU64,
    pub timeouts: AtomicU64,
    pub memory_faults: AtomicU64,
    pub traps: AtomicU64,
    pub host_faults: AtomicU64,
    /// Instances whose start-up failed (timed out or trapped) at runtime.
    pub start_faults: AtomicU64,
    pub instances_created: AtomicU64,
    pub instances_recycled: AtomicU64,
    /// Nanoseconds spent inside calls, for the mean.
    pub call_nanos: AtomicU64,
    /// Linear memory held by this pool's instances (warm and in a call).
    pub memory_bytes: AtomicU64,
}

/// The version of the `eddy:handler` contract a component was built
/// against: the one whose `handler` interface it exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    V0_1,
    V0_2,
}

impl Contract {
    /// The version as the WIT package names it.
    pub fn version(self) -> &'static str {
        match self {
            Self::V0_1 => "0.1.0",
            Self::V0_2 => "0.2.0",
        }
    }

    /// Whether components of this version can have timers fire.
    pub fn has_timers(self) -> bool {
        self == Self::V0_2
    }
}

/// A component linked and checked, ready to instantiate, per contract.
enum Pre {
    V0_1(AppPreV0_1<HostState>),
    V0_2(AppPre<HostState>),
}

/// A live instance, per contract.
enum Guest {
    V0_1(AppV0_1),
    V0_2(App),
}

struct Warm {
    store: Store<HostState>,
    guest: Guest,
    calls: u32,
    retire_after: u32,
    /// Its memory as last added to [`PoolStats::memory_bytes`].
    counted_bytes: u64,
}

pub struct HandlerPool {
    engine: HostEngine,
    pre: Pre,
    contract: Contract,
    limits: Limits,
    idle: Mutex<Vec<Warm>>,
    gate: Semaphore,
    backoff: Mutex<StartBackoff>,
    pub stats: PoolStats,
    content_hash: String,
}

/// A start-up that failed: what it means, and the error with its cause chain.
struct StartError {
    fault: CallError,
    error: wasmtime::Error,
}

impl HandlerPool {
    /// Links the component against Eddy's imports, checks its exports, and
    /// instantiates it once under `limits` (the trial a deploy requires).
    pub async fn new(
        engine: &HostEngine,
        component: &LoadedComponent,
        limits: Limits,
    ) -> Result<Self, LoadError> {
        let pre = engine
            .linker()
            .instantiate_pre(&component.component)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let wrong = |e: wasmtime::Error| LoadError::WrongExports(format!("{e:#}"));
        let pre = match component.contract {
            Contract::V0_1 => Pre::V0_1(AppPreV0_1::new(pre).map_err(wrong)?),
            Contract::V0_2 => Pre::V0_2(AppPre::new(pre).map_err(wrong)?),
        };
        let pool = Self {
            engine: engine.clone(),
            pre,
            contract: component.contract,
            gate: Semaphore::new(limits.max_concurrent_calls.max(1)),
            limits,
            idle: Mutex::new(Vec::new()),
            backoff: Mutex::new(StartBackoff::default()),
            stats: PoolStats::default(),
            content_hash: component.content_hash.clone(),
        };
        let warm = pool.instantiate(true).await.map_err(|e| match e.fault {
            CallError::Guest(GuestFault::StartTimeout { deadline_ms }) => {
                LoadError::StartTimeout { deadline_ms }
            }
            _ => LoadError::Instantiate(describe(&e.error)),
        })?;
        // The trial was charged past a crowded budget rather than refused:
        // it is not kept then (the first call starts one within the budget).
        if pool.budget_crowded() {
            pool.discard(warm);
        } else {
            pool.idle.lock().push(warm);
        }
        Ok(pool)
    }

    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The contract version the component was built against.
    pub fn contract(&self) -> Contract {
        self.contract
    }

    /// Starts a new instance, its start-up code bounded by the start
    /// deadline. A `trial` (the deploy's) is charged to the tenant's memory
    /// budget without being refused by it.
    async fn instantiate(&self, trial: bool) -> Result<Warm, StartError> {
        let mut state = HostState::new(self.limits.memory_bytes, self.limits.memory_budget.clone());
        state.limiter.overdraw = trial;
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(self.limits.max_payload.max(64 * 1024));
        bounds::watch_epochs(&mut store);
        let limit = self.limits.start_deadline;
        let _ticking = self.engine.guest_work();
        bounds::arm(&mut store, limit);
        let excused = store.data().excused.clone();
        let started = match &self.pre {
            Pre::V0_1(pre) => bounds::bounded(limit, &excused, pre.instantiate_async(&mut store))
                .await
                .map(Guest::V0_1),
            Pre::V0_2(pre) => bounds::bounded(limit, &excused, pre.instantiate_async(&mut store))
                .await
                .map(Guest::V0_2),
        };
        store.data_mut().deadline = None;
        store.data_mut().limiter.overdraw = false;
        let guest = match started {
            Ok(guest) => guest,
            Err(error) => {
                let fault = match self.classify(&error, store.data().limiter.exceeded) {
                    CallError::Guest(GuestFault::Timeout { .. }) => GuestFault::StartTimeout {
                        deadline_ms: limit.as_millis() as u64,
                    }
                    .into(),
                    other => other,
                };
                // The store, half-started or cancelled, is dropped here.
                return Err(StartError { fault, error });
            }
        };
        self.stats.instances_created.fetch_add(1, Ordering::Relaxed);
        let mut warm = Warm {
            store,
            guest,
            calls: 0,
            // Bounded reuse: leaks and stale guest state cannot build up, and
            // tenants cannot come to rely on in-memory state.
            retire_after: 5_000 + (rand::random::<u32>() % 15_000),
            counted_bytes: 0,
        };
        self.count_memory(&mut warm);
        Ok(warm)
    }

    /// A new instance for a call, unless recent start-ups failed (then the
    /// pool is faulted and refuses until its backoff passes).
    async fn start_for_call(&self, caps: &Arc<dyn Capabilities>) -> Result<Warm, CallError> {
        if let Some(left) = self.backoff.lock().refused_for(Instant::now()) {
            return Err(GuestFault::Faulted {
                retry_in_ms: left.as_millis() as u64,
            }
            .into());
        }
        let StartError { fault, error } = match self.instantiate(false).await {
            Ok(warm) => return Ok(warm),
            Err(e) => e,
        };
        match &fault {
            // The component did nothing wrong: its tenant's other instances
            // hold the memory. This call fails; the next may find room.
            CallError::Guest(guest @ GuestFault::TenantMemory { .. }) => {
                caps.log(Level::Warn, &format!("cannot start an instance: {guest}"));
                Err(fault)
            }
            CallError::Guest(guest) => {
                let backoff = self.backoff.lock().failed(Instant::now());
                self.stats.start_faults.fetch_add(1, Ordering::Relaxed);
                caps.log(
                    Level::Error,
                    &format!(
                        "{guest}; new instances are refused for {} ms\n{}",
                        backoff.as_millis(),
                        describe(&error)
                    ),
                );
                Err(fault)
            }
            CallError::Host(_) => {
                self.stats.host_faults.fetch_add(1, Ordering::Relaxed);
                Err(HostFault(format!("cannot instantiate the handler: {error:#}")).into())
            }
        }
    }

    /// How long new instances are still refused after failed start-ups
    /// (`None`: the pool is healthy).
    pub fn faulted_for(&self) -> Option<Duration> {
        self.backoff.lock().refused_for(Instant::now())
    }

    /// Brings [`PoolStats::memory_bytes`] up to date with an instance's memory.
    fn count_memory(&self, warm: &mut Warm) {
        let now = warm.store.data().limiter.bytes as u64;
        if now >= warm.counted_bytes {
            let grew = now - warm.counted_bytes;
            self.stats.memory_bytes.fetch_add(grew, Ordering::Relaxed);
        } else {
            let shrank = warm.counted_bytes - now;
            self.stats.memory_bytes.fetch_sub(shrank, Ordering::Relaxed);
        }
        warm.counted_bytes = now;
    }

    /// Whether the tenant's memory budget is over half used: then no
    /// instance is kept warm.
    fn budget_crowded(&self) -> bool {
        let budget = self.limits.memory_budget.as_ref();
        budget.is_some_and(|b| b.crowded())
    }

    /// Drops an instance and its share of [`PoolStats::memory_bytes`].
    fn discard(&self, warm: Warm) {
        self.stats
            .memory_bytes
            .fetch_sub(warm.counted_bytes, Ordering::Relaxed);
    }

    async fn checkout(
        &self,
        caps: Arc<dyn Capabilities>,
    ) -> Result<(Warm, SemaphorePermit<'_>, GuestWork<'_>), CallError> {
        let permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| HostFault("the handler pool is closed".into()))?;
        let popped = self.idle.lock().pop();
        let mut warm = match popped {
            Some(warm) => warm,
            None => self.start_for_call(&caps).await?,
        };
        let ticking = self.engine.guest_work();
        bounds::arm(&mut warm.store, self.limits.deadline);
        warm.store.data_mut().call = Some(CallScope {
            caps,
            started: Instant::now(),
            emits_left: self.limits.max_emits_per_call,
            max_payload: self.limits.max_payload,
        });
        Ok((warm, permit, ticking))
    }

    /// Ends a call: forwards captured output to the log, classifies a
    /// failure, and returns a healthy instance to the pool.
    fn finish<T>(&self, mut warm: Warm, outcome: wasmtime::Result<T>) -> Result<T, CallError> {
        let state = warm.store.data_mut();
        state.deadline = None;
        let scope = state.call.take().expect("a call is in progress");
        for line in state.stdout.take_lines() {
            scope.caps.log(Level::Info, &line);
        }
        for line in state.stderr.take_lines() {
            scope.caps.log(Level::Warn, &line);
        }
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.stats
            .call_nanos
            .fetch_add(scope.started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.count_memory(&mut warm);
        match outcome {
            Ok(value) => {
                warm.calls += 1;
                if warm.calls >= warm.retire_after {
                    self.stats
                        .instances_recycled
                        .fetch_add(1, Ordering::Relaxed);
                    self.discard(warm);
                } else {
                    let mut idle = self.idle.lock();
                    if idle.len() < self.limits.max_idle_instances && !self.budget_crowded() {
                        idle.push(warm);
                    } else {
                        drop(idle);
                        self.discard(warm);
                    }
                }
                Ok(value)
            }
            Err(error) => {
                self.stats.faults.fetch_add(1, Ordering::Relaxed);
                let fault = self.classify(&error, warm.store.data().limiter.exceeded);
                let counter = match &fault {
                    CallError::Guest(
                        GuestFault::MemoryLimit { .. } | GuestFault::TenantMemory { .. },
                    ) => &self.stats.memory_faults,
                    CallError::Guest(GuestFault::Trap(_)) => &self.stats.traps,
                    // A call's own failures are timeouts, not start faults.
                    CallError::Guest(_) => &self.stats.timeouts,
                    CallError::Host(_) => &self.stats.host_faults,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if let CallError::Guest(guest) = &fault {
                    scope
                        .caps
                        .log(Level::Error, &format!("{guest}\n{}", describe(&error)));
                }
                // The faulted instance is dropped; its pool slot is reset.
                self.discard(warm);
                Err(fault)
            }
        }
    }

    fn classify(&self, error: &wasmtime::Error, exceeded: Option<Exceeded>) -> CallError {
        match exceeded {
            Some(Exceeded::Instance) => {
                return GuestFault::MemoryLimit {
                    limit_bytes: self.limits.memory_bytes,
                }
                .into();
            }
            Some(Exceeded::Tenant) => {
                let limit = self.limits.memory_budget.as_ref().map(|b| b.limit());
                return GuestFault::TenantMemory {
                    limit_bytes: limit.unwrap_or_default(),
                }
                .into();
            }
            None => {}
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => GuestFault::Timeout {
                deadline_ms: self.limits.deadline.as_millis() as u64,
            }
            .into(),
            Some(trap) => GuestFault::Trap(trap.to_string()).into(),
            // A trap raised by one of our imports on the guest's behalf
            // (misuse) carries a wasm backtrace; anything else is ours.
            None if error.downcast_ref::<WasmBacktrace>().is_some() => {
                GuestFault::Trap(error.root_cause().to_string()).into()
            }
            None => HostFault(format!("{error:#}")).into(),
        }
    }

    pub async fn on_connect(
        &self,
        caps: Arc<dyn Capabilities>,
        ctx: &SocketInfo,
        handshake: &Handshake,
    ) -> Result<Result<ConnectReply, Reject>, CallError> {
        let (mut warm, _permit, _ticking) = self.checkout(caps).await?;
        let Warm { store, guest, .. } = &mut warm;
        let excused = store.data().excused.clone();
        let outcome = match guest {
            Guest::V0_2(app) => {
                let call = app
                    .eddy_handler_handler()
                    .call_on_connect(store, ctx, handshake);
                bounds::bounded(self.limits.deadline, &excused, call).await
            }
            Guest::V0_1(app) => {
                let (ctx, handshake) = (v0_1::socket_info(ctx), v0_1::handshake(handshake));
                let call = app
                    .eddy_handler_handler()
                    .call_on_connect(store, &ctx, &handshake);
                bounds::bounded(self.limits.deadline, &excused, call)
                    .await
                    .map(v0_1::connected)
            }
        };
        self.finish(warm, outcome)
    }

    pub async fn on_event(
        &self,
        caps: Arc<dyn Capabilities>,
        ctx: &SocketInfo,
        event: &Event,
    ) -> Result<Result<Option<Ack>, EventError>, CallError> {
        let (mut warm, _permit, _ticking) = self.checkout(caps).await?;
        let Warm { store, guest, .. } = &mut warm;
        let excused = store.data().excused.clone();
        let outcome = match guest {
            Guest::V0_2(app) => {
                let call = app.eddy_handler_handler().call_on_event(store, ctx, event);
                bounds::bounded(self.limits.deadline, &excused, call).await
            }
            Guest::V0_1(app) => {
                let (ctx, event) = (v0_1::socket_info(ctx), v0_1::event(event));
                let call = app
                    .eddy_handler_handler()
                    .call_on_event(store, &ctx, &event);
                bounds::bounded(self.limits.deadline, &excused, call)
                    .await
                    .map(v0_1::handled)
            }
        };
        self.finish(warm, outcome)
    }

    pub async fn on_disconnect(
        &self,
        caps: Arc<dyn Capabilities>,
        ctx: &SocketInfo,
        reason: DisconnectReason,
    ) -> Result<(), CallError> {
        let (mut warm, _permit, _ticking) = self.checkout(caps).await?;
        let Warm { store, guest, .. } = &mut warm;
        let excused = store.data().excused.clone();
        let outcome = match guest {
            Guest::V0_2(app) => {
                let call = app
                    .eddy_handler_handler()
                    .call_on_disconnect(store, ctx, reason);
                bounds::bounded(self.limits.deadline, &excused, call).await
            }
            Guest::V0_1(app) => {
                let ctx = v0_1::socket_info(ctx);
                let call = app.eddy_handler_handler().call_on_disconnect(
                    store,
                    &ctx,
                    v0_1::reason(reason),
                );
                bounds::bounded(self.limits.deadline, &excused, call).await
            }
        };
        self.finish(warm, outcome)
    }

    /// Runs the `on-timer` hook. `Ok(false)`: the component was built
    /// against a contract without timers, and nothing ran.
    pub async fn on_timer(
        &self,
        caps: Arc<dyn Capabilities>,
        timer: &Timer,
    ) -> Result<bool, CallError> {
        if !self.contract.has_timers() {
            return Ok(false);
        }
        let (mut warm, _permit, _ticking) = self.checkout(caps).await?;
        let Warm { store, guest, .. } = &mut warm;
        let excused = store.data().excused.clone();
        let outcome = match guest {
            Guest::V0_2(app) => {
                let call = app.eddy_handler_handler().call_on_timer(store, timer);
                bounds::bounded(self.limits.deadline, &excused, call).await
            }
            Guest::V0_1(_) => unreachable!("checked above: 0.1 has no timers"),
        };
        self.finish(warm, outcome).map(|()| true)
    }

    /// Instances currently warm.
    pub fn idle_instances(&self) -> usize {
        self.idle.lock().len()
    }
}

/// An error with its cause chain (and wasm backtrace, when there is one).
fn describe(error: &wasmtime::Error) -> String {
    format!("{error:?}")
}
