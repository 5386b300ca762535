//! Apps, their limits, and their keys.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::record;
use crate::db::audited;
use crate::secret::{Secret, same_hash};
use crate::tenants::{check_fits, lock_tenant};
use crate::{Store, StoreError, now_ms};

/// Per-app limits: data in the registry, enforced on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppLimits {
    /// Sockets connected at once.
    pub max_connections: u64,
    /// Events a socket may send per second (bursts up to twice that).
    pub max_events_per_second: u64,
    /// Bytes in one message, either way.
    pub max_payload: u64,
    /// Longest a handler call may run.
    pub handler_deadline_ms: u64,
    /// Most memory a handler instance may use.
    pub handler_memory_mb: u64,
    /// Bytes of key-value data (keys plus values).
    pub kv_quota_bytes: u64,
    /// Rooms one socket may be in at once (its own id not counted).
    #[serde(default = "defaults::max_rooms_per_socket")]
    pub max_rooms_per_socket: u64,
    /// Bytes in a room name.
    #[serde(default = "defaults::max_room_name_bytes")]
    pub max_room_name_bytes: u64,
    /// Namespaces the app may have at once on a node (empty ones are dropped).
    #[serde(default = "defaults::max_namespaces")]
    pub max_namespaces: u64,
    /// Timers the app may have pending at once (contract 0.2).
    #[serde(default = "defaults::max_timers")]
    pub max_timers: u64,
    /// Browser origins allowed to connect (`https://example.com`). Empty:
    /// any origin may connect, and cross-origin polling is answered with
    /// `Access-Control-Allow-Origin: *` and no credentials; an origin is
    /// reflected with credentials only when it is on the list.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Defaults of the limits added after the first release (older registry
/// rows and API clients do not name them).
mod defaults {
    pub(super) fn max_rooms_per_socket() -> u64 {
        128
    }
    pub(super) fn max_room_name_bytes() -> u64 {
        256
    }
    pub(super) fn max_namespaces() -> u64 {
        64
    }
    pub(super) fn max_timers() -> u64 {
        100
    }
}

/// Most entries in `allowed_origins`, and the longest entry.
pub(crate) const MAX_ORIGINS: usize = 32;
const MAX_ORIGIN_LEN: usize = 256;

impl Default for AppLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_events_per_second: 100,
            max_payload: 1_000_000,
            handler_deadline_ms: 100,
            handler_memory_mb: 64,
            kv_quota_bytes: 10 << 20,
            max_rooms_per_socket: defaults::max_rooms_per_socket(),
            max_room_name_bytes: defaults::max_room_name_bytes(),
            max_namespaces: defaults::max_namespaces(),
            max_timers: defaults::max_timers(),
            allowed_origins: Vec::new(),
        }
    }
}

impl AppLimits {
    /// The allowed range of each limit, for validation and documentation.
    pub const RANGES: [(&'static str, u64, u64); 10] = [
        ("max_connections", 1, 1_000_000),
        ("max_events_per_second", 1, 100_000),
        ("max_payload", 64, 100_000_000),
        ("handler_deadline_ms", 1, 10_000),
        ("handler_memory_mb", 1, 4096),
        ("kv_quota_bytes", 0, 10_000_000_000),
        ("max_rooms_per_socket", 1, 10_000),
        // Room names travel between nodes, whose wire format caps names at 4 KiB.
        ("max_room_name_bytes", 1, 4096),
        ("max_namespaces", 1, 10_000),
        ("max_timers", 0, 10_000),
    ];

    pub fn validate(&self) -> Result<(), StoreError> {
        let values = [
            self.max_connections,
            self.max_events_per_second,
            self.max_payload,
            self.handler_deadline_ms,
            self.handler_memory_mb,
            self.kv_quota_bytes,
            self.max_rooms_per_socket,
            self.max_room_name_bytes,
            self.max_namespaces,
            self.max_timers,
        ];
        for ((name, min, max), value) in Self::RANGES.iter().zip(values) {
            if value > *max {
                return Err(StoreError::Quota {
                    ceiling: format!("platform ceiling {name}"),
                    message: format!("{name} {value} is above the platform ceiling of {max}"),
                });
            }
            if value < *min {
                return Err(StoreError::Invalid(format!(
                    "{name} must be between {min} and {max} (got {value})"
                )));
            }
        }
        if self.allowed_origins.len() > MAX_ORIGINS {
            return Err(StoreError::Invalid(format!(
                "allowed_origins has at most {MAX_ORIGINS} entries"
            )));
        }
        for origin in &self.allowed_origins {
            validate_origin(origin).map_err(StoreError::Invalid)?;
        }
        Ok(())
    }
}

/// An origin as browsers send it: `http` or `https`, a host, an optional
/// port, nothing after (no path, no trailing slash).
fn validate_origin(origin: &str) -> Result<(), String> {
    let invalid = || {
        format!(
            "invalid origin {origin:?} in allowed_origins: write scheme://host[:port], \
             e.g. https://example.com, with no path"
        )
    };
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let ok = origin.len() <= MAX_ORIGIN_LEN
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if ok { Ok(()) } else { Err(invalid()) }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct App {
    pub id: i64,
    pub slug: String,
    /// The tenant that owns it.
    pub tenant: String,
    #[serde(skip)]
    pub tenant_id: i64,
    pub name: String,
    pub created_at: i64,
    pub limits: AppLimits,
    /// Identifies the app's key; public.
    pub public_key: String,
    pub active_version: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub slug: String,
    /// The owning tenant's slug (`DEFAULT_TENANT` unless told otherwise).
    pub tenant: String,
    pub name: String,
    pub limits: AppLimits,
}

/// An app's key: the public part, and the secret shown this once.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub public_key: String,
    pub secret: Secret,
}

/// A slug is 1–63 characters of `a-z`, `0-9` and `-`, not starting or
/// ending with `-`: it appears in URLs, metric labels and broker subjects.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid app slug {slug:?}: use 1-63 lowercase letters, digits and '-', not starting or ending with '-'"
        ))
    }
}

const APP_COLUMNS: &str = "a.id, a.slug, a.name, a.created_at, a.max_connections, a.max_events_per_second, \
     a.max_payload, a.handler_deadline_ms, a.handler_memory_mb, a.kv_quota_bytes, a.max_rooms_per_socket, \
     a.max_room_name_bytes, a.max_namespaces, a.max_timers, a.allowed_origins, a.active_version, k.public_key, \
     a.tenant_id, t.slug AS tenant";

/// The tables `APP_COLUMNS` reads.
const APP_TABLES: &str =
    "apps a JOIN app_keys k ON k.app_id = a.id JOIN tenants t ON t.id = a.tenant_id";

/// `allowed_origins` is stored as one text column, one origin per line.
fn origins_column(origins: &[String]) -> String {
    origins.join("\n")
}

fn app(row: &AnyRow) -> Result<App, StoreError> {
    let n = |c: &str| row.try_get::<i64, _>(c).map(|v| v.max(0) as u64);
    Ok(App {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        tenant: row.try_get("tenant")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        limits: AppLimits {
            max_connections: n("max_connections")?,
            max_events_per_second: n("max_events_per_second")?,
            max_payload: n("max_payload")?,
            handler_deadline_ms: n("handler_deadline_ms")?,
            handler_memory_mb: n("handler_memory_mb")?,
            kv_quota_bytes: n("kv_quota_bytes")?,
            max_rooms_per_socket: n("max_rooms_per_socket")?,
            max_room_name_bytes: n("max_room_name_bytes")?,
            max_namespaces: n("max_namespaces")?,
            max_timers: n("max_timers")?,
            allowed_origins: row
                .try_get::<String, _>("allowed_origins")?
                .lines()
                .map(str::to_owned)
                .collect(),
        },
        public_key: row.try_get("public_key")?,
        active_version: row.try_get("active_version")?,
    })
}

fn public_key() -> String {
    let bytes: [u8; 9] = rand::random();
    format!(
        "pk_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The app's row, locked for the rest of the transaction (a no-op update:
/// a row lock on PostgreSQL, the write lock on SQLite), so two changes to
/// what the app owns under a bound (its timers, its config) check it one
/// after the other; returns its slug.
pub(crate) async fn lock_app(
    conn: &mut sqlx::AnyConnection,
    app_id: i64,
) -> Result<String, StoreError> {
    sqlx::query_scalar("UPDATE apps SET name = name WHERE id = $1 RETURNING slug")
        .bind(app_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("app {app_id}")))
}

impl Store {
    pub async fn create_app(
        &self,
        new: &NewApp,
        actor: &str,
    ) -> Result<(App, Credentials), StoreError> {
        validate_slug(&new.slug).map_err(StoreError::Invalid)?;
        if new.name.trim().is_empty() || new.name.len() > 200 {
            return Err(StoreError::Invalid(
                "an app's name is 1 to 200 characters".into(),
            ));
        }
        new.limits.validate()?;
        let credentials = Credentials {
            public_key: public_key(),
            secret: Secret::generate("sk_"),
        };
        let now = now_ms();
        let l = &new.limits;
        let mut tx = self.begin().await?;
        let tenant = lock_tenant(&mut tx, &new.tenant).await?;
        check_fits(&mut tx, &tenant, None, l).await?;
        let inserted = sqlx::query(
            "INSERT INTO apps (slug, name, created_at, max_connections, max_events_per_second, max_payload, \
             handler_deadline_ms, handler_memory_mb, kv_quota_bytes, max_rooms_per_socket, max_room_name_bytes, \
             max_namespaces, allowed_origins, tenant_id, max_timers) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(&new.slug)
        .bind(new.name.trim())
        .bind(now)
        .bind(l.max_connections as i64)
        .bind(l.max_events_per_second as i64)
        .bind(l.max_payload as i64)
        .bind(l.handler_deadline_ms as i64)
        .bind(l.handler_memory_mb as i64)
        .bind(l.kv_quota_bytes as i64)
        .bind(l.max_rooms_per_socket as i64)
        .bind(l.max_room_name_bytes as i64)
        .bind(l.max_namespaces as i64)
        .bind(origins_column(&l.allowed_origins))
        .bind(tenant.id)
        .bind(l.max_timers as i64)
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "an app named {:?} already exists",
                    new.slug
                )));
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query("INSERT INTO app_keys (app_id, public_key, secret_hash, rotated_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(&credentials.public_key)
            .bind(credentials.secret.hash())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let detail = serde_json::json!({ "name": new.name.trim(), "tenant": tenant.slug,
            "limits": new.limits });
        record(
            &mut tx,
            actor,
            "app.create",
            Some(&new.slug),
            Some(tenant.id),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok((self.app(&new.slug).await?, credentials))
    }

    pub async fn apps(&self) -> Result<Vec<App>, StoreError> {
        let sql = format!("SELECT {APP_COLUMNS} FROM {APP_TABLES} ORDER BY a.slug");
        let rows = sqlx::query(audited(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(app).collect()
    }

    pub async fn app(&self, slug: &str) -> Result<App, StoreError> {
        let sql = format!("SELECT {APP_COLUMNS} FROM {APP_TABLES} WHERE a.slug = $1");
        let row = sqlx::query(audited(sql))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(app)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("app {slug:?}")))
    }

    /// Renames an app and/or replaces its limits.
    pub async fn update_app(
        &self,
        slug: &str,
        name: Option<&str>,
        limits: Option<&AppLimits>,
        actor: &str,
    ) -> Result<App, StoreError> {
        if let Some(name) = name
            && (name.trim().is_empty() || name.len() > 200)
        {
            return Err(StoreError::Invalid(
                "an app's name is 1 to 200 characters".into(),
            ));
        }
        if let Some(limits) = limits {
            limits.validate()?;
        }
        let before = self.app(slug).await?;
        let name = name.map(str::trim).unwrap_or(&before.name).to_owned();
        let l = limits.cloned().unwrap_or_else(|| before.limits.clone());
        let mut tx = self.begin().await?;
        let tenant = lock_tenant(&mut tx, &before.tenant).await?;
        check_fits(&mut tx, &tenant, Some((before.id, &before.limits)), &l).await?;
        let changed = sqlx::query(
            "UPDATE apps SET name = $2, max_connections = $3, max_events_per_second = $4, max_payload = $5, \
             handler_deadline_ms = $6, handler_memory_mb = $7, kv_quota_bytes = $8, max_rooms_per_socket = $9, \
             max_room_name_bytes = $10, max_namespaces = $11, allowed_origins = $12, max_timers = $13 \
             WHERE slug = $1",
        )
        .bind(slug)
        .bind(&name)
        .bind(l.max_connections as i64)
        .bind(l.max_events_per_second as i64)
        .bind(l.max_payload as i64)
        .bind(l.handler_deadline_ms as i64)
        .bind(l.handler_memory_mb as i64)
        .bind(l.kv_quota_bytes as i64)
        .bind(l.max_rooms_per_socket as i64)
        .bind(l.max_room_name_bytes as i64)
        .bind(l.max_namespaces as i64)
        .bind(origins_column(&l.allowed_origins))
        .bind(l.max_timers as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("app {slug:?}")));
        }
        let detail =
            serde_json::json!({ "name": name, "limits": l, "previous_limits": before.limits });
        record(&mut tx, actor, "app.update", Some(slug), None, detail).await?;
        tx.commit().await?;
        self.app(slug).await
    }

    /// Deletes an app with everything it owns: keys, deployments, key-value
    /// data, and artifacts no other app uses.
    pub async fn delete_app(&self, slug: &str, actor: &str) -> Result<(), StoreError> {
        let tenant_id = self.app(slug).await?.tenant_id;
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM apps WHERE slug = $1")
            .bind(slug)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound(format!("app {slug:?}")));
        }
        // The cascade is explicit too, for a database opened without foreign keys.
        sqlx::query("DELETE FROM deployments WHERE app_id NOT IN (SELECT id FROM apps)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM kv WHERE app_id NOT IN (SELECT id FROM apps)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM app_keys WHERE app_id NOT IN (SELECT id FROM apps)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM timers WHERE app_id NOT IN (SELECT id FROM apps)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM app_config WHERE app_id NOT IN (SELECT id FROM apps)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM admin_token_apps WHERE app_id NOT IN (SELECT id FROM apps)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM artifacts WHERE hash NOT IN (SELECT hash FROM deployments)")
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "app.delete",
            Some(slug),
            Some(tenant_id),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the app's secret; the old one stops working at once.
    pub async fn rotate_secret(&self, slug: &str, actor: &str) -> Result<Credentials, StoreError> {
        let app = self.app(slug).await?;
        let secret = Secret::generate("sk_");
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE app_keys SET secret_hash = $2, rotated_at = $3 WHERE app_id = $1")
            .bind(app.id)
            .bind(secret.hash())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "key.rotate",
            Some(slug),
            None,
            serde_json::json!({ "public_key": app.public_key }),
        )
        .await?;
        tx.commit().await?;
        Ok(Credentials {
            public_key: app.public_key,
            secret,
        })
    }

    /// True when `secret` is the app's current secret.
    pub async fn check_app_secret(&self, slug: &str, secret: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT k.secret_hash FROM app_keys k JOIN apps a ON a.id = k.app_id WHERE a.slug = $1",
        )
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let stored: String = row.try_get("secret_hash")?;
        Ok(same_hash(&stored, &crate::hash_secret(secret)))
    }
}

impl Store {
    /// True once any app was ever created here (the demo is seeded only on
    /// a registry that never had one, not every time it is empty).
    pub async fn ever_had_apps(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT id FROM audit_log WHERE action = 'app.create' LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}
