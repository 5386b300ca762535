//! Turning a component into an app's live handler: check and compile it
//! (off the async threads), instantiate it once under the app's limits, then
//! swap it in for the next event. Connected sockets never notice.
//!
//! Apps from the config file name a `.wasm` path; the file is watched and a
//! change is deployed the same way. A version that fails any step is not
//! deployed and the running one stays.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eddy_host::types::Level;
use eddy_host::{EngineOptions, HandlerPool, HostEngine, HostFault, Limits, LoadError};

use crate::config::{AppConfig, Config};
use crate::dispatch::WasmHandler;
use crate::tenant::App;

/// How often watched files are checked for a new version.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

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
            ..EngineOptions::default()
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
    pub fn limits(&self, app: &AppConfig) -> Limits {
        Limits {
            deadline: Duration::from_millis(app.deadline_ms),
            memory_bytes: (app.memory_mb as usize) << 20,
            max_payload: self.max_payload,
            ..Limits::default()
        }
    }

    /// Checks, compiles and trial-instantiates a component.
    pub async fn build(
        &self,
        wasm: Vec<u8>,
        limits: Limits,
    ) -> Result<Arc<WasmHandler>, LoadError> {
        let engine = self.engine.clone();
        let loaded = tokio::task::spawn_blocking(move || engine.load(&wasm))
            .await
            .map_err(|e| LoadError::Compile(format!("the compiler task failed: {e}")))??;
        let pool = HandlerPool::new(&self.engine, &loaded, limits).await?;
        Ok(Arc::new(WasmHandler::new(Arc::new(pool))))
    }

    /// Deploys the component at `path` to `app` now.
    pub async fn deploy_file(
        &self,
        app: &App,
        path: &std::path::Path,
        limits: Limits,
    ) -> Result<String, String> {
        let wasm = tokio::fs::read(path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let handler = self.build(wasm, limits).await.map_err(|e| e.to_string())?;
        let hash = handler.pool().content_hash().to_owned();
        app.set_handler(handler);
        Ok(hash)
    }

    /// Watches `path` and deploys every new version to `app`.
    pub fn watch(
        self: &Arc<Self>,
        app: Arc<App>,
        path: PathBuf,
        limits: Limits,
    ) -> tokio::task::JoinHandle<()> {
        let deployer = self.clone();
        tokio::spawn(async move {
            let mut seen = stamp(&path).await;
            let mut ticker = tokio::time::interval(WATCH_INTERVAL);
            loop {
                ticker.tick().await;
                let now = stamp(&path).await;
                if now.is_none() || now == seen {
                    continue;
                }
                seen = now;
                match deployer.deploy_file(&app, &path, limits.clone()).await {
                    Ok(hash) => {
                        tracing::info!(app = %app.slug, version = %&hash[..12], "deployed a new handler version");
                        app.log.write(
                            Level::Info,
                            &format!("deployed handler version {}", &hash[..12]),
                        );
                    }
                    Err(error) => {
                        tracing::warn!(app = %app.slug, %error, "new handler version refused; the running one stays");
                        app.log
                            .write(Level::Error, &format!("new version refused: {error}"));
                    }
                }
            }
        })
    }
}

/// What identifies a version of a file on disk.
async fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = tokio::fs::metadata(path).await.ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
