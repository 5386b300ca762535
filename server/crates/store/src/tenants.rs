//! Tenants: who owns apps, and the quota a platform admin gives each. A
//! quota caps what the tenant's apps may be *given* (the sum of their
//! limits), so it holds on every node without counting anything live: an
//! app can never be set above what its tenant has left, nor any limit above
//! the platform ceiling (`AppLimits::RANGES`).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::apps::validate_slug;
use crate::audit::record;
use crate::db::audited;
use crate::{AppLimits, Store, StoreError, now_ms};

/// The tenant every app created before tenants existed belongs to, and the
/// one a platform admin's new app goes to unless it names another.
pub const DEFAULT_TENANT: &str = "default";

/// What a tenant's apps may be given, all together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantQuota {
    /// Apps the tenant may have.
    pub max_apps: u64,
    /// The sum of its apps' `max_connections`.
    pub max_connections: u64,
    /// The sum of its apps' `handler_memory_mb`.
    pub max_handler_memory_mb: u64,
    /// The sum of its apps' `kv_quota_bytes`.
    pub kv_quota_bytes: u64,
}

impl Default for TenantQuota {
    /// A new tenant's quota: ten apps at the default app limits.
    fn default() -> Self {
        let app = AppLimits::default();
        Self {
            max_apps: 10,
            max_connections: 10 * app.max_connections,
            max_handler_memory_mb: 10 * app.handler_memory_mb,
            kv_quota_bytes: 10 * app.kv_quota_bytes,
        }
    }
}

impl TenantQuota {
    /// The platform ceilings of a tenant's quota (the `default` tenant has
    /// these): 100,000 apps, each at its own ceiling (`AppLimits::RANGES`),
    /// so nothing that ran before tenants existed is over its quota.
    pub const CEILINGS: [(&'static str, u64); 4] = [
        ("max_apps", 100_000),
        ("max_connections", 100_000 * 1_000_000),
        ("max_handler_memory_mb", 100_000 * 4096),
        ("kv_quota_bytes", 100_000 * 10_000_000_000),
    ];

    fn values(&self) -> [u64; 4] {
        [
            self.max_apps,
            self.max_connections,
            self.max_handler_memory_mb,
            self.kv_quota_bytes,
        ]
    }

    pub fn validate(&self) -> Result<(), StoreError> {
        for ((name, ceiling), value) in Self::CEILINGS.iter().zip(self.values()) {
            if value > *ceiling {
                return Err(StoreError::Quota {
                    ceiling: format!("platform ceiling {name}"),
                    message: format!("{name} {value} is above the platform ceiling of {ceiling}"),
                });
            }
        }
        Ok(())
    }
}

/// What a tenant's apps are given now (the sums the quota caps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantUsage {
    pub apps: u64,
    pub max_connections: u64,
    pub handler_memory_mb: u64,
    pub kv_quota_bytes: u64,
}

impl TenantUsage {
    fn with(mut self, limits: &AppLimits) -> Self {
        self.apps += 1;
        self.max_connections += limits.max_connections;
        self.handler_memory_mb += limits.handler_memory_mb;
        self.kv_quota_bytes += limits.kv_quota_bytes;
        self
    }

    fn values(&self) -> [u64; 4] {
        [
            self.apps,
            self.max_connections,
            self.handler_memory_mb,
            self.kv_quota_bytes,
        ]
    }

    /// Refuses a usage over `quota`, naming the first quota it passes. A
    /// value that does not grow from `before` passes anyway: a tenant over a
    /// lowered quota can still rename apps and shrink their limits.
    pub(crate) fn check(
        &self,
        tenant: &str,
        quota: &TenantQuota,
        before: Option<&TenantUsage>,
    ) -> Result<(), StoreError> {
        let names = TenantQuota::CEILINGS.map(|(name, _)| name);
        let before = before.map(TenantUsage::values);
        for (i, ((name, used), allowed)) in names
            .iter()
            .zip(self.values())
            .zip(quota.values())
            .enumerate()
        {
            let grows = before.is_none_or(|b| used > b[i]);
            if used > allowed && grows {
                return Err(StoreError::Quota {
                    ceiling: format!("tenant quota {name}"),
                    message: format!(
                        "tenant {tenant:?} would have {used} for {name}, over its quota of {allowed}"
                    ),
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    #[serde(skip)]
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub quota: TenantQuota,
    /// The sums of its apps' limits.
    pub usage: TenantUsage,
}

const TENANT_COLUMNS: &str =
    "id, slug, name, created_at, max_apps, max_connections, max_handler_memory_mb, kv_quota_bytes";

/// The sums of a tenant's app limits, over its apps `a`: what a quota
/// check and a listing both read.
macro_rules! usage_sums {
    () => {
        "COUNT(a.id) AS apps, \
         CAST(COALESCE(SUM(a.max_connections), 0) AS BIGINT) AS conns, \
         CAST(COALESCE(SUM(a.handler_memory_mb), 0) AS BIGINT) AS mem, \
         CAST(COALESCE(SUM(a.kv_quota_bytes), 0) AS BIGINT) AS kv"
    };
}

/// The sums of one tenant's app limits (a further filter may follow).
const USAGE: &str = concat!(
    "SELECT ",
    usage_sums!(),
    " FROM apps a WHERE a.tenant_id = $1"
);

/// A tenant's columns in a query over `tenants t`.
macro_rules! tenant_columns {
    () => {
        "t.id, t.slug, t.name, t.created_at, t.max_apps, \
         t.max_connections, t.max_handler_memory_mb, t.kv_quota_bytes"
    };
}

/// Tenants with the sums of their apps' limits, in one query (a filter
/// goes after it, then [`GROUP_TENANTS`] and the order).
const TENANTS_WITH_USAGE: &str = concat!(
    "SELECT ",
    tenant_columns!(),
    ", ",
    usage_sums!(),
    " FROM tenants t LEFT JOIN apps a ON a.tenant_id = t.id"
);

const GROUP_TENANTS: &str = concat!("GROUP BY ", tenant_columns!());

fn usage_of(row: &AnyRow) -> Result<TenantUsage, StoreError> {
    let sum = |c: &str| row.try_get::<i64, _>(c).map(|v| v.max(0) as u64);
    Ok(TenantUsage {
        apps: sum("apps")?,
        max_connections: sum("conns")?,
        handler_memory_mb: sum("mem")?,
        kv_quota_bytes: sum("kv")?,
    })
}

fn tenant_of(row: &AnyRow) -> Result<Tenant, StoreError> {
    let n = |c: &str| row.try_get::<i64, _>(c).map(|v| v.max(0) as u64);
    Ok(Tenant {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        quota: TenantQuota {
            max_apps: n("max_apps")?,
            max_connections: n("max_connections")?,
            max_handler_memory_mb: n("max_handler_memory_mb")?,
            kv_quota_bytes: n("kv_quota_bytes")?,
        },
        usage: TenantUsage::default(),
    })
}

pub(crate) async fn usage_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    except_app: Option<i64>,
) -> Result<TenantUsage, StoreError> {
    let sql = format!("{USAGE} AND a.id <> $2");
    let row = sqlx::query(audited(sql))
        .bind(tenant_id)
        .bind(except_app.unwrap_or(-1))
        .fetch_one(conn)
        .await?;
    usage_of(&row)
}

/// The tenant's row, locked for the rest of the transaction (a no-op
/// update: a row lock on PostgreSQL, the write lock on SQLite), so two
/// changes to its apps check the quota one after the other.
pub(crate) async fn lock_tenant(
    conn: &mut sqlx::AnyConnection,
    slug: &str,
) -> Result<Tenant, StoreError> {
    let sql = format!("UPDATE tenants SET name = name WHERE slug = $1 RETURNING {TENANT_COLUMNS}");
    let row = sqlx::query(audited(sql))
        .bind(slug)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("tenant {slug:?}")))?;
    tenant_of(&row)
}

/// Checks that `limits` fit the tenant's quota once the app has them.
/// `app`: the app being changed (left out of the current sums) and its
/// limits now, which it may keep or lower whatever the quota.
pub(crate) async fn check_fits(
    conn: &mut sqlx::AnyConnection,
    tenant: &Tenant,
    app: Option<(i64, &AppLimits)>,
    limits: &AppLimits,
) -> Result<(), StoreError> {
    let others = usage_in(conn, tenant.id, app.map(|(id, _)| id)).await?;
    let before = app.map(|(_, current)| others.with(current));
    others
        .with(limits)
        .check(&tenant.slug, &tenant.quota, before.as_ref())
}

/// The id of tenant `slug`, if there is one.
pub(crate) async fn tenant_id(
    conn: &mut sqlx::AnyConnection,
    slug: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
        .bind(slug)
        .fetch_optional(conn)
        .await?)
}

fn validate_name(name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(StoreError::Invalid(
            "a tenant's name is 1 to 200 characters".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// The id of tenant `slug` (an index lookup: what the authorization
    /// check needs, and nothing more).
    pub async fn tenant_id(&self, slug: &str) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        tenant_id(&mut conn, slug)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tenant {slug:?}")))
    }

    /// Every tenant with its use, in one query (each node reads them all
    /// at every sync).
    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let sql = format!("{TENANTS_WITH_USAGE} {GROUP_TENANTS} ORDER BY t.slug");
        let rows = sqlx::query(audited(sql)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let mut tenant = tenant_of(row)?;
                tenant.usage = usage_of(row)?;
                Ok(tenant)
            })
            .collect()
    }

    pub async fn tenant(&self, slug: &str) -> Result<Tenant, StoreError> {
        let sql = format!("{TENANTS_WITH_USAGE} WHERE t.slug = $1 {GROUP_TENANTS}");
        let row = sqlx::query(audited(sql))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tenant {slug:?}")))?;
        let mut tenant = tenant_of(&row)?;
        tenant.usage = usage_of(&row)?;
        Ok(tenant)
    }

    pub async fn create_tenant(
        &self,
        slug: &str,
        name: &str,
        quota: &TenantQuota,
        actor: &str,
    ) -> Result<Tenant, StoreError> {
        validate_slug(slug)
            .map_err(|e| StoreError::Invalid(e.replace("app slug", "tenant slug")))?;
        validate_name(name)?;
        quota.validate()?;
        let mut tx = self.begin().await?;
        let sql = format!(
            "INSERT INTO tenants (slug, name, created_at, max_apps, max_connections, \
             max_handler_memory_mb, kv_quota_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {TENANT_COLUMNS}"
        );
        let inserted = sqlx::query(audited(sql))
            .bind(slug)
            .bind(name.trim())
            .bind(now_ms())
            .bind(quota.max_apps as i64)
            .bind(quota.max_connections as i64)
            .bind(quota.max_handler_memory_mb as i64)
            .bind(quota.kv_quota_bytes as i64)
            .fetch_one(&mut *tx)
            .await;
        let tenant = match inserted {
            Ok(row) => tenant_of(&row)?,
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "a tenant named {slug:?} already exists"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        record(
            &mut tx,
            actor,
            "tenant.create",
            None,
            Some(tenant.id),
            serde_json::json!({ "tenant": slug, "name": name.trim(), "quota": quota }),
        )
        .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    /// Renames a tenant and/or replaces its quota; a quota below what its
    /// apps are given now is refused, naming the first one it would break.
    pub async fn update_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        quota: Option<&TenantQuota>,
        actor: &str,
    ) -> Result<Tenant, StoreError> {
        if let Some(name) = name {
            validate_name(name)?;
        }
        if let Some(quota) = quota {
            quota.validate()?;
        }
        let mut tx = self.begin().await?;
        let before = lock_tenant(&mut tx, slug).await?;
        let quota = quota.copied().unwrap_or(before.quota);
        let name = name.map(str::trim).unwrap_or(&before.name).to_owned();
        let usage = usage_in(&mut tx, before.id, None).await?;
        usage.check(slug, &quota, None).map_err(|e| match e {
            StoreError::Quota { ceiling, .. } => StoreError::Quota {
                message: format!(
                    "tenant {slug:?}'s apps already use more than that {}: lower their limits first",
                    ceiling.trim_start_matches("tenant quota ")
                ),
                ceiling,
            },
            other => other,
        })?;
        sqlx::query(
            "UPDATE tenants SET name = $2, max_apps = $3, max_connections = $4, \
             max_handler_memory_mb = $5, kv_quota_bytes = $6 WHERE id = $1",
        )
        .bind(before.id)
        .bind(&name)
        .bind(quota.max_apps as i64)
        .bind(quota.max_connections as i64)
        .bind(quota.max_handler_memory_mb as i64)
        .bind(quota.kv_quota_bytes as i64)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "tenant.update",
            None,
            Some(before.id),
            serde_json::json!({ "tenant": slug, "name": name, "quota": quota,
                "previous_quota": before.quota }),
        )
        .await?;
        tx.commit().await?;
        self.tenant(slug).await
    }

    /// Deletes a tenant that has no apps, with its tokens. `default` stays.
    pub async fn delete_tenant(&self, slug: &str, actor: &str) -> Result<(), StoreError> {
        if slug == DEFAULT_TENANT {
            return Err(StoreError::Conflict(
                "the default tenant cannot be deleted".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let tenant = lock_tenant(&mut tx, slug).await?;
        let usage = usage_in(&mut tx, tenant.id, None).await?;
        if usage.apps > 0 {
            return Err(StoreError::Conflict(format!(
                "tenant {slug:?} still has {} app(s): delete them first",
                usage.apps
            )));
        }
        // The cascade is explicit too, for a database opened without foreign keys.
        sqlx::query(
            "DELETE FROM admin_token_apps WHERE token_id IN \
             (SELECT id FROM admin_tokens WHERE tenant_id = $1)",
        )
        .bind(tenant.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM admin_tokens WHERE tenant_id = $1")
            .bind(tenant.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(tenant.id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "tenant.delete",
            None,
            None,
            serde_json::json!({ "tenant": slug }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_a_quota_only_what_grows_is_refused() {
        let quota = TenantQuota {
            max_apps: 2,
            max_connections: 100,
            max_handler_memory_mb: 100,
            kv_quota_bytes: 100,
        };
        let before = TenantUsage {
            apps: 2,
            max_connections: 150,
            handler_memory_mb: 10,
            kv_quota_bytes: 10,
        };
        let shrunk = TenantUsage {
            max_connections: 120,
            ..before
        };
        assert!(shrunk.check("t", &quota, Some(&before)).is_ok());
        assert!(before.check("t", &quota, Some(&before)).is_ok(), "a rename");
        let grown = TenantUsage {
            max_connections: 151,
            ..before
        };
        assert!(matches!(
            grown.check("t", &quota, Some(&before)),
            Err(StoreError::Quota { ceiling, .. }) if ceiling == "tenant quota max_connections"
        ));
        assert!(
            shrunk.check("t", &quota, None).is_err(),
            "a new app must fit"
        );
    }
}
