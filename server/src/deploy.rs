//! Turning a component into a handler: check and compile it (off the async
//! threads; the compiled form is cached on disk by content hash), then
//! instantiate it once under the app's limits. The control plane stores it
//! and swaps it in.

use std::sync::Arc;
use std::time::Duration;

use eddy_host::{
    EngineOptions, HandlerPool, HostEngine, HostFault, Limits, LoadError, LoadedComponent,
};

use crate::config::Config;
use crate::dispatch::WasmHandler;

pub struct Deployer {
    engine: HostEngine,
    max_payload: usize,
}

impl Deployer {
    pub fn new(config: &Config) -> Result<Self, HostFault> {
        let engine = HostEngine::new(EngineOptions {
            cache_dir: Some(config.data_dir.join("compiled")),
            max_instances: config.wasm_max_instances,
            max_memory_bytes: (config.wasm_max_memory_mb as usize) << 20,
            max_component_bytes: config.max_component_bytes,
        })?;
        Ok(Self {
            engine,
            max_payload: usize::try_from(config.max_payload).unwrap_or(usize::MAX),
        })
    }

    pub fn engine(&self) -> &HostEngine {
        &self.engine
    }

    /// The limits an app's handler runs under.
    pub fn limits(&self, app: &eddy_store::AppLimits) -> Limits {
        Limits {
            deadline: Duration::from_millis(app.handler_deadline_ms),
            memory_bytes: (app.handler_memory_mb as usize) << 20,
            max_payload: usize::try_from(app.max_payload)
                .unwrap_or(usize::MAX)
                .min(self.max_payload),
            ..Limits::default()
        }
    }

    /// Checks and compiles a component (or finds its cached compilation).
    pub async fn compile(&self, wasm: Vec<u8>) -> Result<LoadedComponent, LoadError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.load(&wasm))
            .await
            .map_err(|e| LoadError::Compile(format!("the compiler task failed: {e}")))?
    }

    /// Instantiates a compiled component once under `limits` (the trial)
    /// and wraps it as a handler.
    pub async fn instantiate(
        &self,
        loaded: &LoadedComponent,
        limits: Limits,
    ) -> Result<Arc<WasmHandler>, LoadError> {
        let pool = HandlerPool::new(&self.engine, loaded, limits).await?;
        Ok(Arc::new(WasmHandler::new(Arc::new(pool))))
    }

    /// Both steps.
    pub async fn build(
        &self,
        wasm: Vec<u8>,
        limits: Limits,
    ) -> Result<Arc<WasmHandler>, LoadError> {
        let loaded = self.compile(wasm).await?;
        self.instantiate(&loaded, limits).await
    }
}
