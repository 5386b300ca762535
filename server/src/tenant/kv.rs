//! An app's key-value data. Registry apps keep it in the registry (shared
//! by every node, bounded by the app's quota); built-in apps keep it in
//! this process's memory.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eddy_host::types::KvError;
use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

/// How much an app may store: keys plus values, in bytes, and key count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuota {
    pub max_bytes: usize,
    pub max_keys: usize,
}

impl Default for KvQuota {
    fn default() -> Self {
        Self {
            max_bytes: 10 << 20,
            max_keys: 100_000,
        }
    }
}

/// Where an app's key-value data lives.
pub enum KvBackend {
    Memory(MemoryKv),
    Registry {
        store: eddy_store::Store,
        app_id: i64,
        turns: Semaphore,
    },
}

/// Registry key-value calls one app may have in flight on this node.
///
/// The registry (SQLite: one writer at a time, 4 pooled connections;
/// PostgreSQL: 10) is shared by every app and by the admin API. Unbounded,
/// one app's flood could hold every connection and queue ahead of everybody
/// (the hardening probe: another app's admin writes 37× slower, and the
/// flooding handlers ran past their deadline while their writes still
/// committed). A semaphore per app rather than a second pool for kv: a
/// second pool would still let one app crowd out the others' kv calls, and
/// on SQLite both pools meet at the same write lock anyway. With at most
/// this many calls per app, the rest of the node waits behind a few calls
/// at most; `tests/tests/all/kv_isolation.rs` measures another app's admin
/// writes during a flood and holds them to a bound.
pub(crate) const KV_CALLS_PER_APP: usize = 4;

/// How long a call waits for a turn before the handler hears `busy`: well
/// under the default 100 ms handler deadline, so the handler gets an answer
/// it can act on instead of a timeout.
pub(crate) const KV_TURN_WAIT: Duration = Duration::from_millis(20);

/// What a handler sees when the registry fails: the cause is logged, not shown.
fn unavailable(e: impl std::fmt::Display) -> KvError {
    tracing::warn!(error = %e, "key-value store error");
    KvError::Unavailable("the key-value store is unavailable".into())
}

impl KvBackend {
    /// An app's data in the registry, its calls bounded by [`KV_CALLS_PER_APP`].
    pub fn registry(store: eddy_store::Store, app_id: i64) -> Self {
        Self::Registry {
            store,
            app_id,
            turns: Semaphore::new(KV_CALLS_PER_APP),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Self::Memory(m) => m.get(key),
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let _turn = turn(turns).await?;
                store.kv_get(*app_id, key).await.map_err(unavailable)
            }
        }
    }

    pub async fn set(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        quota: u64,
    ) -> Result<(), KvError> {
        match self {
            Self::Memory(m) => {
                let _ = quota; // the in-memory store has its own bound
                m.set(key, value, ttl_ms)
            }
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let _turn = turn(turns).await?;
                store
                    .kv_set(*app_id, key, &value, ttl_ms, quota)
                    .await
                    .map_err(registry_error)
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<bool, KvError> {
        match self {
            Self::Memory(m) => m.delete(key),
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let _turn = turn(turns).await?;
                store.kv_delete(*app_id, key).await.map_err(unavailable)
            }
        }
    }

    pub async fn increment(&self, key: &str, delta: i64, quota: u64) -> Result<i64, KvError> {
        match self {
            Self::Memory(m) => {
                let _ = quota;
                m.increment(key, delta)
            }
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let _turn = turn(turns).await?;
                store
                    .kv_increment(*app_id, key, delta, quota)
                    .await
                    .map_err(registry_error)
            }
        }
    }
}

/// A turn at the registry for one call, or `busy` after [`KV_TURN_WAIT`].
async fn turn(turns: &Semaphore) -> Result<SemaphorePermit<'_>, KvError> {
    match tokio::time::timeout(KV_TURN_WAIT, turns.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        // Never closed; a timeout is the app outrunning its share.
        _ => Err(KvError::Unavailable(format!(
            "busy: this app already has {KV_CALLS_PER_APP} key-value calls in flight; \
             retry later or make fewer calls per event"
        ))),
    }
}

fn registry_error(e: eddy_store::KvError) -> KvError {
    match e {
        eddy_store::KvError::QuotaExceeded => KvError::QuotaExceeded,
        eddy_store::KvError::NotANumber => KvError::NotANumber,
        eddy_store::KvError::Store(e) => unavailable(e),
        // Not reached yet: handlers make no batches before contract 0.2.
        e @ eddy_store::KvError::TooManyOps { .. } => KvError::Unavailable(e.to_string()),
    }
}

pub struct MemoryKv {
    quota: KvQuota,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    bytes: usize,
}

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entries {
    fn live(&mut self, key: &str, now: Instant) -> Option<&Entry> {
        if self
            .map
            .get(key)
            .is_some_and(|e| e.expires.is_some_and(|x| x <= now))
        {
            self.remove(key);
        }
        self.map.get(key)
    }

    fn remove(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some(e) => {
                self.bytes -= key.len() + e.value.len();
                true
            }
            None => false,
        }
    }

    fn purge_expired(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .map
            .iter()
            .filter(|(_, e)| e.expires.is_some_and(|x| x <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }

    fn put(
        &mut self,
        quota: &KvQuota,
        key: &str,
        value: Vec<u8>,
        expires: Option<Instant>,
    ) -> Result<(), KvError> {
        let old = self.map.get(key).map_or(0, |e| key.len() + e.value.len());
        let new = key.len() + value.len();
        let fits = |e: &Self| {
            e.bytes - old + new <= quota.max_bytes && (old > 0 || e.map.len() < quota.max_keys)
        };
        if !fits(self) {
            self.purge_expired(Instant::now());
            let old_now = self.map.get(key).map_or(0, |e| key.len() + e.value.len());
            if old_now != old || !fits(self) {
                return Err(KvError::QuotaExceeded);
            }
        }
        self.bytes = self.bytes - old + new;
        self.map.insert(key.to_owned(), Entry { value, expires });
        Ok(())
    }
}

impl MemoryKv {
    pub fn new(quota: KvQuota) -> Self {
        Self {
            quota,
            inner: Mutex::new(Entries::default()),
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self
            .inner
            .lock()
            .live(key, Instant::now())
            .map(|e| e.value.clone()))
    }

    pub fn set(&self, key: &str, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<(), KvError> {
        let expires = ttl_ms.map(|t| Instant::now() + Duration::from_millis(t));
        self.inner.lock().put(&self.quota, key, value, expires)
    }

    pub fn delete(&self, key: &str) -> Result<bool, KvError> {
        let mut entries = self.inner.lock();
        entries.live(key, Instant::now());
        Ok(entries.remove(key))
    }

    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut entries = self.inner.lock();
        let (current, expires) = match entries.live(key, Instant::now()) {
            None => (0, None),
            Some(e) => {
                let n = std::str::from_utf8(&e.value)
                    .ok()
                    .and_then(|t| t.trim().parse::<i64>().ok())
                    .ok_or(KvError::NotANumber)?;
                (n, e.expires)
            }
        };
        let next = current.checked_add(delta).ok_or(KvError::NotANumber)?;
        entries.put(&self.quota, key, next.to_string().into_bytes(), expires)?;
        Ok(next)
    }

    /// Bytes used (keys plus values).
    pub fn used_bytes(&self) -> usize {
        self.inner.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_delete_increment() {
        let kv = MemoryKv::new(KvQuota::default());
        assert_eq!(kv.get("a").unwrap(), None);
        kv.set("a", b"1".to_vec(), None).unwrap();
        assert_eq!(kv.increment("a", 41).unwrap(), 42);
        assert_eq!(kv.get("a").unwrap(), Some(b"42".to_vec()));
        assert_eq!(kv.increment("fresh", -3).unwrap(), -3);
        kv.set("text", b"abc".to_vec(), None).unwrap();
        assert_eq!(kv.increment("text", 1), Err(KvError::NotANumber));
        assert!(kv.delete("a").unwrap());
        assert!(!kv.delete("a").unwrap());
        assert_eq!(kv.used_bytes(), "fresh".len() + 2 + "text".len() + 3);
    }

    #[test]
    fn entries_expire() {
        let kv = MemoryKv::new(KvQuota::default());
        kv.set("t", b"x".to_vec(), Some(0)).unwrap();
        assert_eq!(kv.get("t").unwrap(), None);
        assert_eq!(kv.used_bytes(), 0);
    }

    #[test]
    fn quota_bounds_bytes_and_keys() {
        let kv = MemoryKv::new(KvQuota {
            max_bytes: 10,
            max_keys: 2,
        });
        kv.set("k", vec![0; 9], None).unwrap();
        assert_eq!(kv.set("k2", vec![0; 1], None), Err(KvError::QuotaExceeded));
        // Replacing a value counts only the difference.
        kv.set("k", vec![0; 4], None).unwrap();
        kv.set("j", vec![0; 1], None).unwrap();
        assert_eq!(
            kv.set("z", vec![], None),
            Err(KvError::QuotaExceeded),
            "key count"
        );
        // Expired entries make room.
        kv.set("j", vec![0; 1], Some(0)).unwrap();
        kv.set("z", vec![], None).unwrap();
    }
}
