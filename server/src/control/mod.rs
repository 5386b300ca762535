//! The control plane: the registry made live. Creating, changing and
//! deleting apps, and the deploy pipeline, each as one operation shared by
//! the admin API, the CLI (through it) and, later, the admin UI. It talks to
//! the data plane only by replacing an app's handler or limits, or the set
//! of apps.

mod bootstrap;
pub mod dir_lock;
mod error;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use eddy_host::LoadError;
use eddy_store::{AppLimits, Credentials, Deployment, NewApp, Store};
use serde::Serialize;

pub use bootstrap::bootstrap;
pub use error::ControlError;

use crate::cluster::ClusterLink;
use crate::deploy::Deployer;
use crate::dispatch::{Handler, UnavailableHandler};
use crate::session::{CloseReason, EngineSettings};
use crate::tenant::kv::KvBackend;
use crate::tenant::{App, Tenants};

pub struct Control {
    pub store: Store,
    pub deployer: Arc<Deployer>,
    pub tenants: Arc<Tenants>,
    settings: Arc<EngineSettings>,
    max_component_bytes: usize,
    /// Other nodes hear of every registry change through it.
    pub cluster: Arc<ClusterLink>,
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

/// How a deploy went, step by step.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeployReport {
    pub deployment: Deployment,
    pub activated: bool,
    /// Each pipeline step and how long it took.
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepReport {
    pub step: &'static str,
    pub millis: u64,
}

/// The pipeline's steps, in order.
pub const STEPS: [&str; 5] = ["size", "validate", "instantiate", "store", "activate"];

impl Control {
    /// The live app for a registry record: its active version's handler
    /// (built under its limits), its limits, its key-value data.
    async fn live_app(&self, record: &eddy_store::App) -> Arc<App> {
        let handler: Arc<dyn Handler> = match record.active_version {
            None => Arc::new(UnavailableHandler::no_deployment()),
            Some(version) => match self
                .handler_for(&record.slug, version, &record.limits)
                .await
            {
                Ok(handler) => handler,
                Err(error) => {
                    tracing::error!(app = %record.slug, version, %error, "cannot load the active handler");
                    Arc::new(UnavailableHandler::broken(&error.to_string()))
                }
            },
        };
        let kv = KvBackend::registry(self.store.clone(), record.id);
        App::new(
            &record.slug,
            record.id,
            (handler, record.active_version),
            record.limits.clone(),
            &self.settings,
            kv,
            self.cluster.clone(),
        )
    }

    /// Builds the handler of a stored version (its compiled form is usually cached).
    async fn handler_for(
        &self,
        slug: &str,
        version: i64,
        limits: &AppLimits,
    ) -> Result<Arc<dyn Handler>, ControlError> {
        let deployment = self.store.deployment(slug, version).await?;
        let bytes = self.store.artifact(&deployment.hash).await?;
        let handler = self
            .deployer
            .build(bytes, self.deployer.limits(limits))
            .await
            .map_err(|e| ControlError::deploy(step_of(&e), e))?;
        Ok(handler)
    }

    #[tracing::instrument(name = "create_app", skip_all, fields(app = new.slug, actor))]
    pub async fn create_app(
        &self,
        new: &NewApp,
        actor: &str,
    ) -> Result<(eddy_store::App, Credentials), ControlError> {
        if self.tenants.get(&new.slug).is_some_and(|a| a.id == 0) {
            return Err(ControlError::Conflict(format!(
                "{:?} is a built-in app from the config file",
                new.slug
            )));
        }
        let _guard = self.app_locks.lock(&new.slug).await;
        let (record, credentials) = self.store.create_app(new, actor).await?;
        self.tenants.insert(self.live_app(&record).await);
        self.cluster.cluster.app_changed(&record.slug);
        tracing::info!(app = %record.slug, actor, "app created");
        Ok((record, credentials))
    }

    /// Renames an app or changes its limits; new limits apply at once
    /// (handler limits by rebuilding the active version under them).
    #[tracing::instrument(name = "update_app", skip_all, fields(app = slug, actor))]
    pub async fn update_app(
        &self,
        slug: &str,
        name: Option<&str>,
        limits: Option<&AppLimits>,
        actor: &str,
    ) -> Result<eddy_store::App, ControlError> {
        let _guard = self.app_locks.lock(slug).await;
        let before = self.store.app(slug).await?;
        let record = self.store.update_app(slug, name, limits, actor).await?;
        if let Some(app) = self.tenants.get(slug) {
            app.set_limits(record.limits.clone(), &self.settings);
            let handler_limits_changed = before.limits.handler_deadline_ms
                != record.limits.handler_deadline_ms
                || before.limits.handler_memory_mb != record.limits.handler_memory_mb
                || before.limits.max_payload != record.limits.max_payload;
            if handler_limits_changed && let Some(version) = record.active_version {
                let handler = self.handler_for(slug, version, &record.limits).await?;
                app.set_handler(handler, Some(version));
            }
        }
        self.cluster.cluster.app_changed(slug);
        Ok(record)
    }

    /// Deletes an app and its data; its clients are disconnected.
    #[tracing::instrument(name = "delete_app", skip_all, fields(app = slug, actor))]
    pub async fn delete_app(&self, slug: &str, actor: &str) -> Result<(), ControlError> {
        let _guard = self.app_locks.lock(slug).await;
        self.store.delete_app(slug, actor).await?;
        if let Some(app) = self.tenants.remove(slug) {
            app.sessions.close_all(CloseReason::ForcedServerClose);
        }
        self.cluster.cluster.app_changed(slug);
        tracing::info!(app = %slug, actor, "app deleted");
        Ok(())
    }

    pub async fn rotate_secret(
        &self,
        slug: &str,
        actor: &str,
    ) -> Result<Credentials, ControlError> {
        Ok(self.store.rotate_secret(slug, actor).await?)
    }

    /// The deploy pipeline: size → validate (a component of our world,
    /// importing only what we provide; compiled once and cached) → trial
    /// instantiation under the app's limits → store (artifact, version and
    /// audit entry in one transaction) → activate (swap for the next event).
    /// A failed step changes nothing and names itself.
    #[tracing::instrument(name = "deploy", skip_all, fields(app = slug, actor, bytes = component.len()))]
    pub async fn deploy(
        &self,
        slug: &str,
        component: Vec<u8>,
        notes: &str,
        activate: bool,
        actor: &str,
    ) -> Result<DeployReport, ControlError> {
        let record = self.store.app(slug).await?;
        let mut steps = Vec::new();
        let mut clock = Instant::now();
        let mut done = |step: &'static str| {
            let millis = clock.elapsed().as_millis() as u64;
            tracing::debug!(step, millis, "deploy step passed");
            steps.push(StepReport { step, millis });
            clock = Instant::now();
        };
        if component.len() > self.max_component_bytes {
            let error = ControlError::TooLarge {
                size: component.len(),
                max: self.max_component_bytes,
            };
            self.refused(slug, actor, "size", &error).await;
            return Err(error);
        }
        done("size");
        let limits = self.deployer.limits(&record.limits);
        let refuse = |e: LoadError| {
            let error = ControlError::deploy(step_of(&e), e);
            async move {
                self.refused(slug, actor, error.step().unwrap_or("validate"), &error)
                    .await;
                error
            }
        };
        let loaded = match self.deployer.compile(component.clone()).await {
            Ok(loaded) => loaded,
            Err(e) => return Err(refuse(e).await),
        };
        done("validate");
        let handler = match self.deployer.instantiate(&loaded, limits).await {
            Ok(handler) => handler,
            Err(e) => return Err(refuse(e).await),
        };
        done("instantiate");
        let hash = handler.pool().content_hash().to_owned();
        let _guard = self.app_locks.lock(slug).await;
        let deployment = self
            .store
            .add_deployment(slug, &component, &hash, notes, actor, activate)
            .await?;
        done("store");
        if activate && let Some(app) = self.tenants.get(slug) {
            app.set_handler(handler, Some(deployment.version));
            app.log.write(
                eddy_host::types::Level::Info,
                &format!("version {} is live ({})", deployment.version, &hash[..12]),
            );
        }
        if activate {
            self.cluster.cluster.app_changed(slug);
        }
        done("activate");
        tracing::info!(app = %slug, version = deployment.version, activate, actor, "deployed");
        Ok(DeployReport {
            deployment,
            activated: activate,
            steps,
        })
    }

    /// Makes a stored version live (a rollback when it is older).
    #[tracing::instrument(name = "activate", skip_all, fields(app = slug, version, actor))]
    pub async fn activate(
        &self,
        slug: &str,
        version: i64,
        actor: &str,
    ) -> Result<Deployment, ControlError> {
        let record = self.store.app(slug).await?;
        let handler = self.handler_for(slug, version, &record.limits).await?;
        let _guard = self.app_locks.lock(slug).await;
        let deployment = self.store.activate(slug, version, actor).await?;
        if let Some(app) = self.tenants.get(slug) {
            app.set_handler(handler, Some(version));
            app.log.write(
                eddy_host::types::Level::Info,
                &format!("version {version} is live"),
            );
        }
        self.cluster.cluster.app_changed(slug);
        tracing::info!(app = %slug, version, actor, "activated");
        Ok(deployment)
    }

    /// Activates the version that was live before the current one.
    #[tracing::instrument(name = "rollback", skip_all, fields(app = slug, actor))]
    pub async fn rollback(&self, slug: &str, actor: &str) -> Result<Deployment, ControlError> {
        let deployments = self.store.deployments(slug).await?;
        let active = deployments
            .iter()
            .find(|d| d.status == eddy_store::DeploymentStatus::Active)
            .map(|d| d.version);
        let previous = deployments
            .iter()
            .filter(|d| Some(d.version) != active && d.activated_at.is_some())
            .max_by_key(|d| d.activated_at)
            .ok_or_else(|| {
                ControlError::Invalid("there is no earlier version to roll back to".into())
            })?;
        self.activate(slug, previous.version, actor).await
    }

    /// Brings this node's copy of an app in line with the registry (another
    /// node changed it): created, deleted, new limits, another version live.
    pub async fn sync_app(&self, slug: &str) -> Result<(), ControlError> {
        let _guard = self.app_locks.lock(slug).await;
        let record = match self.store.app(slug).await {
            Ok(record) => record,
            Err(eddy_store::StoreError::NotFound(_)) => {
                if let Some(app) = self.tenants.get(slug).filter(|a| a.id != 0)
                    && let Some(app) = self.tenants.remove(&app.slug)
                {
                    app.sessions.close_all(CloseReason::ForcedServerClose);
                    tracing::info!(app = %slug, "app deleted on another node");
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let Some(app) = self.tenants.get(slug).filter(|a| a.id == record.id) else {
            // New here (or deleted and created again elsewhere).
            if let Some(old) = self.tenants.get(slug) {
                old.sessions.close_all(CloseReason::ForcedServerClose);
            }
            self.tenants.insert(self.live_app(&record).await);
            tracing::info!(app = %slug, "app created on another node");
            return Ok(());
        };
        let before = app.limits();
        if *before != record.limits {
            app.set_limits(record.limits.clone(), &self.settings);
        }
        let handler_limits_changed = before.handler_deadline_ms
            != record.limits.handler_deadline_ms
            || before.handler_memory_mb != record.limits.handler_memory_mb
            || before.max_payload != record.limits.max_payload;
        if app.active_version() != record.active_version || handler_limits_changed {
            let handler: Arc<dyn Handler> = match record.active_version {
                Some(version) => self.handler_for(slug, version, &record.limits).await?,
                None => Arc::new(UnavailableHandler::no_deployment()),
            };
            app.set_handler(handler, record.active_version);
            if let Some(version) = record.active_version {
                tracing::info!(app = %slug, version, "version activated on another node");
            }
        }
        Ok(())
    }

    /// [`Self::sync_app`] for every app: after a broker outage (whose
    /// notices may be lost) and now and then as a safety net.
    pub async fn sync_all(&self) -> Result<(), ControlError> {
        let records = self.store.apps().await?;
        for record in &records {
            if let Err(error) = self.sync_app(&record.slug).await {
                tracing::warn!(app = %record.slug, %error, "cannot bring the app up to date");
            }
        }
        for app in self.tenants.all() {
            if app.id != 0 && !records.iter().any(|r| r.slug == *app.slug) {
                self.sync_app(&app.slug).await?;
            }
        }
        Ok(())
    }

    /// Records an upload the transport cut off at the size limit, so it is
    /// audited like every other refused deploy.
    pub async fn refuse_oversized(&self, slug: &str, actor: &str, received: usize) -> ControlError {
        let error = ControlError::TooLarge {
            size: received,
            max: self.max_component_bytes,
        };
        if self.store.app(slug).await.is_ok() {
            self.refused(slug, actor, "size", &error).await;
        }
        error
    }

    async fn refused(&self, slug: &str, actor: &str, step: &str, error: &ControlError) {
        let detail = serde_json::json!({ "step": step, "error": error.to_string() });
        if let Err(e) = self
            .store
            .audit(actor, "deploy.refused", Some(slug), detail)
            .await
        {
            tracing::warn!(error = %e, "cannot record a refused deploy");
        }
        if let Some(app) = self.tenants.get(slug) {
            // The error names the step already.
            app.log
                .write(eddy_host::types::Level::Warn, &error.to_string());
        }
    }
}

/// Which pipeline step a load error belongs to.
fn step_of(error: &LoadError) -> &'static str {
    match error {
        LoadError::Empty | LoadError::TooLarge { .. } => "size",
        LoadError::Instantiate(_) | LoadError::StartTimeout { .. } => "instantiate",
        // Compiling is part of validating (the compiler checks the code).
        _ => "validate",
    }
}
