//! `eddy:handler/kv`: the app's key-value store, through the embedder (which
//! may wait on a database, hence async).

use crate::bindings::eddy::handler::kv::{Host, KvError};
use crate::state::HostState;

/// Longest key a handler may use.
pub(crate) const MAX_KEY_BYTES: usize = 512;

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

impl Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        check_key(&key)?;
        let caps = self.call.as_ref().ok_or_else(outside_hook)?.caps.clone();
        caps.kv_get(&key).await
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> Result<(), KvError> {
        check_key(&key)?;
        let caps = self.call.as_ref().ok_or_else(outside_hook)?.caps.clone();
        caps.kv_set(&key, value, ttl_ms).await
    }

    async fn delete(&mut self, key: String) -> Result<bool, KvError> {
        check_key(&key)?;
        let caps = self.call.as_ref().ok_or_else(outside_hook)?.caps.clone();
        caps.kv_delete(&key).await
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, KvError> {
        check_key(&key)?;
        let caps = self.call.as_ref().ok_or_else(outside_hook)?.caps.clone();
        caps.kv_increment(&key, delta).await
    }
}
