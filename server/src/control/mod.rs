//! The control plane: the registry made live. Creating, changing and
//! deleting apps (`apps.rs`), the deploy pipeline (`deploy.rs`, with its
//! compile step in `compile.rs`), app config and secrets (`config.rs`),
//! and bringing this node in line with changes made on others (`sync.rs`),
//! each as one operation shared by the admin API, the CLI (through it) and
//! the admin UI. It talks to the data
//! plane only by replacing an app's handler or limits, or the set of apps.

mod apps;
mod bootstrap;
mod compile;
mod config;
mod deploy;
pub(crate) mod dir_lock;
mod error;
mod sync;
mod timers;

use std::collections::HashMap;
use std::sync::Arc;

use eddy_store::Store;

pub(crate) use bootstrap::bootstrap;
pub(crate) use compile::Compiler;
pub(crate) use config::ConfigView;
pub(crate) use deploy::{DeployReport, DeployStep};
pub(crate) use error::ControlError;
pub(crate) use timers::Scheduler;

use crate::cluster::ClusterLink;
use crate::session::EngineSettings;
use crate::tenant::Tenants;

pub(crate) struct Control {
    pub store: Store,
    /// The deploy pipeline's compile step.
    pub compiler: Arc<Compiler>,
    pub tenants: Arc<Tenants>,
    settings: Arc<EngineSettings>,
    max_component_bytes: usize,
    /// The server's secret key (`secret_key`), which encrypts app secrets;
    /// without one, secrets are refused.
    pub sealer: Option<Arc<crate::secrets::Sealer>>,
    /// Other nodes hear of every registry change through it.
    pub cluster: Arc<ClusterLink>,
    /// Wakes this node's timer scheduler when a handler sets a timer.
    pub timer_wake: Arc<crate::tenant::timers::TimerWake>,
    /// Per app: held from a registry write (or read, when syncing) until the
    /// live app reflects it, so a sync that read the registry before a local
    /// deploy cannot put the older version back after it.
    app_locks: AppLocks,
    /// Held for the process's life on a SQLite registry (`dir_lock.rs`).
    _dir_lock: Option<dir_lock::DirLock>,
}

/// One async lock per app slug.
#[derive(Default)]
struct AppLocks(parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl AppLocks {
    async fn lock(&self, slug: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self.0.lock().entry(slug.to_owned()).or_default().clone();
        lock.lock_owned().await
    }
}
