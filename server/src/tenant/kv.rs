//! An app's key-value data. Registry apps keep it in the registry (shared
//! by every node, bounded by the app's quota); built-in apps keep it in
//! this process's memory.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eddy_host::types::{KvEntry, KvError, KvOp, KvOpResult};
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

impl KvBackend {
    /// Live entries under `prefix` after `start_after`, in key order (by
    /// bytes, on every backend), at most `limit`, stopping before the
    /// entry that would take keys and values past `max_bytes`.
    pub async fn list(
        &self,
        (prefix, start_after): (&str, Option<&str>),
        limit: u32,
        max_bytes: u64,
    ) -> Result<Vec<KvEntry>, KvError> {
        match self {
            Self::Memory(m) => Ok(m.list(prefix, start_after, limit as usize)),
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let _turn = turn(turns).await?;
                let page = store
                    .kv_page_within(*app_id, (prefix, start_after), i64::from(limit), max_bytes)
                    .await
                    .map_err(unavailable)?;
                Ok(page
                    .into_iter()
                    .map(|(key, value)| KvEntry { key, value })
                    .collect())
            }
        }
    }

    pub async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        quota: u64,
    ) -> Result<bool, KvError> {
        match self {
            Self::Memory(m) => m.compare_and_swap(key, expected, new),
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let _turn = turn(turns).await?;
                store
                    .kv_compare_and_swap(*app_id, key, expected, new, None, quota)
                    .await
                    .map_err(registry_error)
            }
        }
    }

    /// All of `ops` or none.
    pub async fn batch(&self, ops: Vec<KvOp>, quota: u64) -> Result<Vec<KvOpResult>, KvError> {
        match self {
            Self::Memory(m) => m.batch(ops),
            Self::Registry {
                store,
                app_id,
                turns,
            } => {
                let ops: Vec<eddy_store::KvOp> = ops
                    .into_iter()
                    .map(|op| match op {
                        KvOp::Set(KvEntry { key, value }) => eddy_store::KvOp::Set {
                            key,
                            value,
                            ttl_ms: None,
                        },
                        KvOp::Delete(key) => eddy_store::KvOp::Delete { key },
                        KvOp::Increment((key, by)) => eddy_store::KvOp::Increment { key, by },
                    })
                    .collect();
                let _turn = turn(turns).await?;
                let done = store
                    .kv_batch(*app_id, &ops, quota)
                    .await
                    .map_err(registry_error)?;
                Ok(done
                    .into_iter()
                    .map(|r| match r {
                        eddy_store::KvOpResult::Set => KvOpResult::Set,
                        eddy_store::KvOpResult::Deleted(existed) => KvOpResult::Deleted(existed),
                        eddy_store::KvOpResult::Incremented(n) => KvOpResult::Incremented(n),
                    })
                    .collect())
            }
        }
    }
}

/// A turn at the registry for one of an app's calls, or `None` after
/// `wait` (the semaphore is never closed; a timeout is the app outrunning
/// its share). Shared by key-value and timer calls.
pub(crate) async fn registry_turn(
    turns: &Semaphore,
    wait: Duration,
) -> Option<SemaphorePermit<'_>> {
    tokio::time::timeout(wait, turns.acquire()).await.ok()?.ok()
}

/// A turn for a key-value call, or `busy` after [`KV_TURN_WAIT`].
async fn turn(turns: &Semaphore) -> Result<SemaphorePermit<'_>, KvError> {
    registry_turn(turns, KV_TURN_WAIT).await.ok_or_else(|| {
        KvError::Unavailable(format!(
            "busy: this app already has {KV_CALLS_PER_APP} key-value calls in flight; \
             retry later or make fewer calls per event"
        ))
    })
}

fn registry_error(e: eddy_store::KvError) -> KvError {
    match e {
        eddy_store::KvError::QuotaExceeded => KvError::QuotaExceeded,
        eddy_store::KvError::NotANumber => KvError::NotANumber,
        eddy_store::KvError::Store(e) => unavailable(e),
        // The host bounds batches first; the store's own bound is the same.
        e @ eddy_store::KvError::TooManyOps { .. } => KvError::TooLarge(e.to_string()),
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

/// A value and its expiry, as a batch found it (to put back on failure).
type Saved = (Vec<u8>, Option<Instant>);

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

    /// Live entries under `prefix` after `start_after`, in key order.
    /// Linear in the app's keys (at most its quota's `max_keys`): built-in
    /// apps are for tests and benchmarks.
    pub fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Vec<KvEntry> {
        let now = Instant::now();
        let entries = self.inner.lock();
        let mut page: Vec<(&String, &Entry)> = entries
            .map
            .iter()
            .filter(|(k, e)| {
                k.starts_with(prefix)
                    && start_after.is_none_or(|after| k.as_str() > after)
                    && e.expires.is_none_or(|x| x > now)
            })
            .collect();
        page.sort_by(|a, b| a.0.cmp(b.0));
        page.truncate(limit);
        page.into_iter()
            .map(|(k, e)| KvEntry {
                key: k.clone(),
                value: e.value.clone(),
            })
            .collect()
    }

    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, KvError> {
        let mut entries = self.inner.lock();
        let current = entries
            .live(key, Instant::now())
            .map(|e| e.value.as_slice());
        if current != expected {
            return Ok(false);
        }
        match new {
            Some(value) => entries.put(&self.quota, key, value.to_vec(), None)?,
            None => {
                entries.remove(key);
            }
        }
        Ok(true)
    }

    /// Applies `ops` under one lock; on a refusal, puts back what the
    /// earlier ones changed.
    pub fn batch(&self, ops: Vec<KvOp>) -> Result<Vec<KvOpResult>, KvError> {
        let mut entries = self.inner.lock();
        let now = Instant::now();
        // Each touched key's entry before the batch, restored on failure.
        let mut undo: Vec<(String, Option<Saved>)> = Vec::new();
        let mut results = Vec::with_capacity(ops.len());
        let mut outcome = Ok(());
        for op in ops {
            let key = match &op {
                KvOp::Set(KvEntry { key, .. }) | KvOp::Delete(key) | KvOp::Increment((key, _)) => {
                    key.clone()
                }
            };
            let before = entries
                .live(&key, now)
                .map(|e| (e.value.clone(), e.expires));
            undo.push((key.clone(), before.clone()));
            let done = match op {
                KvOp::Set(KvEntry { key, value }) => entries
                    .put(&self.quota, &key, value, None)
                    .map(|()| KvOpResult::Set),
                KvOp::Delete(key) => Ok(KvOpResult::Deleted(entries.remove(&key))),
                KvOp::Increment((key, by)) => before
                    .as_ref()
                    .map_or(Some(0), |(v, _)| {
                        std::str::from_utf8(v)
                            .ok()
                            .and_then(|t| t.trim().parse::<i64>().ok())
                    })
                    .and_then(|n| n.checked_add(by))
                    .ok_or(KvError::NotANumber)
                    .and_then(|next| {
                        let expires = before.as_ref().and_then(|(_, x)| *x);
                        entries
                            .put(&self.quota, &key, next.to_string().into_bytes(), expires)
                            .map(|()| KvOpResult::Incremented(next))
                    }),
            };
            match done {
                Ok(r) => results.push(r),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if let Err(e) = outcome {
            for (key, before) in undo.into_iter().rev() {
                entries.remove(&key);
                if let Some((value, expires)) = before {
                    entries.bytes += key.len() + value.len();
                    entries.map.insert(key, Entry { value, expires });
                }
            }
            return Err(e);
        }
        Ok(results)
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
    fn list_compare_and_swap_and_batch() {
        let kv = MemoryKv::new(KvQuota {
            max_bytes: 64,
            max_keys: 10,
        });
        for k in ["poll/b", "poll/a", "other", "poll/c"] {
            kv.set(k, k.as_bytes().to_vec(), None).unwrap();
        }
        let keys = |page: Vec<KvEntry>| page.into_iter().map(|e| e.key).collect::<Vec<_>>();
        assert_eq!(keys(kv.list("poll/", None, 2)), ["poll/a", "poll/b"]);
        assert_eq!(keys(kv.list("poll/", Some("poll/b"), 9)), ["poll/c"]);
        assert!(
            !kv.compare_and_swap("other", Some(b"x"), Some(b"y"))
                .unwrap()
        );
        assert!(kv.compare_and_swap("other", Some(b"other"), None).unwrap());
        assert!(kv.compare_and_swap("other", None, Some(b"1")).unwrap());

        let used = kv.used_bytes();
        // The third op is over quota: the first two are undone.
        let refused = kv.batch(vec![
            KvOp::Increment(("other".into(), 1)),
            KvOp::Delete("poll/a".into()),
            KvOp::Set(KvEntry {
                key: "big".into(),
                value: vec![0; 60],
            }),
        ]);
        assert_eq!(refused, Err(KvError::QuotaExceeded));
        assert_eq!(kv.get("other").unwrap(), Some(b"1".to_vec()));
        assert_eq!(kv.get("poll/a").unwrap(), Some(b"poll/a".to_vec()));
        assert_eq!(kv.used_bytes(), used);
        let done = kv
            .batch(vec![
                KvOp::Increment(("other".into(), 1)),
                KvOp::Delete("poll/a".into()),
            ])
            .unwrap();
        assert_eq!(
            done,
            [KvOpResult::Incremented(2), KvOpResult::Deleted(true)]
        );
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
