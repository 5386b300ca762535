//! Admin bearer tokens, stored hashed. A token can expire and be revoked;
//! its row stays (listed, never with the secret) for the audit trail. The
//! token from `EDDY_ADMIN_TOKEN` is marked `configured`: starting with a
//! different one revokes it.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::record;
use crate::db::audited;
use crate::secret::{Secret, same_hash};
use crate::{Store, StoreError, hash_secret, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminToken {
    pub id: i64,
    pub label: String,
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

const COLUMNS: &str =
    "id, label, created_at, last_used_at, expires_at, revoked_at, configured, token_hash";

fn token_of(row: &AnyRow) -> Result<AdminToken, StoreError> {
    Ok(AdminToken {
        id: row.try_get("id")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        configured: row.try_get::<i64, _>("configured")? != 0,
    })
}

/// How often "last used" is written: auth stays a read on most calls.
const LAST_USED_EVERY_MS: i64 = 60_000;

impl Store {
    /// Tokens that are accepted now (neither revoked nor expired).
    pub async fn admin_token_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM admin_tokens \
             WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Every token, oldest first, revoked and expired ones included.
    pub async fn admin_tokens(&self) -> Result<Vec<AdminToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM admin_tokens ORDER BY id");
        let rows = sqlx::query(audited(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(token_of).collect()
    }

    /// Creates a token, expiring at `expires_at` if given; its clear text
    /// exists only in the return value.
    pub async fn create_admin_token(
        &self,
        label: &str,
        expires_at: Option<i64>,
        actor: &str,
    ) -> Result<(AdminToken, Secret), StoreError> {
        if expires_at.is_some_and(|e| e <= now_ms()) {
            return Err(StoreError::Invalid(
                "a token's expiry must be in the future".into(),
            ));
        }
        let secret = Secret::generate("et_");
        let mut tx = self.begin().await?;
        let token = Self::insert_admin_token(&mut tx, &secret, label, expires_at, false).await?;
        record(
            &mut tx,
            actor,
            "token.create",
            None,
            serde_json::json!({ "id": token.id, "label": label, "expires_at": expires_at }),
        )
        .await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    async fn insert_admin_token(
        conn: &mut sqlx::AnyConnection,
        secret: &Secret,
        label: &str,
        expires_at: Option<i64>,
        configured: bool,
    ) -> Result<AdminToken, StoreError> {
        let sql = format!(
            "INSERT INTO admin_tokens (label, token_hash, created_at, expires_at, configured) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(audited(sql))
            .bind(label)
            .bind(secret.hash())
            .bind(now_ms())
            .bind(expires_at)
            .bind(i64::from(configured))
            .fetch_one(conn)
            .await?;
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
        let sql = format!("SELECT {COLUMNS} FROM admin_tokens WHERE token_hash = $1");
        let existing = sqlx::query(audited(sql))
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(row) => {
                let found = token_of(&row)?;
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
                let created =
                    Self::insert_admin_token(&mut tx, &secret, "EDDY_ADMIN_TOKEN", None, true)
                        .await?;
                record(
                    &mut tx,
                    "system",
                    "token.create",
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
        let sql = format!(
            "UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(audited(sql))
            .bind(id)
            .bind(now_ms())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("admin token {id}")))?;
        let token = token_of(&row)?;
        record(
            &mut tx,
            actor,
            "token.revoke",
            None,
            serde_json::json!({ "id": id, "label": token.label }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The token's record when `token` is accepted now.
    pub async fn check_admin_token(&self, token: &str) -> Result<Option<AdminToken>, StoreError> {
        let hash = hash_secret(token);
        let sql = format!("SELECT {COLUMNS} FROM admin_tokens WHERE token_hash = $1");
        let row = sqlx::query(audited(sql))
            .bind(&hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        // The lookup is by hash (an index); comparing the stored hash again
        // without an early exit keeps the decision itself constant-time.
        let stored: String = row.try_get("token_hash")?;
        let mut record = token_of(&row)?;
        let now = now_ms();
        if !same_hash(&stored, &hash) || !record.is_active(now) {
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
        Ok(Some(record))
    }
}
