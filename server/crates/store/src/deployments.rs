//! Deployments (numbered versions of an app's handler) and the artifacts
//! they point at, stored once per content hash.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::record;
use crate::db::audited;
use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeploymentStatus {
    /// Stored and checked, never activated (or uploaded without activating).
    Ready,
    /// The version new events run on.
    Active,
    /// Was active, replaced by another version; can be activated again.
    Retired,
}

impl DeploymentStatus {
    fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "retired" => Self::Retired,
            _ => Self::Ready,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub app: String,
    pub version: i64,
    /// Hex SHA-256 of the component.
    pub hash: String,
    pub size: i64,
    pub status: DeploymentStatus,
    pub notes: String,
    pub created_at: i64,
    pub created_by: String,
    pub activated_at: Option<i64>,
    /// The `eddy:handler` contract version it was built against (`None`:
    /// uploaded before the server recorded it).
    pub contract: Option<String>,
    /// The SDK version stamped into it, if any.
    pub sdk_version: Option<String>,
}

/// What the server read off a component when it was uploaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    pub contract: Option<String>,
    pub sdk_version: Option<String>,
}

const COLUMNS: &str = "a.slug, d.version, d.hash, d.size, d.status, d.notes, d.created_at, d.created_by, d.activated_at, \
     d.contract, d.sdk_version";

fn deployment(row: &AnyRow) -> Result<Deployment, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Deployment {
        app: row.try_get("slug")?,
        version: row.try_get("version")?,
        hash: row.try_get("hash")?,
        size: row.try_get("size")?,
        status: DeploymentStatus::parse(&status),
        notes: row.try_get("notes")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        activated_at: row.try_get("activated_at")?,
        contract: row.try_get("contract")?,
        sdk_version: row.try_get("sdk_version")?,
    })
}

impl Store {
    /// Stores a checked component as the app's next version, optionally
    /// activating it, all in one transaction.
    pub async fn add_deployment(
        &self,
        slug: &str,
        component: &[u8],
        hash: &str,
        notes: &str,
        actor: &str,
        activate: bool,
    ) -> Result<Deployment, StoreError> {
        let build = BuildInfo::default();
        self.add_built_deployment(slug, (component, &build), hash, notes, actor, activate)
            .await
    }

    /// [`Store::add_deployment`], recording what the component was built with.
    pub async fn add_built_deployment(
        &self,
        slug: &str,
        (component, build): (&[u8], &BuildInfo),
        hash: &str,
        notes: &str,
        actor: &str,
        activate: bool,
    ) -> Result<Deployment, StoreError> {
        if notes.len() > 1000 {
            return Err(StoreError::Invalid(
                "deployment notes are at most 1000 characters".into(),
            ));
        }
        let mut tx = self.begin().await?;
        // Lock the app so concurrent uploads get consecutive versions.
        let lock = format!("SELECT id FROM apps WHERE slug = $1{}", self.for_update());
        let app_id: i64 = sqlx::query(audited(lock))
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("app {slug:?}")))?
            .try_get("id")?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO artifacts (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(hash)
        .bind(component.len() as i64)
        .bind(component)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let version: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM deployments WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("next")?;
        sqlx::query(
            "INSERT INTO deployments (app_id, version, hash, size, status, notes, created_at, created_by, \
             contract, sdk_version) VALUES ($1, $2, $3, $4, 'ready', $5, $6, $7, $8, $9)",
        )
        .bind(app_id)
        .bind(version)
        .bind(hash)
        .bind(component.len() as i64)
        .bind(notes)
        .bind(now)
        .bind(actor)
        .bind(build.contract.as_deref())
        .bind(build.sdk_version.as_deref())
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({ "version": version, "hash": hash, "size": component.len(), "notes": notes });
        record(&mut tx, actor, "deploy.upload", Some(slug), None, detail).await?;
        if activate {
            self.activate_in(&mut tx, app_id, slug, version, actor, "deploy.activate")
                .await?;
        }
        tx.commit().await?;
        self.deployment(slug, version).await
    }

    /// Makes `version` the active one (a rollback when it is older).
    pub async fn activate(
        &self,
        slug: &str,
        version: i64,
        actor: &str,
    ) -> Result<Deployment, StoreError> {
        let mut tx = self.begin().await?;
        let lock = format!(
            "SELECT id, active_version FROM apps WHERE slug = $1{}",
            self.for_update()
        );
        let row = sqlx::query(audited(lock))
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("app {slug:?}")))?;
        let app_id: i64 = row.try_get("id")?;
        let active: Option<i64> = row.try_get("active_version")?;
        let action = match active {
            Some(current) if version < current => "deploy.rollback",
            _ => "deploy.activate",
        };
        self.activate_in(&mut tx, app_id, slug, version, actor, action)
            .await?;
        tx.commit().await?;
        self.deployment(slug, version).await
    }

    async fn activate_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        app_id: i64,
        slug: &str,
        version: i64,
        actor: &str,
        action: &str,
    ) -> Result<(), StoreError> {
        let exists =
            sqlx::query("SELECT version FROM deployments WHERE app_id = $1 AND version = $2")
                .bind(app_id)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!(
                "version {version} of app {slug:?}"
            )));
        }
        sqlx::query(
            "UPDATE deployments SET status = 'retired' WHERE app_id = $1 AND status = 'active'",
        )
        .bind(app_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE deployments SET status = 'active', activated_at = $3 WHERE app_id = $1 AND version = $2")
            .bind(app_id)
            .bind(version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE apps SET active_version = $2 WHERE id = $1")
            .bind(app_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        record(
            tx,
            actor,
            action,
            Some(slug),
            None,
            serde_json::json!({ "version": version }),
        )
        .await
    }

    /// Newest first.
    pub async fn deployments(&self, slug: &str) -> Result<Vec<Deployment>, StoreError> {
        self.app(slug).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM deployments d JOIN apps a ON a.id = d.app_id WHERE a.slug = $1 ORDER BY d.version DESC"
        );
        let rows = sqlx::query(audited(sql))
            .bind(slug)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(deployment).collect()
    }

    pub async fn deployment(&self, slug: &str, version: i64) -> Result<Deployment, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deployments d JOIN apps a ON a.id = d.app_id WHERE a.slug = $1 AND d.version = $2"
        );
        let row = sqlx::query(audited(sql))
            .bind(slug)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(deployment)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("version {version} of app {slug:?}")))
    }

    pub async fn active_deployment(&self, slug: &str) -> Result<Option<Deployment>, StoreError> {
        match self.app(slug).await?.active_version {
            Some(version) => self.deployment(slug, version).await.map(Some),
            None => Ok(None),
        }
    }

    /// The component bytes stored under `hash`.
    pub async fn artifact(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query("SELECT bytes FROM artifacts WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("artifact {hash}")))?;
        Ok(row.try_get("bytes")?)
    }

    /// Artifacts stored (each once, whatever the number of deployments using it).
    pub async fn artifact_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM artifacts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
