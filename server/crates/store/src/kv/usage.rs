//! The running total of an app's key-value data (`kv_usage`): what the quota
//! is checked against. Every change to an app's entries happens in a
//! transaction that first [`lock`]s this row and ends by [`add`]ing its
//! difference, so the total always equals the sum of the stored sizes.

use sqlx::{AnyConnection, Row};

use crate::StoreError;

/// Takes the app's usage row for the rest of the transaction (creating it
/// if missing) and returns its bytes and keys.
///
/// One statement does both: an upsert that updates nothing takes the row
/// lock on PostgreSQL (a concurrent writer of the same app waits here, then
/// sees the committed total), and on SQLite the transaction already holds
/// the database's write lock.
pub(super) async fn lock(conn: &mut AnyConnection, app_id: i64) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "INSERT INTO kv_usage (app_id, bytes, keys) VALUES ($1, 0, 0) \
         ON CONFLICT (app_id) DO UPDATE SET bytes = kv_usage.bytes RETURNING bytes, keys",
    )
    .bind(app_id)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get("bytes")?, row.try_get("keys")?))
}

/// Changes the app's total by `bytes` and `keys`.
pub(super) async fn add(
    conn: &mut AnyConnection,
    app_id: i64,
    bytes: i64,
    keys: i64,
) -> Result<(), StoreError> {
    if bytes != 0 || keys != 0 {
        sqlx::query("UPDATE kv_usage SET bytes = bytes + $2, keys = keys + $3 WHERE app_id = $1")
            .bind(app_id)
            .bind(bytes)
            .bind(keys)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The size of what is stored at `key`, expired or not.
pub(super) async fn stored_size(
    conn: &mut AnyConnection,
    app_id: i64,
    key: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT size FROM kv WHERE app_id = $1 AND key = $2")
            .bind(app_id)
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

/// Deletes the app's entries expired at `now` (found through the
/// `kv_app_expiry` index, not a scan of its live entries) and takes them off
/// its total; returns the bytes and keys freed.
pub(super) async fn purge_expired(
    conn: &mut AnyConnection,
    app_id: i64,
    now: i64,
) -> Result<(i64, i64), StoreError> {
    let sizes: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM kv WHERE app_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2 \
         RETURNING size",
    )
    .bind(app_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let freed = (sizes.iter().sum::<i64>(), sizes.len() as i64);
    add(conn, app_id, -freed.0, -freed.1).await?;
    Ok(freed)
}
