//! Each app's key-value data, with expiry and a quota on bytes (keys plus
//! values). Expired entries read as missing and are swept periodically.

use serde::Serialize;
use sqlx::Row;
use thiserror::Error;

use crate::db::audited;
use crate::{Store, StoreError, now_ms};

#[derive(Debug, Error)]
pub enum KvError {
    #[error("key-value quota exceeded")]
    QuotaExceeded,
    #[error("the value is not a decimal integer")]
    NotANumber,
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

    /// Bytes and keys in use, counting only live entries, leaving `except` out.
    async fn kv_usage_in(
        conn: &mut sqlx::AnyConnection,
        app_id: i64,
        except: &str,
    ) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes, COUNT(*) AS keys FROM kv \
             WHERE app_id = $1 AND key <> $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(app_id)
        .bind(except)
        .bind(now_ms())
        .fetch_one(conn)
        .await?;
        Ok((row.try_get("bytes")?, row.try_get("keys")?))
    }

    async fn kv_put(
        conn: &mut sqlx::AnyConnection,
        app_id: i64,
        key: &str,
        value: &[u8],
        expires_at: Option<i64>,
        quota: u64,
    ) -> Result<(), KvError> {
        let size = (key.len() + value.len()) as i64;
        let (used, _) = Self::kv_usage_in(conn, app_id, key).await?;
        if (used + size) as u64 > quota {
            return Err(KvError::QuotaExceeded);
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
        .execute(conn)
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
        Self::kv_put(&mut tx, app_id, key, value, expiry(ttl_ms), quota).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn kv_delete(&self, app_id: i64, key: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "DELETE FROM kv WHERE app_id = $1 AND key = $2 RETURNING (expires_at IS NULL OR expires_at > $3) AS live",
        )
        .bind(app_id)
        .bind(key)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(false),
            Some(r) => Ok(r
                .try_get::<bool, _>("live")
                .or_else(|_| r.try_get::<i64, _>("live").map(|v| v != 0))?),
        }
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
        let now = now_ms();
        let mut tx = self.begin().await?;
        // Make sure there is a row to lock: two first increments of a key
        // must not both start from "missing".
        sqlx::query(
            "INSERT INTO kv (app_id, key, value, size, expires_at) VALUES ($1, $2, $3, $4, NULL) \
             ON CONFLICT (app_id, key) DO NOTHING",
        )
        .bind(app_id)
        .bind(key)
        .bind(&b"0"[..])
        .bind((key.len() + 1) as i64)
        .execute(&mut *tx)
        .await?;
        let lock = format!(
            "SELECT value, expires_at FROM kv WHERE app_id = $1 AND key = $2{}",
            self.for_update()
        );
        let row = sqlx::query(audited(lock))
            .bind(app_id)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        let expires_at: Option<i64> = row.try_get("expires_at")?;
        let (current, expires_at) = if expires_at.is_some_and(|e| e <= now) {
            (0, None)
        } else {
            let value: Vec<u8> = row.try_get("value")?;
            let n = std::str::from_utf8(&value)
                .ok()
                .and_then(|t| t.trim().parse::<i64>().ok())
                .ok_or(KvError::NotANumber)?;
            (n, expires_at)
        };
        let next = current.checked_add(delta).ok_or(KvError::NotANumber)?;
        Self::kv_put(
            &mut tx,
            app_id,
            key,
            next.to_string().as_bytes(),
            expires_at,
            quota,
        )
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Live keys in order, optionally under `prefix`, after `after`.
    pub async fn kv_list(
        &self,
        app_id: i64,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<KvEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, size, expires_at, value FROM kv WHERE app_id = $1 AND substr(key, 1, CAST($2 AS INTEGER)) = $3 \
             AND ($4 IS NULL OR key > $4) AND (expires_at IS NULL OR expires_at > $5) ORDER BY key LIMIT $6",
        )
        .bind(app_id)
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .bind(after)
        .bind(now_ms())
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?;
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

    /// Live bytes and keys of an app.
    pub async fn kv_usage(&self, app_id: i64) -> Result<(i64, i64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        Self::kv_usage_in(&mut conn, app_id, "").await
    }

    /// Deletes expired entries; returns how many.
    pub async fn kv_sweep(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1")
                .bind(now_ms())
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
