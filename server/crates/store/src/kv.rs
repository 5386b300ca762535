//! Each app's key-value data, with expiry and a quota on bytes (keys plus
//! values). Expired entries read as missing and are swept periodically.
//!
//! The quota is checked against a running total per app (`usage.rs`), not
//! a sum over the app's entries: every write first takes the app's usage
//! row, so concurrent writers of one app take turns (PostgreSQL row lock;
//! SQLite has one writer at a time anyway) and the total stays exact.

use serde::Serialize;
use sqlx::Row;
use thiserror::Error;

use crate::{Store, StoreError, now_ms};

mod batch;
mod usage;

pub use batch::{KvOp, KvOpResult, MAX_BATCH_OPS};

#[derive(Debug, Error)]
pub enum KvError {
    #[error("key-value quota exceeded")]
    QuotaExceeded,
    #[error("the value is not a decimal integer")]
    NotANumber,
    /// A batch of more than [`MAX_BATCH_OPS`] operations; nothing was applied.
    #[error("a key-value batch holds at most {max} operations, this one {ops}")]
    TooManyOps { ops: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for KvError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A key as the admin browser shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KvEntry {
    pub key: String,
    pub size: i64,
    pub expires_at: Option<i64>,
    /// The value as text when it is UTF-8 and short, for display.
    pub preview: Option<String>,
}

/// The most keys one page of [`Store::kv_list`] or [`Store::kv_page`]
/// returns, whatever the caller asks for.
pub const MAX_PAGE: i64 = 1000;

fn expiry(ttl_ms: Option<u64>) -> Option<i64> {
    ttl_ms.map(|t| now_ms().saturating_add(i64::try_from(t).unwrap_or(i64::MAX)))
}

impl Store {
    pub async fn kv_get(&self, app_id: i64, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT value FROM kv WHERE app_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(app_id)
        .bind(key)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get("value"))
            .transpose()
            .map_err(Into::into)
    }

    /// Writes `key` for an app whose usage row this transaction holds
    /// ([`usage::lock`]) with `used` bytes in it.
    async fn kv_put(
        conn: &mut sqlx::AnyConnection,
        app_id: i64,
        used: i64,
        (key, value): (&str, &[u8]),
        expires_at: Option<i64>,
        quota: u64,
    ) -> Result<(), KvError> {
        let quota = i64::try_from(quota).unwrap_or(i64::MAX);
        let size = (key.len() + value.len()) as i64;
        let mut old = usage::stored_size(conn, app_id, key).await?;
        let over = |used: i64, old: Option<i64>| {
            let old = old.unwrap_or(0);
            // A write that does not grow the data is never refused, even
            // over a quota that was lowered since.
            size > old && used - old + size > quota
        };
        if over(used, old) {
            // Expired entries count until they are swept: drop this app's
            // now and look again, so they never cost a refusal.
            let used = used - usage::purge_expired(conn, app_id, now_ms()).await?.0;
            old = usage::stored_size(conn, app_id, key).await?;
            if over(used, old) {
                return Err(KvError::QuotaExceeded);
            }
        }
        sqlx::query(
            "INSERT INTO kv (app_id, key, value, size, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value, size = excluded.size, \
             expires_at = excluded.expires_at",
        )
        .bind(app_id)
        .bind(key)
        .bind(value)
        .bind(size)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
        usage::add(
            conn,
            app_id,
            size - old.unwrap_or(0),
            i64::from(old.is_none()),
        )
        .await?;
        Ok(())
    }

    pub async fn kv_set(
        &self,
        app_id: i64,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        quota: u64,
    ) -> Result<(), KvError> {
        let mut tx = self.begin().await?;
        let (used, _) = usage::lock(&mut tx, app_id).await?;
        Self::kv_put(&mut tx, app_id, used, (key, value), expiry(ttl_ms), quota).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn kv_delete(&self, app_id: i64, key: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        usage::lock(&mut tx, app_id).await?;
        let live = Self::kv_remove(&mut tx, app_id, key).await?;
        tx.commit().await?;
        Ok(live)
    }

    /// Deletes `key` (expired or not) for an app whose usage row this
    /// transaction holds, taking it off the total; returns whether it was
    /// live.
    async fn kv_remove(
        conn: &mut sqlx::AnyConnection,
        app_id: i64,
        key: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "DELETE FROM kv WHERE app_id = $1 AND key = $2 \
             RETURNING size, (expires_at IS NULL OR expires_at > $3) AS live",
        )
        .bind(app_id)
        .bind(key)
        .bind(now_ms())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(false) };
        usage::add(conn, app_id, -row.try_get::<i64, _>("size")?, -1).await?;
        Ok(row
            .try_get::<bool, _>("live")
            .or_else(|_| row.try_get::<i64, _>("live").map(|v| v != 0))?)
    }

    /// The live value at `key`, read in a transaction that holds the app's
    /// usage row (so no other writer of the app changes it meanwhile).
    async fn kv_live(
        conn: &mut sqlx::AnyConnection,
        app_id: i64,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Option<i64>)>, StoreError> {
        let row = sqlx::query(
            "SELECT value, expires_at FROM kv WHERE app_id = $1 AND key = $2 \
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(app_id)
        .bind(key)
        .bind(now_ms())
        .fetch_optional(conn)
        .await?;
        row.map(|r| Ok((r.try_get("value")?, r.try_get("expires_at")?)))
            .transpose()
    }

    /// Adds `delta` to the integer at `key` (missing counts as 0) atomically;
    /// the expiry, if any, is kept.
    pub async fn kv_increment(
        &self,
        app_id: i64,
        key: &str,
        delta: i64,
        quota: u64,
    ) -> Result<i64, KvError> {
        let mut tx = self.begin().await?;
        // Every writer of the app holds its usage row first: two increments
        // of a key never both start from the same value.
        let (used, _) = usage::lock(&mut tx, app_id).await?;
        let next = Self::kv_add(&mut tx, app_id, used, key, delta, quota).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// [`Store::kv_increment`] in a transaction that holds the app's usage
    /// row with `used` bytes in it.
    async fn kv_add(
        conn: &mut sqlx::AnyConnection,
        app_id: i64,
        used: i64,
        key: &str,
        delta: i64,
        quota: u64,
    ) -> Result<i64, KvError> {
        let (current, expires_at) = match Self::kv_live(conn, app_id, key).await? {
            None => (0, None),
            Some((value, expires_at)) => {
                let n = std::str::from_utf8(&value)
                    .ok()
                    .and_then(|t| t.trim().parse::<i64>().ok())
                    .ok_or(KvError::NotANumber)?;
                (n, expires_at)
            }
        };
        let next = current.checked_add(delta).ok_or(KvError::NotANumber)?;
        let text = next.to_string();
        Self::kv_put(
            conn,
            app_id,
            used,
            (key, text.as_bytes()),
            expires_at,
            quota,
        )
        .await?;
        Ok(next)
    }

    /// Live keys in order, optionally under `prefix`, after `after`, as
    /// the admin browser shows them; at most `limit` (clamped to
    /// 1..=[`MAX_PAGE`]).
    pub async fn kv_list(
        &self,
        app_id: i64,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<KvEntry>, StoreError> {
        let rows = self.kv_rows(app_id, prefix, after, limit, true).await?;
        rows.iter()
            .map(|r| {
                let value: Vec<u8> = r.try_get("value")?;
                Ok(KvEntry {
                    key: r.try_get("key")?,
                    size: r.try_get("size")?,
                    expires_at: r.try_get("expires_at")?,
                    preview: (value.len() <= 200)
                        .then(|| String::from_utf8(value).ok())
                        .flatten(),
                })
            })
            .collect()
    }

    /// The same page as [`Store::kv_list`] with whole values: what a
    /// handler's `list(prefix, start-after, limit)` reads. Keys in order,
    /// expired entries skipped, at most `limit` clamped to 1..=[`MAX_PAGE`].
    pub async fn kv_page(
        &self,
        app_id: i64,
        prefix: &str,
        start_after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.kv_page_within(app_id, (prefix, start_after), limit, u64::MAX)
            .await
    }

    /// [`Store::kv_page`], stopping before the entry whose keys and values
    /// would add up to more than `max_bytes` (always one entry, at least).
    /// Sizes are read first and only the values that fit are fetched, so
    /// a page costs the database and this process `max_bytes`, not the
    /// app's whole quota.
    pub async fn kv_page_within(
        &self,
        app_id: i64,
        (prefix, start_after): (&str, Option<&str>),
        limit: i64,
        max_bytes: u64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let sizes = self
            .kv_rows(app_id, prefix, start_after, limit, false)
            .await?;
        let mut total = 0u64;
        let mut keys = Vec::new();
        for row in &sizes {
            let size = u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0);
            total = total.saturating_add(size);
            if total > max_bytes && !keys.is_empty() {
                break;
            }
            keys.push(row.try_get::<String, _>("key")?);
        }
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Ok(Vec::new());
        };
        let bytewise = self.bytewise();
        let sql = format!(
            "SELECT key, value FROM kv WHERE app_id = $1 AND key{bytewise} >= $2 AND key{bytewise} <= $3 \
             AND (expires_at IS NULL OR expires_at > $4) ORDER BY key{bytewise} LIMIT $5"
        );
        let rows = sqlx::query(crate::db::audited(sql))
            .bind(app_id)
            .bind(first)
            .bind(last)
            .bind(now_ms())
            .bind(keys.len() as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
            .collect()
    }

    /// ` COLLATE "C"` on PostgreSQL: keys order by their bytes on both
    /// backends (SQLite compares text that way).
    fn bytewise(&self) -> &'static str {
        match self.backend() {
            crate::Backend::Postgres => " COLLATE \"C\"",
            crate::Backend::Sqlite => "",
        }
    }

    /// A page's rows: key, size, expiry, and the value when `values`.
    async fn kv_rows(
        &self,
        app_id: i64,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
        values: bool,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let bytewise = self.bytewise();
        let value = if values { ", value" } else { "" };
        // `key >= prefix` lets the database start at the prefix in its
        // index (on PostgreSQL, `kv_key_bytes`) instead of scanning.
        let sql = format!(
            "SELECT key, size, expires_at{value} FROM kv WHERE app_id = $1 AND key{bytewise} >= $3 \
             AND substr(key, 1, CAST($2 AS INTEGER)) = $3 \
             AND ($4 IS NULL OR key{bytewise} > $4) AND (expires_at IS NULL OR expires_at > $5) \
             ORDER BY key{bytewise} LIMIT $6"
        );
        Ok(sqlx::query(crate::db::audited(sql))
            .bind(app_id)
            .bind(prefix.chars().count() as i64)
            .bind(prefix)
            .bind(after)
            .bind(now_ms())
            .bind(limit.clamp(1, MAX_PAGE))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Bytes (keys plus values) and keys an app stores, from its running
    /// total: one row read. Expired entries count until they are swept.
    pub async fn kv_usage(&self, app_id: i64) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query("SELECT bytes, keys FROM kv_usage WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok((r.try_get("bytes")?, r.try_get("keys")?)),
            None => Ok((0, 0)),
        }
    }

    /// Deletes expired entries, app by app (each in a transaction that
    /// keeps its running total exact); returns how many.
    pub async fn kv_sweep(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let apps: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT app_id FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut swept = 0;
        for app_id in apps {
            let mut tx = self.begin().await?;
            usage::lock(&mut tx, app_id).await?;
            let (_, keys) = usage::purge_expired(&mut tx, app_id, now).await?;
            tx.commit().await?;
            swept += keys as u64;
        }
        Ok(swept)
    }
}
