//! An app's config as its handler reads it (`config.get(name)`).
//!
//! The whole config of the app (at most 256 entries of 64 KiB) is read at
//! once and kept for at most [`MAX_AGE`]: a change made through any node
//! reaches every running instance on every node within that, with no
//! redeploy and no message between nodes. Reads within it cost a hash
//! lookup. When it is stale, one caller refreshes it and the others wait
//! for that refresh instead of each asking the registry (no stampede); a
//! refresh that fails answers everyone who was waiting for it, so a
//! registry outage costs one query per app at a time, not one per read.
//! The node that made a change forgets its copy at once ([`AppConfig::forget`]).
//!
//! Secrets are decrypted when the config is read; their values are never
//! logged (a warning names a secret that does not decrypt, never its value).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use eddy_store::{Store, StoredConfig};
use thiserror::Error;

use crate::secrets::Sealer;

/// The longest a change takes to reach a running instance.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(1);

/// The longest a read waits for the registry (its own refresh, or the one
/// it waits for) before it says `Unavailable`. A handler's deadline (100 ms
/// by default) usually ends the call first.
const READ_WAIT: Duration = Duration::from_secs(1);

/// Why a config value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigReadError {
    /// The value is a secret this server cannot decrypt: it has no
    /// `EDDY_SECRET_KEY`, or not the one the secret was set with.
    #[error(
        "this secret cannot be decrypted by the server (its secret key is missing or not the \
         one the secret was set with); an operator must fix the key or set the secret again"
    )]
    SecretUnavailable,
    /// The registry did not answer; the cause is in the server's log.
    #[error("the app's config is unavailable: {0}")]
    Unavailable(String),
}

/// An app's config, for its handlers.
pub struct AppConfig(Option<Registry>);

struct Registry {
    store: Store,
    app_id: i64,
    slug: Arc<str>,
    /// `None` when the server has no secret key: every secret is unavailable.
    sealer: Option<Arc<Sealer>>,
    max_age: Duration,
    current: ArcSwapOption<Snapshot>,
    /// Held by the one refresh in flight; holds when the last refresh
    /// failed (those who waited for it get its failure).
    refresh: tokio::sync::Mutex<Option<Instant>>,
    /// Bumped by [`AppConfig::forget`]: a refresh that began before a
    /// change does not put its older copy back after it.
    generation: AtomicU64,
    /// An undecryptable secret is warned about once per app and node.
    warned: AtomicBool,
    /// Registry reads made, for the tests of the refresh.
    #[cfg(test)]
    reads: std::sync::atomic::AtomicUsize,
}

/// The config as read at `read_at`: name → plaintext, or why not.
struct Snapshot {
    read_at: Instant,
    values: HashMap<String, Result<String, ConfigReadError>>,
}

impl AppConfig {
    /// A registry app's config. `sealer` is the server's secret key.
    pub(crate) fn registry(
        store: Store,
        app_id: i64,
        slug: &str,
        sealer: Option<Arc<Sealer>>,
    ) -> Self {
        Self::registry_with_age(store, app_id, slug, sealer, MAX_AGE)
    }

    fn registry_with_age(
        store: Store,
        app_id: i64,
        slug: &str,
        sealer: Option<Arc<Sealer>>,
        max_age: Duration,
    ) -> Self {
        Self(Some(Registry {
            store,
            app_id,
            slug: slug.into(),
            sealer,
            max_age,
            current: ArcSwapOption::empty(),
            refresh: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            warned: AtomicBool::new(false),
            #[cfg(test)]
            reads: Default::default(),
        }))
    }

    /// A built-in app's config: always empty (it has no registry row).
    pub fn empty() -> Self {
        Self(None)
    }

    /// The value of config `name` (a secret's plaintext), `None` when the
    /// app has no such entry.
    pub async fn get(&self, name: &str) -> Result<Option<String>, ConfigReadError> {
        let Some(registry) = &self.0 else {
            return Ok(None);
        };
        let snapshot = registry.snapshot().await?;
        snapshot.values.get(name).cloned().transpose()
    }

    /// Drops this node's copy: the next read asks the registry (after a
    /// change made through this node, so it reads its own write).
    pub(crate) fn forget(&self) {
        if let Some(registry) = &self.0 {
            registry.generation.fetch_add(1, Ordering::AcqRel);
            registry.current.store(None);
        }
    }
}

impl Registry {
    fn fresh(&self) -> Option<Arc<Snapshot>> {
        self.current
            .load_full()
            .filter(|s| s.read_at.elapsed() < self.max_age)
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, ConfigReadError> {
        if let Some(snapshot) = self.fresh() {
            return Ok(snapshot);
        }
        let asked = Instant::now();
        tokio::time::timeout(READ_WAIT, self.refresh(asked))
            .await
            .unwrap_or_else(|_| {
                tracing::warn!(app = %self.slug, "the app's config did not load in time");
                Err(unavailable())
            })
    }

    /// Reads the config from the registry, unless another caller did (or
    /// failed to) while this one waited for its turn. The async lock is
    /// what makes it one refresh at a time; it is held across the registry
    /// call on purpose, like the key-value store's turns.
    async fn refresh(&self, asked: Instant) -> Result<Arc<Snapshot>, ConfigReadError> {
        let mut failed_at = self.refresh.lock().await;
        if let Some(snapshot) = self.fresh() {
            return Ok(snapshot);
        }
        if failed_at.is_some_and(|at| at >= asked) {
            return Err(unavailable());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let read_at = Instant::now();
        #[cfg(test)]
        self.reads.fetch_add(1, Ordering::Relaxed);
        match self.store.config_values(self.app_id).await {
            Ok(rows) => {
                *failed_at = None;
                let snapshot = Arc::new(self.decode(rows, read_at));
                if self.generation.load(Ordering::Acquire) == generation {
                    self.current.store(Some(snapshot.clone()));
                }
                Ok(snapshot)
            }
            Err(error) => {
                *failed_at = Some(Instant::now());
                tracing::warn!(app = %self.slug, %error, "cannot read the app's config");
                Err(unavailable())
            }
        }
    }

    fn decode(&self, rows: Vec<StoredConfig>, read_at: Instant) -> Snapshot {
        let mut unreadable = Vec::new();
        let values = rows
            .into_iter()
            .map(|row| {
                let value = if row.secret {
                    self.sealer
                        .as_ref()
                        .and_then(|s| s.open(self.app_id, &row.name, &row.value).ok())
                        .map(|plain| String::from_utf8_lossy(&plain).into_owned())
                        .ok_or(ConfigReadError::SecretUnavailable)
                } else {
                    Ok(String::from_utf8_lossy(&row.value).into_owned())
                };
                if value.is_err() {
                    unreadable.push(row.name.clone());
                }
                (row.name, value)
            })
            .collect();
        if !unreadable.is_empty() && !self.warned.swap(true, Ordering::Relaxed) {
            let key = if self.sealer.is_some() {
                "is not the one they were set with"
            } else {
                "is missing"
            };
            tracing::warn!(
                app = %self.slug,
                secrets = ?unreadable,
                "secrets of the app cannot be decrypted: the server's secret key (EDDY_SECRET_KEY) \
                 {key}; its handlers get secret-unavailable for them",
            );
        }
        Snapshot { read_at, values }
    }
}

fn unavailable() -> ConfigReadError {
    ConfigReadError::Unavailable("the registry did not answer; try again".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry of its own in a fresh directory, with one app.
    async fn registry(tag: &str) -> (Store, i64, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("eddy-tenant-config-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(&format!("sqlite://{}/eddy.db", dir.display()))
            .await
            .unwrap();
        let new = eddy_store::NewApp {
            slug: "conf".into(),
            name: "conf".into(),
            tenant: eddy_store::DEFAULT_TENANT.into(),
            limits: eddy_store::AppLimits::default(),
        };
        let (app, _) = store.create_app(&new, "test").await.unwrap();
        (store, app.id, dir)
    }

    fn key(byte: u8) -> Option<Arc<Sealer>> {
        Some(Arc::new(Sealer::new(&[byte; 32])))
    }

    #[tokio::test]
    async fn built_in_apps_have_no_config() {
        assert_eq!(AppConfig::empty().get("anything").await, Ok(None));
    }

    #[tokio::test]
    async fn values_and_secrets_are_read_and_changes_arrive_within_max_age() {
        let (store, id, dir) = registry("read").await;
        let sealer = key(1);
        let sealed = sealer
            .as_ref()
            .unwrap()
            .seal(id, "TOKEN", b"s3cr3t")
            .unwrap();
        store
            .config_set(id, "greeting", b"hello", false, "t")
            .await
            .unwrap();
        store
            .config_set(id, "TOKEN", &sealed, true, "t")
            .await
            .unwrap();
        let age = Duration::from_millis(200);
        let config = AppConfig::registry_with_age(store.clone(), id, "conf", sealer, age);
        assert_eq!(
            config.get("greeting").await.unwrap().as_deref(),
            Some("hello")
        );
        assert_eq!(
            config.get("TOKEN").await.unwrap().as_deref(),
            Some("s3cr3t")
        );
        assert_eq!(config.get("missing").await, Ok(None));

        // Changed behind its back (another node): the cached copy serves
        // until it is max_age old, then the new value arrives.
        store
            .config_set(id, "greeting", b"bye", false, "t")
            .await
            .unwrap();
        let changed = Instant::now();
        assert_eq!(
            config.get("greeting").await.unwrap().as_deref(),
            Some("hello")
        );
        while config.get("greeting").await.unwrap().as_deref() != Some("bye") {
            assert!(changed.elapsed() < age * 3, "the change did not arrive");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Forgotten (a change through this node): the next read sees it at once.
        store.config_delete(id, "greeting", "t").await.unwrap();
        config.forget();
        assert_eq!(config.get("greeting").await, Ok(None));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_secret_under_another_key_or_no_key_is_unavailable_not_garbage() {
        let (store, id, dir) = registry("keys").await;
        let sealed = Sealer::new(&[1; 32]).seal(id, "TOKEN", b"s3cr3t").unwrap();
        store
            .config_set(id, "TOKEN", &sealed, true, "t")
            .await
            .unwrap();
        store
            .config_set(id, "plain", b"p", false, "t")
            .await
            .unwrap();
        for sealer in [key(2), None] {
            let config = AppConfig::registry(store.clone(), id, "conf", sealer);
            assert_eq!(
                config.get("TOKEN").await,
                Err(ConfigReadError::SecretUnavailable)
            );
            assert_eq!(config.get("plain").await.unwrap().as_deref(), Some("p"));
        }
        // A ciphertext copied to another name does not open either.
        store
            .config_set(id, "COPY", &sealed, true, "t")
            .await
            .unwrap();
        let config = AppConfig::registry(store.clone(), id, "conf", key(1));
        assert_eq!(
            config.get("COPY").await,
            Err(ConfigReadError::SecretUnavailable)
        );
        assert_eq!(
            config.get("TOKEN").await.unwrap().as_deref(),
            Some("s3cr3t")
        );
        std::fs::remove_dir_all(dir).ok();
    }

    /// The registry side of `config`, to hold its refresh turn from a test.
    fn registry_of(config: &AppConfig) -> &Registry {
        config.0.as_ref().expect("a registry app")
    }

    /// Lets every spawned task run until it waits (one thread: each yield
    /// polls each ready task once).
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn concurrent_misses_make_one_registry_read() {
        let (store, id, dir) = registry("stampede").await;
        store.config_set(id, "k", b"v", false, "t").await.unwrap();
        let config = Arc::new(AppConfig::registry(store, id, "conf", None));
        // Fifty reads miss together and queue for the refresh turn.
        let turn = registry_of(&config).refresh.lock().await;
        let reads: Vec<_> = (0..50)
            .map(|_| {
                let config = config.clone();
                tokio::spawn(async move { config.get("k").await })
            })
            .collect();
        settle().await;
        drop(turn);
        for read in reads {
            assert_eq!(read.await.unwrap().unwrap().as_deref(), Some("v"));
        }
        assert_eq!(registry_of(&config).reads.load(Ordering::Relaxed), 1);
        // Fresh: the next reads are served from memory.
        config.get("k").await.unwrap();
        assert_eq!(registry_of(&config).reads.load(Ordering::Relaxed), 1);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_registry_failure_is_unavailable_and_answers_those_who_waited_for_it() {
        let (store, id, dir) = registry("down").await;
        let config = Arc::new(AppConfig::registry(store.clone(), id, "conf", None));
        store.close().await;
        // The first miss reads and fails.
        assert!(matches!(
            config.get("k").await,
            Err(ConfigReadError::Unavailable(_))
        ));
        assert_eq!(registry_of(&config).reads.load(Ordering::Relaxed), 1);
        // Reads that queue behind a refresh that fails get its failure
        // instead of each asking the registry again.
        let mut turn = registry_of(&config).refresh.lock().await;
        let reads: Vec<_> = (0..10)
            .map(|_| {
                let config = config.clone();
                tokio::spawn(async move { config.get("k").await })
            })
            .collect();
        settle().await;
        *turn = Some(Instant::now());
        drop(turn);
        for read in reads {
            assert!(matches!(
                read.await.unwrap(),
                Err(ConfigReadError::Unavailable(_))
            ));
        }
        assert_eq!(registry_of(&config).reads.load(Ordering::Relaxed), 1);
        std::fs::remove_dir_all(dir).ok();
    }
}
