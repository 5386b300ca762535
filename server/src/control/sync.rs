//! Bringing this node's live apps in line with the registry when another
//! node changed it (heard from the broker, or found by a periodic re-read).

use std::sync::Arc;

use super::{Control, ControlError};
use crate::dispatch::{Handler, UnavailableHandler};
use crate::session::CloseReason;

impl Control {
    /// Brings this node's copy of an app in line with the registry (another
    /// node changed it): created, deleted, new limits, another version live.
    pub(crate) async fn sync_app(&self, slug: &str) -> Result<(), ControlError> {
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
        let handler_limits_changed = super::apps::handler_limits_differ(&before, &record.limits);
        // The handler is built before the limits are applied: if building
        // fails, the limits still differ from the registry's, so the next
        // sync tries again.
        let handler: Option<Arc<dyn Handler>> =
            if app.active_version() != record.active_version || handler_limits_changed {
                Some(match record.active_version {
                    Some(version) => self.handler_for(&record, version).await?,
                    None => Arc::new(UnavailableHandler::no_deployment()),
                })
            } else {
                None
            };
        if *before != record.limits {
            app.set_limits(record.limits.clone(), &self.settings);
        }
        if let Some(handler) = handler {
            app.set_handler(handler, record.active_version);
            if let Some(version) = record.active_version {
                tracing::info!(app = %slug, version, "version activated on another node");
            }
        }
        Ok(())
    }

    /// [`Self::sync_app`] for every app: after a broker outage (whose
    /// notices may be lost) and now and then as a safety net.
    pub(crate) async fn sync_all(&self) -> Result<(), ControlError> {
        // A registry that cannot list tenants now still gets its apps synced.
        if let Err(error) = self.refresh_tenant_memory().await {
            tracing::warn!(%error, "cannot read the tenants' quotas");
        }
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
}
