//! The deploy pipeline: size → validate → instantiate → store → activate,
//! each step named by [`DeployStep`] (its string is what the admin API and
//! the audit log report); activation and rollback of stored versions.

use std::time::Instant;

use eddy_host::LoadError;
use eddy_store::Deployment;
use serde::Serialize;

use super::{Control, ControlError};

/// A step of the deploy pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeployStep {
    /// The upload is within `max_component_bytes` (and not empty).
    Size,
    /// A component of our world, importing only what we provide; compiled
    /// (compiling is part of validating: the compiler checks the code).
    Validate,
    /// One trial instance started under the app's limits.
    Instantiate,
    /// Artifact, version and audit entry written in one transaction.
    Store,
    /// Swapped in for the next event.
    Activate,
}

impl DeployStep {
    #[cfg(test)]
    pub(crate) const ALL: [Self; 5] = [
        Self::Size,
        Self::Validate,
        Self::Instantiate,
        Self::Store,
        Self::Activate,
    ];

    /// The step's name on the wire (the problem body's `step`, the report,
    /// the audit entry of a refused deploy).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Size => "size",
            Self::Validate => "validate",
            Self::Instantiate => "instantiate",
            Self::Store => "store",
            Self::Activate => "activate",
        }
    }

    /// The step a load error belongs to.
    pub(crate) fn of(error: &LoadError) -> Self {
        match error {
            LoadError::Empty | LoadError::TooLarge { .. } => Self::Size,
            LoadError::Instantiate(_) | LoadError::StartTimeout { .. } => Self::Instantiate,
            _ => Self::Validate,
        }
    }
}

impl std::fmt::Display for DeployStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a deploy went, step by step.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeployReport {
    pub deployment: Deployment,
    pub activated: bool,
    /// Each pipeline step and how long it took.
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StepReport {
    pub step: DeployStep,
    pub millis: u64,
}

impl Control {
    /// The deploy pipeline: size → validate (a component of our world,
    /// importing only what we provide; compiled once and cached) → trial
    /// instantiation under the app's limits → store (artifact, version and
    /// audit entry in one transaction) → activate (swap for the next event).
    /// A failed step changes nothing and names itself.
    #[tracing::instrument(name = "deploy", skip_all, fields(app = slug, actor, bytes = component.len()))]
    pub(crate) async fn deploy(
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
        let mut done = |step: DeployStep| {
            let millis = clock.elapsed().as_millis() as u64;
            tracing::debug!(step = step.as_str(), millis, "deploy step passed");
            steps.push(StepReport { step, millis });
            clock = Instant::now();
        };
        if component.len() > self.max_component_bytes {
            let error = ControlError::TooLarge {
                size: component.len(),
                max: self.max_component_bytes,
            };
            self.refused(slug, actor, DeployStep::Size, &error).await;
            return Err(error);
        }
        done(DeployStep::Size);
        let limits = self.handler_limits(&record).await?;
        let refuse = |e: LoadError| {
            let error = ControlError::deploy(DeployStep::of(&e), e);
            async move {
                self.refused(
                    slug,
                    actor,
                    error.step().unwrap_or(DeployStep::Validate),
                    &error,
                )
                .await;
                error
            }
        };
        let loaded = match self.compiler.compile(component.clone()).await {
            Ok(loaded) => loaded,
            Err(e) => return Err(refuse(e).await),
        };
        done(DeployStep::Validate);
        let handler = match self.compiler.instantiate(&loaded, limits).await {
            Ok(handler) => handler,
            Err(e) => return Err(refuse(e).await),
        };
        done(DeployStep::Instantiate);
        let hash = handler.pool().content_hash().to_owned();
        let _guard = self.app_locks.lock(slug).await;
        let build = eddy_store::BuildInfo {
            contract: Some(loaded.contract.version().to_owned()),
            sdk_version: loaded.sdk_version.clone(),
        };
        let deployment = self
            .store
            .add_built_deployment(slug, (&component, &build), &hash, notes, actor, activate)
            .await?;
        done(DeployStep::Store);
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
        done(DeployStep::Activate);
        tracing::info!(app = %slug, version = deployment.version, activate, actor, "deployed");
        Ok(DeployReport {
            deployment,
            activated: activate,
            steps,
        })
    }

    /// Makes a stored version live (a rollback when it is older).
    #[tracing::instrument(name = "activate", skip_all, fields(app = slug, version, actor))]
    pub(crate) async fn activate(
        &self,
        slug: &str,
        version: i64,
        actor: &str,
    ) -> Result<Deployment, ControlError> {
        let record = self.store.app(slug).await?;
        let handler = self.handler_for(&record, version).await?;
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
    pub(crate) async fn rollback(
        &self,
        slug: &str,
        actor: &str,
    ) -> Result<Deployment, ControlError> {
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

    /// Records an upload the transport cut off at the size limit, so it is
    /// audited like every other refused deploy.
    pub(crate) async fn refuse_oversized(
        &self,
        slug: &str,
        actor: &str,
        received: usize,
    ) -> ControlError {
        let error = ControlError::TooLarge {
            size: received,
            max: self.max_component_bytes,
        };
        if self.store.app(slug).await.is_ok() {
            self.refused(slug, actor, DeployStep::Size, &error).await;
        }
        error
    }

    async fn refused(&self, slug: &str, actor: &str, step: DeployStep, error: &ControlError) {
        let detail = serde_json::json!({ "step": step.as_str(), "error": error.to_string() });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_keep_their_wire_names() {
        let names: Vec<_> = DeployStep::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["size", "validate", "instantiate", "store", "activate"]
        );
        for step in DeployStep::ALL {
            assert_eq!(
                serde_json::to_value(step).unwrap(),
                serde_json::Value::from(step.as_str())
            );
        }
    }

    #[test]
    fn load_errors_name_their_step() {
        assert_eq!(DeployStep::of(&LoadError::Empty), DeployStep::Size);
        assert_eq!(
            DeployStep::of(&LoadError::Instantiate("x".into())),
            DeployStep::Instantiate
        );
        assert_eq!(
            DeployStep::of(&LoadError::Compile("x".into())),
            DeployStep::Validate
        );
    }
}
