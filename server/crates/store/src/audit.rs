//! The audit log: one entry per control-plane change, written in the same
//! transaction as the change itself.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub app: Option<String>,
    pub detail: serde_json::Value,
}

/// Writes one entry. `tenant` is the tenant it belongs to; left out, it is
/// the app's tenant (when the app still exists), else platform-wide.
pub(crate) async fn record(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    app: Option<&str>,
    tenant: Option<i64>,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, app, detail, tenant_id) VALUES ($1, $2, $3, $4, $5, \
         COALESCE($6, (SELECT tenant_id FROM apps WHERE slug = $4)))",
    )
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(app)
    .bind(detail.to_string())
    .bind(tenant)
    .execute(conn)
    .await?;
    Ok(())
}

fn entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let detail: String = row.try_get("detail")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        app: row.try_get("app")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
    })
}

impl Store {
    /// Records a change that has no other write (a refused deploy, say).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        app: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        record(&mut conn, actor, action, app, None, detail).await
    }

    /// Newest first; `before` pages backwards by id. `tenant`: only that
    /// tenant's entries (its apps' and its own, such as its tokens).
    pub async fn audit_log(
        &self,
        app: Option<&str>,
        tenant: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, app, detail FROM audit_log \
             WHERE ($1 IS NULL OR app = $1) AND ($2 IS NULL OR id < $2) \
             AND ($4 IS NULL OR tenant_id = $4) ORDER BY id DESC LIMIT $3",
        )
        .bind(app)
        .bind(before)
        .bind(limit.clamp(1, 1000))
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry).collect()
    }
}
