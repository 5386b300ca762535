//! Writes that read first: compare-and-swap, and batches of writes that
//! apply whole or not at all. Each runs in one transaction that holds the
//! app's usage row (as every key-value write does), so nothing else of the
//! app's data changes between its read and its write, and the running
//! total stays exact; a refusal drops the transaction, undoing every
//! write made before it.

use super::{KvError, expiry, usage};
use crate::Store;

/// The most operations one [`Store::kv_batch`] applies: a batch holds the
/// app's writers off for its whole transaction.
pub const MAX_BATCH_OPS: usize = 64;

/// One write of a [`Store::kv_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// As [`Store::kv_set`].
    Set {
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    },
    /// As [`Store::kv_delete`].
    Delete { key: String },
    /// As [`Store::kv_increment`].
    Increment { key: String, by: i64 },
}

/// What one [`KvOp`] did, in the order of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvOpResult {
    Set,
    /// Whether the key was live.
    Deleted(bool),
    /// The new value.
    Incremented(i64),
}

impl Store {
    /// Writes `new` at `key` (or deletes it, when `new` is `None`) only if
    /// its live value is `expected` (`None`: the key must be absent or
    /// expired); returns whether it did. `ttl_ms` is the new value's
    /// expiry. Quota as [`Store::kv_set`].
    pub async fn kv_compare_and_swap(
        &self,
        app_id: i64,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        ttl_ms: Option<u64>,
        quota: u64,
    ) -> Result<bool, KvError> {
        let mut tx = self.begin().await?;
        let (used, _) = usage::lock(&mut tx, app_id).await?;
        let current = Self::kv_live(&mut tx, app_id, key).await?;
        if current.as_ref().map(|(v, _)| v.as_slice()) != expected {
            return Ok(false);
        }
        match new {
            Some(value) => {
                Self::kv_put(&mut tx, app_id, used, (key, value), expiry(ttl_ms), quota).await?
            }
            None => {
                Self::kv_remove(&mut tx, app_id, key).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Applies `ops` in order in one transaction: all of them, or (on any
    /// refusal or failure) none. Each write is checked against the quota
    /// as it applies, as if made alone: put deletes before the writes they
    /// make room for. At most [`MAX_BATCH_OPS`] operations.
    pub async fn kv_batch(
        &self,
        app_id: i64,
        ops: &[KvOp],
        quota: u64,
    ) -> Result<Vec<KvOpResult>, KvError> {
        if ops.len() > MAX_BATCH_OPS {
            return Err(KvError::TooManyOps {
                ops: ops.len(),
                max: MAX_BATCH_OPS,
            });
        }
        let mut tx = self.begin().await?;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            // Holding the row already, this reads the total as the
            // batch's earlier writes left it.
            let (used, _) = usage::lock(&mut tx, app_id).await?;
            results.push(match op {
                KvOp::Set { key, value, ttl_ms } => {
                    Self::kv_put(
                        &mut tx,
                        app_id,
                        used,
                        (key.as_str(), value.as_slice()),
                        expiry(*ttl_ms),
                        quota,
                    )
                    .await?;
                    KvOpResult::Set
                }
                KvOp::Delete { key } => {
                    KvOpResult::Deleted(Self::kv_remove(&mut tx, app_id, key).await?)
                }
                KvOp::Increment { key, by } => KvOpResult::Incremented(
                    Self::kv_add(&mut tx, app_id, used, key, *by, quota).await?,
                ),
            });
        }
        tx.commit().await?;
        Ok(results)
    }
}
