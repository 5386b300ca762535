//! Admin bearer tokens, stored hashed.

use serde::Serialize;
use sqlx::Row;

use crate::audit::record;
use crate::secret::Secret;
use crate::{Store, StoreError, hash_secret, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminToken {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Store {
    pub async fn admin_token_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_tokens")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Creates a token; its clear text exists only in the return value.
    pub async fn create_admin_token(&self, label: &str, actor: &str) -> Result<Secret, StoreError> {
        let secret = Secret::generate("et_");
        self.insert_admin_token(&secret, label, actor).await?;
        Ok(secret)
    }

    /// Makes `token` (an operator-chosen one, `EDDY_ADMIN_TOKEN`) valid.
    pub async fn ensure_admin_token(&self, token: &str, label: &str) -> Result<(), StoreError> {
        if token.len() < 16 {
            return Err(StoreError::Invalid(
                "an admin token must be at least 16 characters".into(),
            ));
        }
        let exists = sqlx::query("SELECT id FROM admin_tokens WHERE token_hash = $1")
            .bind(hash_secret(token))
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            self.insert_admin_token(&Secret::from_string(token.to_owned()), label, "system")
                .await?;
        }
        Ok(())
    }

    async fn insert_admin_token(
        &self,
        secret: &Secret,
        label: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO admin_tokens (label, token_hash, created_at) VALUES ($1, $2, $3)")
            .bind(label)
            .bind(secret.hash())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "token.create",
            None,
            serde_json::json!({ "label": label }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The token's record when `token` is valid.
    pub async fn check_admin_token(&self, token: &str) -> Result<Option<AdminToken>, StoreError> {
        let row = sqlx::query(
            "SELECT id, label, created_at, last_used_at FROM admin_tokens WHERE token_hash = $1",
        )
        .bind(hash_secret(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = AdminToken {
            id: row.try_get("id")?,
            label: row.try_get("label")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        };
        // Record use at most once a minute: reads stay reads.
        let now = now_ms();
        if token.last_used_at.is_none_or(|t| now - t > 60_000) {
            sqlx::query("UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(token.id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(token))
    }
}
