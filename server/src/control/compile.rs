//! The compile step of the deploy pipeline: turning a component into a
//! handler. Check and compile it (off the async threads; the compiled form
//! is cached on disk by content hash), then instantiate it once under the
//! app's limits. The pipeline (`deploy.rs`) stores it and swaps it in.

use std::sync::Arc;
use std::time::Duration;

use eddy_host::{
    EngineOptions, HandlerPool, HostEngine, HostFault, Limits, LoadError, LoadedComponent,
    MemoryBudget,
};

use crate::config::Config;
use crate::dispatch::WasmHandler;

pub(crate) struct Compiler {
    engine: HostEngine,
    max_payload: usize,
    start_deadline: Duration,
    compile_timeout: Duration,
    /// Per tenant (by id): the handler memory its instances share on this
    /// node, its quota's `max_handler_memory_mb`.
    budgets: parking_lot::Mutex<std::collections::HashMap<i64, Arc<MemoryBudget>>>,
}

impl Compiler {
    pub(crate) fn new(config: &Config) -> Result<Self, HostFault> {
        let engine = HostEngine::new(EngineOptions {
            cache_dir: Some(config.data_dir.join("compiled")),
            max_instances: config.wasm_max_instances,
            max_memory_bytes: (config.wasm_max_memory_mb as usize) << 20,
            max_component_bytes: config.max_component_bytes,
        })?;
        Ok(Self {
            engine,
            max_payload: usize::try_from(config.max_payload).unwrap_or(usize::MAX),
            start_deadline: Duration::from_millis(config.wasm_start_timeout_ms),
            compile_timeout: Duration::from_millis(config.wasm_compile_timeout_ms),
            budgets: Default::default(),
        })
    }

    /// The memory budget of a tenant whose quota this node has read
    /// (`None`: not yet; see [`Self::set_tenant_memory`]).
    pub(crate) fn tenant_memory(&self, tenant_id: i64) -> Option<Arc<MemoryBudget>> {
        self.budgets.lock().get(&tenant_id).cloned()
    }

    /// Sets a tenant's handler memory on this node to its quota (a lower
    /// one stops growth from now on; nothing is taken back).
    pub(crate) fn set_tenant_memory(&self, tenant_id: i64, quota_mb: u64) -> Arc<MemoryBudget> {
        let bytes = usize::try_from(quota_mb)
            .ok()
            .and_then(|mb| mb.checked_mul(1 << 20))
            .unwrap_or(usize::MAX);
        let mut budgets = self.budgets.lock();
        let budget = budgets
            .entry(tenant_id)
            .or_insert_with(|| MemoryBudget::new(bytes));
        budget.set_limit(bytes);
        budget.clone()
    }

    /// Forgets the budgets of tenants no longer in the registry (pools
    /// still running keep theirs until they are dropped).
    pub(crate) fn keep_tenant_memory(&self, tenant_ids: &[i64]) {
        self.budgets.lock().retain(|id, _| tenant_ids.contains(id));
    }

    /// The limits an app's handler runs under: its own, and its tenant's
    /// memory budget on this node.
    pub(crate) fn limits(
        &self,
        app: &eddy_store::AppLimits,
        tenant_memory: Arc<MemoryBudget>,
    ) -> Limits {
        Limits {
            memory_budget: Some(tenant_memory),
            deadline: Duration::from_millis(app.handler_deadline_ms),
            start_deadline: self.start_deadline,
            memory_bytes: (app.handler_memory_mb as usize) << 20,
            max_payload: usize::try_from(app.max_payload)
                .unwrap_or(usize::MAX)
                .min(self.max_payload),
            ..Limits::default()
        }
    }

    /// Checks and compiles a component (or finds its cached compilation),
    /// waiting at most the compile timeout.
    ///
    /// Cranelift cannot be interrupted: past the timeout the deploy fails,
    /// but the blocking thread compiles on to the end. What bounds that cost
    /// is the upload size limit (`max_component_bytes`, default 32 MiB):
    /// Cranelift's work grows with the code it is given, so a bounded upload
    /// is a bounded compilation. Only an authenticated deployer can start one.
    pub(crate) async fn compile(&self, wasm: Vec<u8>) -> Result<LoadedComponent, LoadError> {
        let engine = self.engine.clone();
        let compiling = tokio::task::spawn_blocking(move || engine.load(&wasm));
        match tokio::time::timeout(self.compile_timeout, compiling).await {
            Ok(joined) => {
                joined.map_err(|e| LoadError::Compile(format!("the compiler task failed: {e}")))?
            }
            Err(_elapsed) => Err(LoadError::CompileTimeout {
                timeout_ms: self.compile_timeout.as_millis() as u64,
            }),
        }
    }

    /// Instantiates a compiled component once under `limits` (the trial)
    /// and wraps it as a handler.
    pub(crate) async fn instantiate(
        &self,
        loaded: &LoadedComponent,
        limits: Limits,
    ) -> Result<Arc<WasmHandler>, LoadError> {
        let pool = HandlerPool::new(&self.engine, loaded, limits).await?;
        Ok(Arc::new(WasmHandler::new(Arc::new(pool))))
    }

    /// Both steps.
    pub(crate) async fn build(
        &self,
        wasm: Vec<u8>,
        limits: Limits,
    ) -> Result<Arc<WasmHandler>, LoadError> {
        let loaded = self.compile(wasm).await?;
        self.instantiate(&loaded, limits).await
    }
}
