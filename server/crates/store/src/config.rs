//! Each app's config (contract 0.2): named values a handler reads with
//! `config.get(name)`, set through the admin API. Some are secrets: listed
//! by name, never returned by a listing, never written to the audit log.
//!
//! The store keeps values as the bytes it is given. Encrypting secrets is
//! the server's job: it passes ciphertext here and decrypts what
//! [`Store::config_get`] returns.

use serde::Serialize;
use sqlx::Row;

use crate::apps::lock_app;
use crate::audit::record;
use crate::{Store, StoreError, now_ms};

/// The most config entries one app has.
pub const MAX_CONFIG_ENTRIES: i64 = 256;
/// The longest config name, in bytes (names are `[A-Za-z0-9_.-]`).
pub const MAX_CONFIG_NAME: usize = 128;
/// The largest config value, in bytes: a plain value as given, a secret's
/// plaintext before the server encrypted it.
pub const MAX_CONFIG_VALUE: usize = 64 * 1024;
/// Room a secret's stored value has beyond [`MAX_CONFIG_VALUE`] for what
/// encryption adds (the server's version byte, nonce and tag), so the limit
/// people see is on the plaintext whether the value is secret or not.
pub const MAX_SEALING_OVERHEAD: usize = 64;

/// One config entry as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigEntry {
    pub name: String,
    pub secret: bool,
    pub updated_at: i64,
    /// The value; `None` for a secret.
    pub value: Option<Vec<u8>>,
}

/// One config entry as stored, value included (a secret's is ciphertext).
/// Not `Serialize`: it is not for showing.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredConfig {
    pub name: String,
    pub value: Vec<u8>,
    pub secret: bool,
    pub updated_at: i64,
}

/// Never prints a value (a secret's ciphertext is no one's business either).
impl std::fmt::Debug for StoredConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredConfig")
            .field("name", &self.name)
            .field("secret", &self.secret)
            .field("bytes", &self.value.len())
            .finish()
    }
}

fn validate(name: &str, value: &[u8], secret: bool) -> Result<(), StoreError> {
    if name.is_empty()
        || name.len() > MAX_CONFIG_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(StoreError::Invalid(format!(
            "config name {name:?}: use 1 to {MAX_CONFIG_NAME} of A-Z a-z 0-9 _ . -"
        )));
    }
    let max = MAX_CONFIG_VALUE + if secret { MAX_SEALING_OVERHEAD } else { 0 };
    if value.len() > max {
        return Err(StoreError::Invalid(format!(
            "config {name}: a value is at most {max} bytes as stored, this one {}",
            value.len()
        )));
    }
    Ok(())
}

fn secret_of(row: &sqlx::any::AnyRow) -> Result<bool, StoreError> {
    Ok(row.try_get::<i64, _>("secret")? != 0)
}

impl Store {
    /// Sets the app's config `name` to `value` (ciphertext, for a secret),
    /// with an audit entry by `actor` that names it but never holds the
    /// value. At most [`MAX_CONFIG_ENTRIES`] per app: a new name past it is
    /// refused with [`StoreError::Quota`].
    pub async fn config_set(
        &self,
        app_id: i64,
        name: &str,
        value: &[u8],
        secret: bool,
        actor: &str,
    ) -> Result<(), StoreError> {
        validate(name, value, secret)?;
        let mut tx = self.begin().await?;
        // The app's row first: two new names at once count one after the other.
        let slug = lock_app(&mut tx, app_id).await?;
        let others: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM app_config WHERE app_id = $1 AND name <> $2")
                .bind(app_id)
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
        if others >= MAX_CONFIG_ENTRIES {
            return Err(StoreError::Quota {
                ceiling: "config entries per app".into(),
                message: format!(
                    "app {slug} has {MAX_CONFIG_ENTRIES} config entries, the most an app has; \
                     delete one first"
                ),
            });
        }
        sqlx::query(
            "INSERT INTO app_config (app_id, name, value, secret, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, name) DO UPDATE SET \
             value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at",
        )
        .bind(app_id)
        .bind(name)
        .bind(value)
        .bind(i64::from(secret))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "config.set",
            Some(&slug),
            None,
            serde_json::json!({ "name": name, "secret": secret }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the app's config `name`; returns whether it existed (only
    /// then is there an audit entry).
    pub async fn config_delete(
        &self,
        app_id: i64,
        name: &str,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let slug = lock_app(&mut tx, app_id).await?;
        let deleted = sqlx::query("DELETE FROM app_config WHERE app_id = $1 AND name = $2")
            .bind(app_id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        record(
            &mut tx,
            actor,
            "config.delete",
            Some(&slug),
            None,
            serde_json::json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The app's config by name, secrets without their values.
    pub async fn config_list(&self, app_id: i64) -> Result<Vec<ConfigEntry>, StoreError> {
        let entries = self.config_values(app_id).await?;
        Ok(entries
            .into_iter()
            .map(|e| ConfigEntry {
                value: (!e.secret).then_some(e.value),
                name: e.name,
                secret: e.secret,
                updated_at: e.updated_at,
            })
            .collect())
    }

    /// Every config entry of the app, with its value (a secret's is its
    /// ciphertext): what a handler's reads are served from, never a listing.
    pub async fn config_values(&self, app_id: i64) -> Result<Vec<StoredConfig>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, value, secret, updated_at FROM app_config WHERE app_id = $1 ORDER BY name",
        )
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredConfig {
                    name: r.try_get("name")?,
                    value: r.try_get("value")?,
                    secret: secret_of(r)?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The value of the app's config `name` and whether it is a secret
    /// (then the value is what the server stored: its ciphertext). For the
    /// host, never for a listing.
    pub async fn config_get(
        &self,
        app_id: i64,
        name: &str,
    ) -> Result<Option<(Vec<u8>, bool)>, StoreError> {
        let row =
            sqlx::query("SELECT value, secret FROM app_config WHERE app_id = $1 AND name = $2")
                .bind(app_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get("value")?, secret_of(&r)?)))
            .transpose()
    }
}
