//! Admin bearer tokens, stored hashed. A token is a principal: it has a
//! role and a scope (the whole platform; one tenant; or a list of one
//! tenant's apps). A token can expire and be revoked; its row stays (listed,
//! never with the secret) for the audit trail. The token from
//! `EDDY_ADMIN_TOKEN` is a platform admin marked `configured`: starting with
//! a different one revokes it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::record;
use crate::db::audited;
use crate::secret::{Secret, same_hash};
use crate::tenants::lock_tenant;
use crate::{Store, StoreError, hash_secret, now_ms};

/// What a token may do; what each role allows is the server's permission
/// table. Ordered from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Everything: every tenant, nodes, platform limits.
    PlatformAdmin,
    /// Its tenant: apps, limits within the quota, secrets, tokens.
    TenantOwner,
    /// Upload, activate and roll back on the apps in its scope.
    Deployer,
    /// Read-only: apps, stats, logs, sockets, deployments, key-value data.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::PlatformAdmin,
        Role::TenantOwner,
        Role::Deployer,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform-admin",
            Role::TenantOwner => "tenant-owner",
            Role::Deployer => "deployer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "unknown role {s:?}: use platform-admin, tenant-owner, deployer or viewer"
                ))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Who or what it is for.
    pub label: String,
    pub role: Role,
    /// Its tenant's slug; `None` only for a platform admin.
    pub tenant: Option<String>,
    /// Limited to these apps of the tenant; `None`: every app of it.
    pub apps: Option<Vec<String>>,
    /// When it stops working, if it expires.
    pub expires_at: Option<i64>,
}

impl NewToken {
    /// A platform admin's token.
    pub fn platform(label: &str, expires_at: Option<i64>) -> Self {
        Self {
            label: label.to_owned(),
            role: Role::PlatformAdmin,
            tenant: None,
            apps: None,
            expires_at,
        }
    }

    fn validate(&self) -> Result<(), StoreError> {
        let label = self.label.trim();
        if label.is_empty() || label.len() > 100 {
            return Err(StoreError::Invalid(
                "a token label is 1 to 100 characters".into(),
            ));
        }
        if self.expires_at.is_some_and(|e| e <= now_ms()) {
            return Err(StoreError::Invalid(
                "a token's expiry must be in the future".into(),
            ));
        }
        match (self.role, &self.tenant, &self.apps) {
            (Role::PlatformAdmin, None, None) => Ok(()),
            (Role::PlatformAdmin, _, _) => Err(StoreError::Invalid(
                "a platform-admin token has no tenant or app scope".into(),
            )),
            (_, None, _) => Err(StoreError::Invalid(format!(
                "a {} token needs a tenant",
                self.role
            ))),
            (Role::TenantOwner, Some(_), Some(_)) => Err(StoreError::Invalid(
                "a tenant-owner token covers its whole tenant: give no apps".into(),
            )),
            (_, Some(_), Some(apps)) if apps.is_empty() || apps.len() > 100 => Err(
                StoreError::Invalid("an app-scoped token names 1 to 100 apps".into()),
            ),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminToken {
    pub id: i64,
    pub label: String,
    pub role: Role,
    /// Its tenant; null for a platform admin.
    pub tenant: Option<String>,
    #[serde(skip)]
    pub tenant_id: Option<i64>,
    /// The apps it is limited to; null: every app of its tenant (or, for a
    /// platform admin, every app).
    pub apps: Option<Vec<String>>,
    pub created_at: i64,
    /// When it was last used, to the minute (recorded at most once a minute).
    pub last_used_at: Option<i64>,
    /// When it stops working, if it expires.
    pub expires_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// It came from `EDDY_ADMIN_TOKEN` (a start with another one revokes it).
    pub configured: bool,
}

impl AdminToken {
    /// Accepted now: neither revoked nor expired.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

const COLUMNS: &str = "t.id, t.label, t.created_at, t.last_used_at, t.expires_at, t.revoked_at, \
     t.configured, t.token_hash, t.role, t.tenant_id, t.app_scoped, n.slug AS tenant";

const TABLES: &str = "admin_tokens t LEFT JOIN tenants n ON n.id = t.tenant_id";

/// A token's row; `apps` is filled in by `with_apps`.
fn token_of(row: &AnyRow) -> Result<AdminToken, StoreError> {
    let app_scoped = row.try_get::<i64, _>("app_scoped")? != 0;
    Ok(AdminToken {
        id: row.try_get("id")?,
        label: row.try_get("label")?,
        role: Role::parse(&row.try_get::<String, _>("role")?)?,
        tenant: row.try_get("tenant")?,
        tenant_id: row.try_get("tenant_id")?,
        apps: app_scoped.then(Vec::new),
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        configured: row.try_get::<i64, _>("configured")? != 0,
    })
}

/// The most tokens a tenant may have at once (neither revoked nor expired):
/// its owners mint them, so without a bound one tenant could grow the table
/// and every listing without end.
pub const MAX_ACTIVE_TOKENS_PER_TENANT: i64 = 500;

/// The most token rows a tenant keeps, revoked and expired ones included:
/// past it, creating a token first drops the tenant's inactive ones (their
/// creation and revocation stay in the audit log).
const MAX_TOKEN_ROWS_PER_TENANT: i64 = 2000;

/// How the hash of a token that is not a platform admin's is stored. A node
/// of the release before roles looks tokens up by the bare hash and would
/// take any match for a platform admin: during a rolling upgrade, a scoped
/// token must find no match there (a 401) rather than every right.
const SCOPED_HASH_PREFIX: &str = "scoped:";

fn stored_hash(role: Role, hash: &str) -> String {
    match role {
        Role::PlatformAdmin => hash.to_owned(),
        _ => format!("{SCOPED_HASH_PREFIX}{hash}"),
    }
}

/// How often "last used" is written: auth stays a read on most calls.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// Fills in the app list of an app-scoped token (apps deleted since are gone).
async fn with_apps(
    conn: &mut sqlx::AnyConnection,
    mut token: AdminToken,
) -> Result<AdminToken, StoreError> {
    if token.apps.is_some() {
        let slugs: Vec<String> = sqlx::query_scalar(
            "SELECT a.slug FROM admin_token_apps s JOIN apps a ON a.id = s.app_id \
             WHERE s.token_id = $1 ORDER BY a.slug",
        )
        .bind(token.id)
        .fetch_all(conn)
        .await?;
        token.apps = Some(slugs);
    }
    Ok(token)
}

impl Store {
    /// Platform-admin tokens that are accepted now (neither revoked nor expired).
    pub async fn admin_token_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM admin_tokens \
             WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
             AND role = 'platform-admin'",
        )
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Every token, oldest first, revoked and expired ones included;
    /// `tenant`: only that tenant's.
    pub async fn admin_tokens(&self, tenant: Option<i64>) -> Result<Vec<AdminToken>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {TABLES} WHERE ($1 IS NULL OR t.tenant_id = $1) ORDER BY t.id"
        );
        let rows = sqlx::query(audited(sql))
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        let mut tokens = Vec::with_capacity(rows.len());
        for row in &rows {
            tokens.push(with_apps(&mut conn, token_of(row)?).await?);
        }
        Ok(tokens)
    }

    /// The tenant of token `id` (`None` for a platform admin's): what the
    /// authorization check needs, and nothing more.
    pub async fn token_tenant(&self, id: i64) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT tenant_id FROM admin_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("admin token {id}")))
    }

    /// One token, by id.
    pub async fn admin_token(&self, id: i64) -> Result<AdminToken, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {TABLES} WHERE t.id = $1");
        let row = sqlx::query(audited(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("admin token {id}")))?;
        self.with_apps(token_of(&row)?).await
    }

    /// `with_apps` outside a transaction. Every admin call and every open
    /// stream's recheck comes through here: only an app-scoped token needs
    /// the second read (and a connection for it).
    async fn with_apps(&self, token: AdminToken) -> Result<AdminToken, StoreError> {
        if token.apps.is_none() {
            return Ok(token);
        }
        let mut conn = self.pool.acquire().await?;
        with_apps(&mut conn, token).await
    }

    /// Creates a platform-admin token, expiring at `expires_at` if given.
    pub async fn create_admin_token(
        &self,
        label: &str,
        expires_at: Option<i64>,
        actor: &str,
    ) -> Result<(AdminToken, Secret), StoreError> {
        self.create_token(&NewToken::platform(label, expires_at), actor)
            .await
    }

    /// Creates a token; its clear text exists only in the return value.
    /// Its tenant must exist and its apps must be that tenant's.
    pub async fn create_token(
        &self,
        new: &NewToken,
        actor: &str,
    ) -> Result<(AdminToken, Secret), StoreError> {
        new.validate()?;
        let secret = Secret::generate("et_");
        let mut tx = self.begin().await?;
        let tenant_id = match &new.tenant {
            None => None,
            // Locked: two creations at once count one after the other.
            Some(slug) => Some(
                lock_tenant(&mut tx, slug)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound(_) => {
                            StoreError::Invalid(format!("no tenant {slug:?}"))
                        }
                        other => other,
                    })?
                    .id,
            ),
        };
        if let Some(tenant_id) = tenant_id {
            let rows: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM admin_tokens WHERE tenant_id = $1")
                    .bind(tenant_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if rows >= MAX_TOKEN_ROWS_PER_TENANT {
                sqlx::query(
                    "DELETE FROM admin_tokens WHERE tenant_id = $1 \
                     AND (revoked_at IS NOT NULL OR expires_at <= $2)",
                )
                .bind(tenant_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM admin_tokens WHERE tenant_id = $1 AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(tenant_id)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?;
            if active >= MAX_ACTIVE_TOKENS_PER_TENANT {
                return Err(StoreError::Quota {
                    ceiling: "platform ceiling tokens_per_tenant".into(),
                    message: format!(
                        "the tenant has {active} tokens, the most it may have at once: \
                         revoke some first"
                    ),
                });
            }
        }
        let token = Self::insert_admin_token(&mut tx, &secret, new, tenant_id, false).await?;
        for slug in new.apps.iter().flatten() {
            let app_id = sqlx::query_scalar::<_, i64>(
                "SELECT id FROM apps WHERE slug = $1 AND tenant_id = $2",
            )
            .bind(slug)
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "no app {slug:?} in tenant {:?}",
                    new.tenant.as_deref().unwrap_or_default()
                ))
            })?;
            sqlx::query(
                "INSERT INTO admin_token_apps (token_id, app_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(token.id)
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
        }
        let token = with_apps(&mut tx, token).await?;
        record(
            &mut tx,
            actor,
            "token.create",
            None,
            tenant_id,
            serde_json::json!({ "id": token.id, "label": token.label, "role": token.role,
                "tenant": token.tenant, "apps": token.apps, "expires_at": token.expires_at }),
        )
        .await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    async fn insert_admin_token(
        conn: &mut sqlx::AnyConnection,
        secret: &Secret,
        new: &NewToken,
        tenant_id: Option<i64>,
        configured: bool,
    ) -> Result<AdminToken, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO admin_tokens (label, token_hash, created_at, expires_at, configured, \
             role, tenant_id, app_scoped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.label.trim())
        .bind(stored_hash(new.role, &secret.hash()))
        .bind(now_ms())
        .bind(new.expires_at)
        .bind(i64::from(configured))
        .bind(new.role.as_str())
        .bind(tenant_id)
        .bind(i64::from(new.apps.is_some()))
        .fetch_one(&mut *conn)
        .await?;
        let sql = format!("SELECT {COLUMNS} FROM {TABLES} WHERE t.id = $1");
        let row = sqlx::query(audited(sql)).bind(id).fetch_one(conn).await?;
        token_of(&row)
    }

    /// Makes `token` (the operator's `EDDY_ADMIN_TOKEN`) the configured
    /// token, and revokes a configured token from an earlier start that
    /// differs from it. Returns how many it revoked. A configured token
    /// that was revoked stays revoked: configure a new one.
    pub async fn ensure_configured_token(&self, token: &str) -> Result<u64, StoreError> {
        if token.len() < 16 {
            return Err(StoreError::Invalid(
                "an admin token must be at least 16 characters".into(),
            ));
        }
        match self.configure_token(token).await {
            // Another node of the cluster, starting with the same token at the
            // same time, inserted it first: now it is found.
            Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => {
                self.configure_token(token).await
            }
            other => other,
        }
    }

    async fn configure_token(&self, token: &str) -> Result<u64, StoreError> {
        let hash = hash_secret(token);
        let mut tx = self.begin().await?;
        let sql =
            format!("SELECT {COLUMNS} FROM {TABLES} WHERE t.token_hash = $1 OR t.token_hash = $2");
        let existing = sqlx::query(audited(sql))
            .bind(&hash)
            .bind(stored_hash(Role::Viewer, &hash))
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(row) => {
                let found = token_of(&row)?;
                if found.role != Role::PlatformAdmin {
                    return Err(StoreError::Invalid(
                        "EDDY_ADMIN_TOKEN is another principal's token; configure a new one".into(),
                    ));
                }
                if found.revoked_at.is_some() {
                    return Err(StoreError::Invalid(
                        "this token was revoked; configure a new one".into(),
                    ));
                }
                sqlx::query("UPDATE admin_tokens SET configured = 1 WHERE id = $1")
                    .bind(found.id)
                    .execute(&mut *tx)
                    .await?;
                found.id
            }
            None => {
                let secret = Secret::from_string(token.to_owned());
                let new = NewToken::platform("EDDY_ADMIN_TOKEN", None);
                let created = Self::insert_admin_token(&mut tx, &secret, &new, None, true).await?;
                record(
                    &mut tx,
                    "system",
                    "token.create",
                    None,
                    None,
                    serde_json::json!({ "id": created.id, "label": created.label }),
                )
                .await?;
                created.id
            }
        };
        let replaced: Vec<i64> = sqlx::query_scalar(
            "UPDATE admin_tokens SET revoked_at = $2 \
             WHERE configured = 1 AND id <> $1 AND revoked_at IS NULL RETURNING id",
        )
        .bind(id)
        .bind(now_ms())
        .fetch_all(&mut *tx)
        .await?;
        for old in &replaced {
            record(
                &mut tx,
                "system",
                "token.revoke",
                None,
                None,
                serde_json::json!({ "id": old, "reason": "EDDY_ADMIN_TOKEN changed" }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(replaced.len() as u64)
    }

    /// Revokes token `id` (at once: the next call with it gets 401).
    /// Revoking a revoked token changes nothing.
    pub async fn revoke_admin_token(&self, id: i64, actor: &str) -> Result<AdminToken, StoreError> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("admin token {id}")));
        }
        let sql = format!("SELECT {COLUMNS} FROM {TABLES} WHERE t.id = $1");
        let row = sqlx::query(audited(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let token = with_apps(&mut tx, token_of(&row)?).await?;
        record(
            &mut tx,
            actor,
            "token.revoke",
            None,
            token.tenant_id,
            serde_json::json!({ "id": id, "label": token.label }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The token's record when `token` is accepted now.
    pub async fn check_admin_token(&self, token: &str) -> Result<Option<AdminToken>, StoreError> {
        let hash = hash_secret(token);
        let sql =
            format!("SELECT {COLUMNS} FROM {TABLES} WHERE t.token_hash = $1 OR t.token_hash = $2");
        let row = sqlx::query(audited(sql))
            .bind(&hash)
            .bind(stored_hash(Role::Viewer, &hash))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        // The lookup is by hash (an index); comparing the stored hash again
        // without an early exit keeps the decision itself constant-time.
        let stored: String = row.try_get("token_hash")?;
        let mut record = token_of(&row)?;
        let now = now_ms();
        if !same_hash(&stored, &stored_hash(record.role, &hash)) || !record.is_active(now) {
            return Ok(None);
        }
        if record
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_EVERY_MS)
        {
            sqlx::query("UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(record.id)
                .bind(now)
                .execute(&self.pool)
                .await?;
            record.last_used_at = Some(now);
        }
        Ok(Some(self.with_apps(record).await?))
    }
}
