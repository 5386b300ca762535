//! eddy-host against real plugin components: load checks, limits, faults
//! kept apart, instance reuse, caching, and a runtime that stays responsive.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use eddy_host::types::{
    ConfigError, DataError, EmitError, Event, KvEntry, KvError, KvOp, KvOpResult, Level,
    SocketInfo, Target, TimerError,
};
use eddy_host::{
    CallError, Capabilities, EngineOptions, GuestFault, HandlerPool, HostEngine, HostFuture,
    KvFuture, Limits, LoadError, MemoryBudget,
};
use eddy_tests::WAIT;
use eddy_tests::plugins::{
    CHAT, COUNTER, ECHO, HOSTILE_BAD_IMPORT, HOSTILE_FLOOD, HOSTILE_GROW, HOSTILE_PANIC,
    HOSTILE_SLEEP, HOSTILE_SPIN, HOSTILE_START_FLAKY, HOSTILE_START_SPIN, Plugin,
};
use parking_lot::Mutex;

/// Capabilities that record what a component did (also used by `contract.rs`).
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) emits: Mutex<Vec<(String, String)>>,
    logs: Mutex<Vec<(Level, String)>>,
    kv: Mutex<BTreeMap<String, Vec<u8>>>,
    timers: Mutex<BTreeMap<String, (u64, String)>>,
    config: Mutex<BTreeMap<String, String>>,
    data: Mutex<BTreeMap<String, String>>,
    /// How long each emit takes: a broadcast to a big room, on the host.
    emit_takes: Mutex<Duration>,
}

impl Capabilities for Recorder {
    fn emit(
        &self,
        _to: &Target,
        event: &str,
        args: &str,
        _attachments: &[Vec<u8>],
    ) -> Result<u32, EmitError> {
        let takes = *self.emit_takes.lock();
        if !takes.is_zero() {
            std::thread::sleep(takes);
        }
        self.emits.lock().push((event.to_owned(), args.to_owned()));
        Ok(1)
    }
    fn join(&self, _: &str, _: &str) -> bool {
        true
    }
    fn leave(&self, _: &str, _: &str) -> bool {
        true
    }
    fn disconnect(&self, _: &str) -> bool {
        true
    }
    fn room_size(&self, _: &str) -> u32 {
        0
    }
    fn room_members(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn kv_get<'a>(&'a self, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.kv.lock().get(key).cloned()) })
    }
    fn kv_set<'a>(&'a self, key: &'a str, value: Vec<u8>, _ttl: Option<u64>) -> KvFuture<'a, ()> {
        Box::pin(async move {
            self.kv.lock().insert(key.to_owned(), value);
            Ok(())
        })
    }
    fn kv_delete<'a>(&'a self, key: &'a str) -> KvFuture<'a, bool> {
        Box::pin(async move { Ok(self.kv.lock().remove(key).is_some()) })
    }
    fn kv_increment<'a>(&'a self, key: &'a str, delta: i64) -> KvFuture<'a, i64> {
        Box::pin(async move {
            let mut kv = self.kv.lock();
            let current: i64 = match kv.get(key) {
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(KvError::NotANumber)?,
                None => 0,
            };
            kv.insert(key.to_owned(), (current + delta).to_string().into_bytes());
            Ok(current + delta)
        })
    }
    fn kv_list<'a>(
        &'a self,
        prefix: &'a str,
        start_after: Option<&'a str>,
        limit: u32,
    ) -> KvFuture<'a, Vec<KvEntry>> {
        Box::pin(async move {
            Ok(self
                .kv
                .lock()
                .iter()
                .filter(|(k, _)| {
                    k.starts_with(prefix) && start_after.is_none_or(|a| k.as_str() > a)
                })
                .take(limit as usize)
                .map(|(key, value)| KvEntry {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect())
        })
    }
    fn kv_compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> KvFuture<'a, bool> {
        Box::pin(async move {
            let mut kv = self.kv.lock();
            if kv.get(key) != expected.as_ref() {
                return Ok(false);
            }
            match new {
                Some(v) => kv.insert(key.to_owned(), v),
                None => kv.remove(key),
            };
            Ok(true)
        })
    }
    fn kv_batch<'a>(&'a self, ops: Vec<KvOp>) -> KvFuture<'a, Vec<KvOpResult>> {
        Box::pin(async move {
            let mut kv = self.kv.lock();
            Ok(ops
                .into_iter()
                .map(|op| match op {
                    KvOp::Set(e) => {
                        kv.insert(e.key, e.value);
                        KvOpResult::Set
                    }
                    KvOp::Delete(k) => KvOpResult::Deleted(kv.remove(&k).is_some()),
                    KvOp::Increment((k, by)) => {
                        let n: i64 = kv
                            .get(&k)
                            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
                            .unwrap_or(0)
                            + by;
                        kv.insert(k, n.to_string().into_bytes());
                        KvOpResult::Incremented(n)
                    }
                })
                .collect())
        })
    }
    fn timer_set<'a>(
        &'a self,
        key: &'a str,
        delay_ms: u64,
        payload: String,
    ) -> HostFuture<'a, (), TimerError> {
        Box::pin(async move {
            let mut timers = self.timers.lock();
            if timers.len() >= 3 && !timers.contains_key(key) {
                return Err(TimerError::TooMany(3));
            }
            timers.insert(key.to_owned(), (delay_ms, payload));
            Ok(())
        })
    }
    fn timer_cancel<'a>(&'a self, key: &'a str) -> HostFuture<'a, bool, TimerError> {
        Box::pin(async move { Ok(self.timers.lock().remove(key).is_some()) })
    }
    fn config_get<'a>(&'a self, name: &'a str) -> HostFuture<'a, Option<String>, ConfigError> {
        Box::pin(async move { Ok(self.config.lock().get(name).cloned()) })
    }
    fn socket_data(&self, socket: &str) -> Option<String> {
        self.data.lock().get(socket).cloned()
    }
    fn set_socket_data(&self, socket: &str, data: Option<String>) -> Result<(), DataError> {
        let mut all = self.data.lock();
        match data {
            Some(d) => all.insert(socket.to_owned(), d),
            None => all.remove(socket),
        };
        Ok(())
    }
    fn log(&self, level: Level, message: &str) {
        self.logs.lock().push((level, message.to_owned()));
    }
}

fn engine() -> HostEngine {
    HostEngine::new(EngineOptions {
        max_instances: 64,
        ..EngineOptions::default()
    })
    .unwrap()
}

async fn pool(engine: &HostEngine, plugin: Plugin, limits: Limits) -> HandlerPool {
    let wasm = plugin.bytes();
    let loaded = engine.load(&wasm).unwrap();
    HandlerPool::new(engine, &loaded, limits).await.unwrap()
}

fn info() -> SocketInfo {
    SocketInfo {
        app: "test".into(),
        namespace: "/".into(),
        socket: "s1".into(),
        data: None,
    }
}

fn event(name: &str, args: &str) -> Event {
    Event {
        name: name.into(),
        args: args.into(),
        attachments: vec![],
        wants_ack: true,
    }
}

/// Sends `name(args)` to `pool` and returns the arguments of its ack.
async fn acked(pool: &HandlerPool, caps: &Arc<Recorder>, name: &str, args: &str) -> String {
    let (info, event) = (info(), event(name, args));
    let ack = pool.on_event(caps.clone(), &info, &event).await;
    ack.unwrap().unwrap().expect("an ack").args
}

/// Sends `name(args)` to `pool` and returns the fault it ended in.
async fn faulted(pool: &HandlerPool, caps: &Arc<Recorder>, name: &str, args: &str) -> CallError {
    let (info, event) = (info(), event(name, args));
    pool.on_event(caps.clone(), &info, &event)
        .await
        .unwrap_err()
}

#[test]
fn uploads_that_cannot_run_are_refused_with_a_reason() {
    let engine = engine();
    let small = HostEngine::new(EngineOptions {
        max_instances: 8,
        max_component_bytes: 1000,
        ..EngineOptions::default()
    })
    .unwrap();
    assert_eq!(engine.load(b"").err(), Some(LoadError::Empty));
    assert_eq!(
        engine.load(b"PK\x03\x04 a zip file").err(),
        Some(LoadError::NotWasm)
    );
    assert_eq!(
        engine.load(b"\0asm\x01\0\0\0").err(),
        Some(LoadError::CoreModule)
    );
    let echo = ECHO.bytes();
    assert!(matches!(
        small.load(&echo),
        Err(LoadError::TooLarge { max: 1000, .. })
    ));
    let mut truncated = echo.clone();
    truncated.truncate(echo.len() / 2);
    assert!(matches!(
        engine.load(&truncated),
        Err(LoadError::Invalid(_))
    ));
    let bad = engine.load(&HOSTILE_BAD_IMPORT.bytes()).unwrap_err();
    assert_eq!(
        bad,
        LoadError::UnsupportedImport {
            name: "evil:net/net".into()
        }
    );
    assert!(bad.to_string().contains("`evil:net/net`"), "{bad}");
}

#[tokio::test]
async fn a_component_of_another_world_is_refused() {
    let engine = engine();
    // The smallest valid component: no imports, no exports.
    let empty = engine.load(b"\0asm\x0d\0\x01\0").unwrap();
    let err = HandlerPool::new(&engine, &empty, Limits::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::WrongExports(_)), "{err}");
    assert!(
        err.to_string()
            .contains("`eddy:handler/handler` at a version this server runs (0.2.0 or 0.1.0)"),
        "{err}"
    );
}

#[tokio::test]
async fn instances_are_reused_across_events() {
    let engine = engine();
    let pool = pool(&engine, ECHO, Limits::default()).await;
    let caps = Arc::new(Recorder::default());
    for i in 0..200 {
        let ack = pool
            .on_event(
                caps.clone(),
                &info(),
                &event("message-with-ack", &format!("[{i}]")),
            )
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ack.args, format!("[{i}]"));
    }
    assert_eq!(
        pool.stats.instances_created.load(Ordering::Relaxed),
        1,
        "the trial instance served all"
    );
    assert_eq!(pool.stats.calls.load(Ordering::Relaxed), 200);
    // One instance's linear memory is counted: whole wasm pages, and not
    // more than the default cap.
    let memory = pool.stats.memory_bytes.load(Ordering::Relaxed);
    assert!(
        memory > 0 && memory % 65_536 == 0 && memory <= Limits::default().memory_bytes as u64,
        "{memory}"
    );
}

#[tokio::test]
async fn an_infinite_loop_stops_at_the_deadline_and_the_next_call_works() {
    let engine = engine();
    let limits = Limits {
        deadline: Duration::from_millis(30),
        ..Limits::default()
    };
    let pool = pool(&engine, HOSTILE_SPIN, limits).await;
    let caps = Arc::new(Recorder::default());
    for _ in 0..3 {
        let started = Instant::now();
        let err = faulted(&pool, &caps, "spin", "[]").await;
        assert_eq!(
            err,
            CallError::Guest(GuestFault::Timeout { deadline_ms: 30 })
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(30) && took < Duration::from_millis(500),
            "{took:?}"
        );
        assert_eq!(acked(&pool, &caps, "ok", "[1]").await, "[1]");
    }
    assert_eq!(pool.stats.timeouts.load(Ordering::Relaxed), 3);
    // Each fault cost its instance; a fresh one replaced it.
    assert_eq!(pool.stats.instances_created.load(Ordering::Relaxed), 4);
    assert!(
        caps.logs
            .lock()
            .iter()
            .any(|(l, m)| *l == Level::Error && m.contains("deadline"))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_spinning_guest_does_not_block_the_runtime() {
    let engine = engine();
    let limits = Limits {
        deadline: Duration::from_millis(300),
        ..Limits::default()
    };
    let pool = Arc::new(pool(&engine, HOSTILE_SPIN, limits).await);
    let caps = Arc::new(Recorder::default());
    let spinner = tokio::spawn({
        let pool = pool.clone();
        async move { pool.on_event(caps, &info(), &event("spin", "[]")).await }
    });
    // On this one thread, another task keeps running while the guest
    // spins: the guest yields to the scheduler at every epoch tick.
    // (A spawned task: the runtime polls its `block_on` future only every
    // so many task polls.)
    let started = Instant::now();
    let spinning = spinner.abort_handle();
    let turns = tokio::spawn(async move {
        let mut turns = 0u64;
        while !spinning.is_finished() {
            requeue().await;
            turns += 1;
        }
        turns
    })
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        turns >= 100,
        "only {turns} turns in {:?}",
        started.elapsed()
    );
    assert!(matches!(
        spinner.await.unwrap(),
        Err(CallError::Guest(GuestFault::Timeout { .. }))
    ));
}

/// Gives the scheduler one turn, re-queued at once (`tokio::task::yield_now`
/// would wait for the next I/O poll, which the busy runtime does rarely).
async fn requeue() {
    let mut first = true;
    std::future::poll_fn(|cx| {
        if std::mem::take(&mut first) {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}

#[tokio::test]
async fn memory_growth_stops_at_the_cap() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 16 << 20,
        // The memory cap is under test, not the deadline: growing 16 MiB
        // in a debug build on a busy machine can take longer than 100 ms.
        deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let pool = pool(&engine, HOSTILE_GROW, limits).await;
    let caps = Arc::new(Recorder::default());
    let err = faulted(&pool, &caps, "grow", "[]").await;
    assert_eq!(
        err,
        CallError::Guest(GuestFault::MemoryLimit {
            limit_bytes: 16 << 20
        })
    );
    assert_eq!(acked(&pool, &caps, "small", "[2]").await, "[2]");
    assert_eq!(pool.stats.memory_faults.load(Ordering::Relaxed), 1);
    // The faulted instance's memory left the count with it: what remains
    // is the one fresh instance, under the cap.
    let memory = pool.stats.memory_bytes.load(Ordering::Relaxed);
    assert!(memory > 0 && memory < 16 << 20, "{memory}");
}

#[tokio::test]
async fn a_tenants_instances_share_its_memory_budget_and_other_tenants_do_not_notice() {
    let engine = engine();
    // Each app may grow an instance to 32 MiB; the tenant's instances on
    // this node share 24 MiB in all.
    let tenant = MemoryBudget::new(24 << 20);
    let limits = |budget: &Arc<MemoryBudget>| Limits {
        memory_bytes: 32 << 20,
        deadline: Duration::from_secs(5),
        memory_budget: Some(budget.clone()),
        ..Limits::default()
    };
    let a = pool(&engine, HOSTILE_GROW, limits(&tenant)).await;
    let b = pool(&engine, HOSTILE_GROW, limits(&tenant)).await;
    let other_tenant = MemoryBudget::new(64 << 20);
    let other = pool(&engine, HOSTILE_GROW, limits(&other_tenant)).await;
    let caps = Arc::new(Recorder::default());
    let two_instances = tenant.used();
    assert!(
        two_instances > 0 && two_instances < 8 << 20,
        "{two_instances}"
    );

    // The tenant's budget stops the growth before the app's own cap.
    let err = faulted(&a, &caps, "grow", "[]").await;
    assert_eq!(
        err,
        CallError::Guest(GuestFault::TenantMemory {
            limit_bytes: 24 << 20
        })
    );
    assert!(err.to_string().contains("max_handler_memory_mb"), "{err}");
    // The faulted instance gave its memory back; the tenant's other app
    // still answers, and so does another tenant's.
    assert!(tenant.used() < two_instances, "{}", tenant.used());
    assert_eq!(acked(&b, &caps, "small", "[1]").await, "[1]");
    // Another tenant's instance grows to its own app's cap, untouched by
    // the first tenant's budget.
    let err = faulted(&other, &caps, "grow", "[]").await;
    assert_eq!(
        err,
        CallError::Guest(GuestFault::MemoryLimit {
            limit_bytes: 32 << 20
        })
    );

    // With no room left, a call that needs a new instance fails at once,
    // and the pool is not faulted for it (the component did nothing wrong).
    tenant.set_limit(tenant.used());
    let err = faulted(&a, &caps, "small", "[2]").await;
    assert!(
        matches!(err, CallError::Guest(GuestFault::TenantMemory { .. })),
        "{err:?}"
    );
    assert_eq!(a.faulted_for(), None);
    tenant.set_limit(24 << 20);
    assert_eq!(acked(&a, &caps, "small", "[3]").await, "[3]");
    drop((a, b));
    assert_eq!(tenant.used(), 0, "every instance gave its memory back");
}

#[tokio::test]
async fn a_panic_is_a_trap_and_its_message_reaches_the_log() {
    let engine = engine();
    let pool = pool(&engine, HOSTILE_PANIC, Limits::default()).await;
    let caps = Arc::new(Recorder::default());
    let err = faulted(&pool, &caps, "kaboom", "[]").await;
    assert!(
        matches!(err, CallError::Guest(GuestFault::Trap(_))),
        "{err:?}"
    );
    let logs = caps.logs.lock();
    assert!(
        logs.iter()
            .any(|(l, m)| *l == Level::Error && m.contains("boom on kaboom")),
        "{logs:?}"
    );
    assert_eq!(pool.stats.traps.load(Ordering::Relaxed), 1);
    assert_eq!(
        pool.stats.host_faults.load(Ordering::Relaxed),
        0,
        "guest faults are not ours"
    );
}

#[tokio::test]
async fn emits_per_call_are_capped() {
    let engine = engine();
    let limits = Limits {
        max_emits_per_call: 100,
        ..Limits::default()
    };
    let pool = pool(&engine, HOSTILE_FLOOD, limits).await;
    let caps = Arc::new(Recorder::default());
    assert_eq!(acked(&pool, &caps, "flood", "[5000]").await, "[100]");
    assert_eq!(caps.emits.lock().len(), 100);
    // The budget is per call.
    assert_eq!(acked(&pool, &caps, "flood", "[10]").await, "[10]");
}

#[tokio::test]
async fn kv_imports_reach_the_embedder() {
    let engine = engine();
    let pool = pool(&engine, COUNTER, Limits::default()).await;
    let caps = Arc::new(Recorder::default());
    for expected in 1..=3 {
        assert_eq!(
            acked(&pool, &caps, "increment", "[]").await,
            format!("[{expected}]")
        );
    }
    assert_eq!(caps.kv.lock().get("counter"), Some(&b"3".to_vec()));
}

#[test]
fn compiled_components_are_cached_by_content_hash() {
    let dir = eddy_tests::server::fresh_dir("cache");
    let options = EngineOptions {
        cache_dir: Some(dir.clone()),
        max_instances: 8,
        ..EngineOptions::default()
    };
    let wasm = CHAT.bytes();
    let first = HostEngine::new(options.clone())
        .unwrap()
        .load(&wasm)
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(files[0].to_string_lossy().starts_with(&first.content_hash));
    // A new engine (a restart) loads it without compiling: much faster.
    let started = Instant::now();
    let second = HostEngine::new(options).unwrap().load(&wasm).unwrap();
    assert_eq!(second.content_hash, first.content_hash);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Fails a test that would otherwise hang on code without the bound it checks.
async fn within<T>(limit: Duration, work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| panic!("still running after {limit:?}"))
}

#[tokio::test]
async fn a_start_up_that_never_returns_is_refused_at_the_trial() {
    let engine = engine();
    let limits = Limits {
        start_deadline: Duration::from_millis(200),
        ..Limits::default()
    };
    let loaded = engine.load(&HOSTILE_START_SPIN.bytes()).unwrap();
    let started = Instant::now();
    let err = within(WAIT, HandlerPool::new(&engine, &loaded, limits))
        .await
        .err()
        .unwrap();
    assert_eq!(err, LoadError::StartTimeout { deadline_ms: 200 });
    assert!(err.to_string().contains("start-up"), "{err}");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1000), "{took:?}");
}

#[tokio::test]
async fn a_start_up_that_spins_at_runtime_faults_the_pool_with_a_backoff() {
    let engine = engine();
    let limits = Limits {
        start_deadline: Duration::from_millis(200),
        ..Limits::default()
    };
    // The trial starts in a lucky half (with room for it), then the next
    // instance is needed in an unlucky one.
    eddy_tests::flaky_phase(false, Duration::from_millis(1500)).await;
    let pool = within(WAIT, pool(&engine, HOSTILE_START_FLAKY, limits)).await;
    let caps = Arc::new(Recorder::default());
    let crash = within(
        WAIT,
        pool.on_event(caps.clone(), &info(), &event("crash", "[]")),
    )
    .await;
    assert!(matches!(crash, Err(CallError::Guest(GuestFault::Trap(_)))));
    eddy_tests::flaky_phase(true, Duration::from_millis(1500)).await;
    let started = Instant::now();
    let err = within(
        WAIT,
        pool.on_event(caps.clone(), &info(), &event("ping", "[]")),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        CallError::Guest(GuestFault::StartTimeout { deadline_ms: 200 })
    );
    assert!(started.elapsed() < Duration::from_millis(1000));
    assert_eq!(pool.stats.start_faults.load(Ordering::Relaxed), 1);
    // Faulted: calls that need a new instance are refused at once, without
    // starting one (no core burnt), until the backoff passes.
    let backoff = pool.faulted_for().expect("faulted");
    assert!(backoff <= eddy_host::FIRST_BACKOFF, "{backoff:?}");
    for _ in 0..20 {
        let started = Instant::now();
        let err = within(
            WAIT,
            pool.on_event(caps.clone(), &info(), &event("ping", "[]")),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CallError::Guest(GuestFault::Faulted { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("start-up failed"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(20));
    }
    assert_eq!(pool.stats.start_faults.load(Ordering::Relaxed), 1);
    assert!(
        caps.logs
            .lock()
            .iter()
            .any(|(l, m)| *l == Level::Error && m.contains("start-up ran past")),
        "the tenant's log says why"
    );
}

#[tokio::test]
async fn host_fan_out_time_is_not_billed_to_the_handler_deadline() {
    let engine = engine();
    let limits = Limits {
        deadline: Duration::from_millis(100),
        ..Limits::default()
    };
    let pool = pool(&engine, ECHO, limits).await;
    // The emit (a broadcast to ~20,000 local members on a busy node) takes
    // 150 ms of host time: longer than the handler's whole deadline.
    let caps = Arc::new(Recorder::default());
    *caps.emit_takes.lock() = Duration::from_millis(150);
    within(
        WAIT,
        pool.on_event(caps.clone(), &info(), &event("message", "[1]")),
    )
    .await
    .expect("excused host time is not a timeout")
    .unwrap();
    assert_eq!(caps.emits.lock().len(), 1);
    assert_eq!(pool.stats.timeouts.load(Ordering::Relaxed), 0);
    // The guest's own running time still is: a spinning guest stops at
    // 100 ms (the spin test), and the excuse is per call, so the next call
    // starts with a whole deadline and nothing excused.
    *caps.emit_takes.lock() = Duration::ZERO;
    within(
        WAIT,
        pool.on_event(caps.clone(), &info(), &event("message", "[2]")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(caps.emits.lock().len(), 2);
}

#[tokio::test]
async fn a_handler_blocked_in_a_host_call_stops_at_its_deadline() {
    let engine = engine();
    let limits = Limits {
        deadline: Duration::from_millis(100),
        ..Limits::default()
    };
    let pool = pool(&engine, HOSTILE_SLEEP, limits).await;
    let caps = Arc::new(Recorder::default());
    let started = Instant::now();
    // The guest sleeps 5 s in `pollable.block`: no wasm runs, no epoch fires.
    let err = within(
        WAIT,
        pool.on_event(caps.clone(), &info(), &event("sleep", "[]")),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        err,
        CallError::Guest(GuestFault::Timeout { deadline_ms: 100 })
    );
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(500),
        "{took:?}"
    );
    assert_eq!(pool.stats.timeouts.load(Ordering::Relaxed), 1);
    // The cancelled instance was discarded; a fresh one answers.
    let ack = within(WAIT, pool.on_event(caps, &info(), &event("ok", "[3]")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ack.unwrap().args, "[3]");
    assert_eq!(pool.stats.instances_created.load(Ordering::Relaxed), 2);
}
