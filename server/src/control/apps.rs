//! Apps in the registry and live together: created, changed, deleted, and
//! the live app built from a registry record.

use std::sync::Arc;

use eddy_store::{AppLimits, Credentials, NewApp};

use super::{Control, ControlError, DeployStep};
use crate::dispatch::{Handler, UnavailableHandler};
use crate::session::CloseReason;
use crate::tenant::config::AppConfig;
use crate::tenant::kv::KvBackend;
use crate::tenant::timers::AppTimers;
use crate::tenant::{App, AppData};

/// Whether two sets of limits build different handlers (the others apply
/// to a live app as they are).
pub(super) fn handler_limits_differ(a: &AppLimits, b: &AppLimits) -> bool {
    a.handler_deadline_ms != b.handler_deadline_ms
        || a.handler_memory_mb != b.handler_memory_mb
        || a.max_payload != b.max_payload
}

impl Control {
    /// The live app for a registry record: its active version's handler
    /// (built under its limits), its limits, its key-value data and config.
    pub(super) async fn live_app(&self, record: &eddy_store::App) -> Arc<App> {
        let handler: Arc<dyn Handler> = match record.active_version {
            None => Arc::new(UnavailableHandler::no_deployment()),
            Some(version) => match self.handler_for(record, version).await {
                Ok(handler) => handler,
                Err(error) => {
                    tracing::error!(app = %record.slug, version, %error, "cannot load the active handler");
                    Arc::new(UnavailableHandler::broken(&error.to_string()))
                }
            },
        };
        let data = AppData {
            kv: KvBackend::registry(self.store.clone(), record.id),
            timers: AppTimers::registry(self.store.clone(), record.id, self.timer_wake.clone()),
            config: AppConfig::registry(
                self.store.clone(),
                record.id,
                &record.slug,
                self.sealer.clone(),
            ),
        };
        App::new(
            &record.slug,
            record.id,
            (handler, record.active_version),
            record.limits.clone(),
            &self.settings,
            data,
            self.cluster.clone(),
        )
    }

    /// Builds the handler of a stored version of an app (its compiled form
    /// is usually cached) under the app's current limits.
    pub(super) async fn handler_for(
        &self,
        record: &eddy_store::App,
        version: i64,
    ) -> Result<Arc<dyn Handler>, ControlError> {
        let deployment = self.store.deployment(&record.slug, version).await?;
        let bytes = self.store.artifact(&deployment.hash).await?;
        let limits = self.handler_limits(record).await?;
        let handler = self
            .compiler
            .build(bytes, limits)
            .await
            .map_err(|e| ControlError::deploy(DeployStep::of(&e), e))?;
        Ok(handler)
    }

    /// The limits an app's handler runs under, with its tenant's memory
    /// budget on this node (its quota read from the registry the first time).
    pub(super) async fn handler_limits(
        &self,
        record: &eddy_store::App,
    ) -> Result<eddy_host::Limits, ControlError> {
        let budget = match self.compiler.tenant_memory(record.tenant_id) {
            Some(budget) => budget,
            None => {
                let tenant = self.store.tenant(&record.tenant).await?;
                self.compiler
                    .set_tenant_memory(tenant.id, tenant.quota.max_handler_memory_mb)
            }
        };
        Ok(self.compiler.limits(&record.limits, budget))
    }

    /// Brings this node's tenant memory budgets in line with the registry's
    /// quotas (after a quota change here, and with every sync).
    pub(crate) async fn refresh_tenant_memory(&self) -> Result<(), ControlError> {
        let tenants = self.store.tenants().await?;
        for tenant in &tenants {
            self.compiler
                .set_tenant_memory(tenant.id, tenant.quota.max_handler_memory_mb);
        }
        let ids: Vec<i64> = tenants.iter().map(|t| t.id).collect();
        self.compiler.keep_tenant_memory(&ids);
        Ok(())
    }

    #[tracing::instrument(name = "create_app", skip_all, fields(app = new.slug, actor))]
    pub(crate) async fn create_app(
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
    pub(crate) async fn update_app(
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
            let handler_limits_changed = handler_limits_differ(&before.limits, &record.limits);
            // The handler first: if it cannot be built, the live app keeps
            // its old limits too, and a sync (which compares them with the
            // registry's) tries again.
            let handler = match record.active_version {
                Some(version) if handler_limits_changed => {
                    Some((self.handler_for(&record, version).await?, version))
                }
                _ => None,
            };
            app.set_limits(record.limits.clone(), &self.settings);
            if let Some((handler, version)) = handler {
                app.set_handler(handler, Some(version));
            }
        }
        self.cluster.cluster.app_changed(slug);
        Ok(record)
    }

    /// Deletes an app and its data; its clients are disconnected.
    #[tracing::instrument(name = "delete_app", skip_all, fields(app = slug, actor))]
    pub(crate) async fn delete_app(&self, slug: &str, actor: &str) -> Result<(), ControlError> {
        let _guard = self.app_locks.lock(slug).await;
        self.store.delete_app(slug, actor).await?;
        if let Some(app) = self.tenants.remove(slug) {
            app.sessions.close_all(CloseReason::ForcedServerClose);
        }
        self.cluster.cluster.app_changed(slug);
        tracing::info!(app = %slug, actor, "app deleted");
        Ok(())
    }

    pub(crate) async fn rotate_secret(
        &self,
        slug: &str,
        actor: &str,
    ) -> Result<Credentials, ControlError> {
        Ok(self.store.rotate_secret(slug, actor).await?)
    }
}
