//! `eddy:handler/kv`: the app's key-value store, through the embedder (which
//! may wait on a database, hence async). Keys, page sizes and batch lengths
//! are bounded here, before the embedder sees them.

use crate::bindings::eddy::handler::kv::{Entry, Host, KvError, Op, OpResult};
use crate::state::HostState;

/// Longest key a handler may use.
pub(crate) const MAX_KEY_BYTES: usize = 512;
/// The most entries one `list` returns.
pub const MAX_KV_PAGE: u32 = 1000;
/// The most writes one `batch` applies.
pub const MAX_KV_BATCH_OPS: usize = 64;

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        Err(KvError::InvalidKey)
    } else {
        Ok(())
    }
}

fn outside_hook() -> KvError {
    KvError::Unavailable("key-value calls are only available inside a hook".into())
}

impl HostState {
    fn kv_scope(&self) -> Result<(std::sync::Arc<dyn crate::Capabilities>, usize), KvError> {
        let scope = self.call.as_ref().ok_or_else(outside_hook)?;
        Ok((scope.caps.clone(), scope.max_payload))
    }
}

impl Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        check_key(&key)?;
        let (caps, _) = self.kv_scope()?;
        caps.kv_get(&key).await
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> Result<(), KvError> {
        check_key(&key)?;
        let (caps, _) = self.kv_scope()?;
        caps.kv_set(&key, value, ttl_ms).await
    }

    async fn delete(&mut self, key: String) -> Result<bool, KvError> {
        check_key(&key)?;
        let (caps, _) = self.kv_scope()?;
        caps.kv_delete(&key).await
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, KvError> {
        check_key(&key)?;
        let (caps, _) = self.kv_scope()?;
        caps.kv_increment(&key, delta).await
    }

    async fn list(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Entry>, KvError> {
        // A prefix or a start longer than any key matches nothing; refusing
        // it tells the handler it has a bug instead.
        if prefix.len() > MAX_KEY_BYTES
            || start_after
                .as_ref()
                .is_some_and(|s| s.len() > MAX_KEY_BYTES)
        {
            return Err(KvError::InvalidKey);
        }
        let (caps, max_payload) = self.kv_scope()?;
        let mut page = caps
            .kv_list(&prefix, start_after.as_deref(), limit.clamp(1, MAX_KV_PAGE))
            .await?;
        // What one call hands the guest is bounded like everything else it
        // receives: a page stops before the entry that would cross the
        // app's maximum payload (always keeping one, so listing progresses).
        let mut bytes = 0usize;
        let keep = page
            .iter()
            .position(|e| {
                bytes += e.key.len() + e.value.len();
                bytes > max_payload
            })
            .map_or(page.len(), |cut| cut.max(1));
        page.truncate(keep);
        Ok(page)
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<bool, KvError> {
        check_key(&key)?;
        let (caps, _) = self.kv_scope()?;
        caps.kv_compare_and_swap(&key, expected, new).await
    }

    async fn batch(&mut self, ops: Vec<Op>) -> Result<Vec<OpResult>, KvError> {
        if ops.len() > MAX_KV_BATCH_OPS {
            return Err(KvError::TooLarge(format!(
                "a batch has at most {MAX_KV_BATCH_OPS} operations; this one has {}",
                ops.len()
            )));
        }
        for op in &ops {
            match op {
                Op::Set(Entry { key, .. }) | Op::Delete(key) | Op::Increment((key, _)) => {
                    check_key(key)?
                }
            }
        }
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (caps, _) = self.kv_scope()?;
        caps.kv_batch(ops).await
    }
}
