//! Durable timers (contract 0.2): a handler sets one by key, and when it is
//! due one node of the cluster claims it, runs the app's `on-timer` hook,
//! and reports it fired.
//!
//! Exactly once across nodes: [`Store::claim_due_timers`] marks the timers
//! it returns with the node's name and a lease in one statement, skipping
//! timers another node holds an unexpired lease on (PostgreSQL: `FOR UPDATE
//! SKIP LOCKED`, so two claims never wait on or take the same row; SQLite
//! has one writer at a time). A node that dies mid-fire never reports; its
//! lease runs out and another node claims the timer again. So a timer's
//! hook runs at least once, and more than once only when a node outlives
//! its lease (the host picks the lease well above its handler deadline).

use sqlx::Row;
use thiserror::Error;

use crate::apps::lock_app;
use crate::db::audited;
use crate::{Backend, Store, StoreError, now_ms};

/// The longest timer key, in bytes.
pub const MAX_TIMER_KEY: usize = 256;
/// The largest timer payload, in bytes.
pub const MAX_TIMER_PAYLOAD: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum TimerError {
    /// The app has `max` timers pending already (a timer replacing one of
    /// the same key is never refused).
    #[error("this app already has {max} timers pending (its max_timers); cancel one first")]
    TooMany { max: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TimerError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A timer claimed by this node, to fire and then report with
/// [`Store::timer_fired`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub app_id: i64,
    /// The namespace it was set from.
    pub namespace: String,
    pub key: String,
    pub payload: Vec<u8>,
    pub due_at: i64,
}

impl Store {
    /// Sets the app's timer `key` to fire at `due_at` (ms since the epoch)
    /// in `namespace` with `payload`, replacing (and un-claiming) any timer
    /// of that key. Refused with [`TimerError::TooMany`] when the app has
    /// `max_timers` other timers pending.
    pub async fn timer_set(
        &self,
        app_id: i64,
        (namespace, key): (&str, &str),
        due_at: i64,
        payload: &[u8],
        max_timers: u64,
    ) -> Result<(), TimerError> {
        if key.is_empty() || key.len() > MAX_TIMER_KEY {
            return Err(
                StoreError::Invalid(format!("a timer key is 1 to {MAX_TIMER_KEY} bytes")).into(),
            );
        }
        if payload.len() > MAX_TIMER_PAYLOAD {
            return Err(StoreError::Invalid(format!(
                "a timer payload is at most {MAX_TIMER_PAYLOAD} bytes"
            ))
            .into());
        }
        let mut tx = self.begin().await?;
        // The app's row first: two sets at once count one after the other.
        lock_app(&mut tx, app_id).await?;
        let others: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE app_id = $1 AND key <> $2")
                .bind(app_id)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        if u64::try_from(others).unwrap_or(0) >= max_timers {
            return Err(TimerError::TooMany { max: max_timers });
        }
        sqlx::query(
            "INSERT INTO timers (app_id, key, namespace, due_at, payload, claimed_by, claimed_until, \
             created_at) VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6) ON CONFLICT (app_id, key) DO UPDATE \
             SET namespace = excluded.namespace, due_at = excluded.due_at, payload = excluded.payload, \
             claimed_by = NULL, claimed_until = NULL, created_at = excluded.created_at",
        )
        .bind(app_id)
        .bind(key)
        .bind(namespace)
        .bind(due_at)
        .bind(payload)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels the app's timer `key`; returns whether there was one.
    pub async fn timer_cancel(&self, app_id: i64, key: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM timers WHERE app_id = $1 AND key = $2")
            .bind(app_id)
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// How many timers the app has pending (claimed ones included).
    pub async fn timers_pending(&self, app_id: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE app_id = $1")
                .bind(app_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// When a scheduler should next look: the earliest moment a timer of
    /// any app is due and claimable (an unclaimed timer's due time; a
    /// claimed or deferred one's lease end). `None`: no timers.
    pub async fn next_timer_due(&self) -> Result<Option<i64>, StoreError> {
        self.next_timer_due_skipping(&[]).await
    }

    /// [`Store::next_timer_due`] among apps other than `skip` (apps whose
    /// timers the caller is not taking more of now).
    pub async fn next_timer_due_skipping(&self, skip: &[i64]) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT MIN(CASE WHEN claimed_until IS NULL OR claimed_until < due_at THEN due_at \
             ELSE claimed_until END) FROM timers WHERE 1 = 1{}",
            not_in(skip)
        );
        Ok(sqlx::query_scalar(audited(sql))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Gives a claimed timer back: claimable again at once (`retry_at`
    /// `None`) or from `retry_at` on. Nothing happens if it was replaced
    /// since it was claimed. Returns whether it was given back.
    pub async fn timer_release(
        &self,
        app_id: i64,
        (key, due_at): (&str, i64),
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let released = sqlx::query(
            "UPDATE timers SET claimed_by = NULL, claimed_until = $4 \
             WHERE app_id = $1 AND key = $2 AND due_at = $3 AND claimed_by IS NOT NULL",
        )
        .bind(app_id)
        .bind(key)
        .bind(due_at)
        .bind(retry_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(released > 0)
    }

    /// Claims for `node` up to `limit` (clamped to 1..=1000) timers due at
    /// `now` that no node holds a live lease on, earliest first, with a
    /// lease until `now + lease_ms`. No two claims return the same timer
    /// while its lease runs.
    pub async fn claim_due_timers(
        &self,
        node: &str,
        now: i64,
        lease_ms: u64,
        limit: i64,
    ) -> Result<Vec<DueTimer>, StoreError> {
        self.claim_due_timers_skipping(node, (now, lease_ms), limit, &[])
            .await
    }

    /// [`Store::claim_due_timers`] among apps other than `skip`: a
    /// scheduler leaves out apps that have as many timers running as it
    /// lets one app have, so one app's burst of due timers cannot hold
    /// back every other app's.
    pub async fn claim_due_timers_skipping(
        &self,
        node: &str,
        (now, lease_ms): (i64, u64),
        limit: i64,
        skip: &[i64],
    ) -> Result<Vec<DueTimer>, StoreError> {
        let until = now.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // The outer condition repeats the inner one: on PostgreSQL a row
        // another claim changed meanwhile is re-checked against it.
        let skip = not_in(skip);
        let sql = format!(
            "UPDATE timers SET claimed_by = $1, claimed_until = $2 \
             WHERE (app_id, key) IN (SELECT app_id, key FROM timers WHERE due_at <= $3 \
             AND (claimed_until IS NULL OR claimed_until <= $3){skip} \
             ORDER BY due_at LIMIT $4{skip_locked}) \
             AND due_at <= $3 AND (claimed_until IS NULL OR claimed_until <= $3) \
             RETURNING app_id, namespace, key, payload, due_at"
        );
        let mut tx = self.begin().await?;
        let rows = sqlx::query(audited(sql))
            .bind(node)
            .bind(until)
            .bind(now)
            .bind(limit.clamp(1, 1000))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut due = rows
            .iter()
            .map(|r| {
                Ok(DueTimer {
                    app_id: r.try_get("app_id")?,
                    namespace: r.try_get("namespace")?,
                    key: r.try_get("key")?,
                    payload: r.try_get("payload")?,
                    due_at: r.try_get("due_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        due.sort_by_key(|t| t.due_at);
        Ok(due)
    }

    /// Reports a claimed timer fired: deletes it, unless it was replaced
    /// since it was claimed (its `due_at` differs, or it is unclaimed: a
    /// replacement clears the claim, so even one due at the same time
    /// stays pending). Returns whether it was deleted.
    pub async fn timer_fired(
        &self,
        app_id: i64,
        key: &str,
        due_at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM timers WHERE app_id = $1 AND key = $2 AND due_at = $3 \
                 AND claimed_by IS NOT NULL",
        )
        .bind(app_id)
        .bind(key)
        .bind(due_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }
}

/// ` AND app_id NOT IN (…)` for `apps` (nothing when empty). The ids are
/// integers written out, never text from outside.
fn not_in(apps: &[i64]) -> String {
    if apps.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = apps.iter().map(i64::to_string).collect();
    format!(" AND app_id NOT IN ({})", ids.join(", "))
}
