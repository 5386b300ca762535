//! Tenants: the apps this node serves, as an immutable snapshot the data
//! plane reads without locks and the control plane replaces whole.

pub(crate) mod config;
pub(crate) mod kv;
pub(crate) mod log;
mod rate;
pub(crate) mod timers;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use eddy_store::AppLimits;
use parking_lot::RwLock;

pub(crate) use rate::RateLimiter;

use crate::cluster::ClusterLink;
use crate::dispatch::Handler;
use crate::metrics::AppMetrics;
use crate::session::{EngineSettings, SessionTable};
use crate::socket::Namespace;

/// One app's live state on this node.
pub struct App {
    pub slug: Arc<str>,
    /// The registry's id for the app; 0 for a built-in app from the config file.
    pub id: i64,
    handler: ArcSwap<InstalledHandler>,
    limits: ArcSwap<AppLimits>,
    /// The engine settings of this app's sessions (its payload limit applied).
    settings: ArcSwap<EngineSettings>,
    namespaces: RwLock<HashMap<Arc<str>, Arc<Namespace>>>,
    sockets: AtomicUsize,
    pub sessions: Arc<SessionTable>,
    pub metrics: AppMetrics,
    pub kv: kv::KvBackend,
    pub timers: timers::AppTimers,
    /// Its config variables and secrets, as handlers read them.
    pub config: config::AppConfig,
    pub log: log::AppLog,
    /// The node's link to the cluster (shared by every app).
    pub cluster: Arc<ClusterLink>,
}

/// Where an app's durable data lives: key-value entries, timers and config.
pub struct AppData {
    pub kv: kv::KvBackend,
    pub timers: timers::AppTimers,
    pub config: config::AppConfig,
}

/// The handler and the deployed version it runs, swapped together.
struct InstalledHandler {
    handler: Arc<dyn Handler>,
    version: Option<i64>,
}

impl App {
    pub fn new(
        slug: &str,
        id: i64,
        (handler, version): (Arc<dyn Handler>, Option<i64>),
        limits: AppLimits,
        base: &EngineSettings,
        AppData { kv, timers, config }: AppData,
        cluster: Arc<ClusterLink>,
    ) -> Arc<Self> {
        Arc::new(Self {
            slug: slug.into(),
            id,
            handler: ArcSwap::from_pointee(InstalledHandler { handler, version }),
            settings: ArcSwap::from_pointee(base.for_app(&limits)),
            limits: ArcSwap::from_pointee(limits),
            namespaces: RwLock::new(HashMap::new()),
            sockets: AtomicUsize::new(0),
            sessions: Arc::new(SessionTable::default()),
            metrics: AppMetrics::default(),
            kv,
            timers,
            config,
            log: log::AppLog::new(slug),
            cluster,
        })
    }

    /// A built-in app on a single node (benchmarks, tests).
    pub fn builtin(slug: &str, handler: Arc<dyn Handler>, base: &EngineSettings) -> Arc<Self> {
        Self::builtin_on(slug, handler, base, ClusterLink::local())
    }

    /// A built-in app (native handler, default limits, in-memory key-value,
    /// no config).
    pub fn builtin_on(
        slug: &str,
        handler: Arc<dyn Handler>,
        base: &EngineSettings,
        cluster: Arc<ClusterLink>,
    ) -> Arc<Self> {
        let limits = AppLimits {
            max_payload: base.max_payload as u64,
            ..AppLimits::default()
        };
        let kv = kv::KvBackend::Memory(kv::MemoryKv::new(kv::KvQuota {
            max_bytes: limits.kv_quota_bytes as usize,
            max_keys: 100_000,
        }));
        let data = AppData {
            kv,
            timers: timers::AppTimers::none(),
            config: config::AppConfig::empty(),
        };
        Self::new(slug, 0, (handler, None), limits, base, data, cluster)
    }

    /// The handler for the next event. Swapping it never touches a socket.
    pub fn handler(&self) -> Arc<dyn Handler> {
        self.handler.load().handler.clone()
    }

    /// The deployed version the handler runs (none for built-in apps).
    pub fn active_version(&self) -> Option<i64> {
        self.handler.load().version
    }

    pub fn set_handler(&self, handler: Arc<dyn Handler>, version: Option<i64>) {
        self.handler
            .store(Arc::new(InstalledHandler { handler, version }));
    }

    pub fn limits(&self) -> Arc<AppLimits> {
        self.limits.load_full()
    }

    /// New limits apply to new sessions (payload) and the next event (rates).
    pub fn set_limits(&self, limits: AppLimits, base: &EngineSettings) {
        self.settings.store(Arc::new(base.for_app(&limits)));
        self.limits.store(Arc::new(limits));
    }

    pub fn settings(&self) -> Arc<EngineSettings> {
        self.settings.load_full()
    }

    /// The namespace `name`, created if the app is under its
    /// `max_namespaces`; `None` when it is at the limit. Empty namespaces
    /// nobody holds are dropped first, so only live ones count.
    pub fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        if let Some(nsp) = self.namespaces.read().get(name) {
            return Some(nsp.clone());
        }
        let max = usize::try_from(self.limits().max_namespaces).unwrap_or(usize::MAX);
        let mut namespaces = self.namespaces.write();
        if let Some(nsp) = namespaces.get(name) {
            return Some(nsp.clone());
        }
        if namespaces.len() >= max {
            namespaces.retain(|_, n| !Self::unused(n));
            if namespaces.len() >= max {
                return None;
            }
        }
        let nsp = Arc::new(Namespace::new(name));
        namespaces.insert(name.into(), nsp.clone());
        Some(nsp)
    }

    /// Nobody is in it and nobody but the app's table holds it (a socket
    /// waiting for its connect hook holds its namespace).
    fn unused(nsp: &Arc<Namespace>) -> bool {
        nsp.is_empty() && Arc::strong_count(nsp) == 1
    }

    /// A join the app's limits refused: counted, and said in the app's log
    /// (the handler's `join` returns false).
    pub fn refused_join(&self, room: &str, why: crate::socket::JoinError) {
        self.metrics.breach_rooms.inc();
        let shown: String = room.chars().take(64).collect();
        let more = if shown.len() < room.len() { "…" } else { "" };
        self.log.write(
            eddy_host::types::Level::Warn,
            &format!("join of room {shown:?}{more} refused: {why}"),
        );
    }

    /// Its namespaces now, by name.
    pub fn namespaces(&self) -> Vec<Arc<Namespace>> {
        let mut all: Vec<_> = self.namespaces.read().values().cloned().collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    /// A connected socket, by namespace and id.
    pub fn socket(&self, namespace: &str, id: &str) -> Option<Arc<crate::socket::Socket>> {
        self.existing_namespace(namespace)?.socket(id)
    }

    /// The namespace if it exists (without creating it).
    pub fn existing_namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.namespaces.read().get(name).cloned()
    }

    /// Drops a namespace nobody is in, so names do not accumulate: refused
    /// ones, and ones whose last socket left.
    pub fn prune_namespace(&self, name: &str) {
        let mut namespaces = self.namespaces.write();
        if namespaces.get(name).is_some_and(Self::unused) {
            namespaces.remove(name);
        }
    }

    /// Sockets connected to any namespace of the app, on this node.
    pub fn socket_count(&self) -> usize {
        self.sockets.load(Ordering::Relaxed)
    }

    /// Sockets connected to the app on every node (others' counts are up
    /// to a second old).
    pub fn cluster_socket_count(&self) -> usize {
        self.socket_count() + self.cluster.remote_connections(&self.slug)
    }

    pub(crate) fn socket_joined(&self) {
        self.sockets.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn socket_left(&self) {
        self.sockets.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The set of apps, replaced atomically.
pub(crate) struct Tenants {
    apps: ArcSwap<HashMap<Arc<str>, Arc<App>>>,
}

impl Tenants {
    pub(crate) fn new(apps: impl IntoIterator<Item = Arc<App>>) -> Self {
        let map = apps.into_iter().map(|a| (a.slug.clone(), a)).collect();
        Self {
            apps: ArcSwap::from_pointee(map),
        }
    }

    pub(crate) fn get(&self, slug: &str) -> Option<Arc<App>> {
        self.apps.load().get(slug).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<App>> {
        let mut apps: Vec<_> = self.apps.load().values().cloned().collect();
        apps.sort_by(|a, b| a.slug.cmp(&b.slug));
        apps
    }

    /// Adds (or replaces) an app.
    pub(crate) fn insert(&self, app: Arc<App>) {
        self.apps.rcu(|apps| {
            let mut next = HashMap::clone(apps);
            next.insert(app.slug.clone(), app.clone());
            next
        });
    }

    /// Removes an app; returns it so its sessions can be closed.
    pub(crate) fn remove(&self, slug: &str) -> Option<Arc<App>> {
        let mut removed = None;
        self.apps.rcu(|apps| {
            let mut next = HashMap::clone(apps);
            removed = next.remove(slug);
            next
        });
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EngineSettings {
        EngineSettings::from_config(&crate::config::Config::default())
    }

    #[test]
    fn refused_namespaces_are_pruned() {
        let app = App::builtin(
            "demo",
            crate::dispatch::builtin(crate::config::BuiltinHandler::Echo),
            &settings(),
        );
        let nsp = app.namespace("/x").unwrap();
        assert!(Arc::ptr_eq(&nsp, &app.namespace("/x").unwrap()));
        app.prune_namespace("/x");
        assert_eq!(app.namespaces.read().len(), 1, "still referenced");
        drop(nsp);
        app.prune_namespace("/x");
        assert!(app.namespaces.read().is_empty());
    }

    #[test]
    fn namespaces_are_capped_and_unused_ones_make_room() {
        let app = App::builtin(
            "demo",
            crate::dispatch::builtin(crate::config::BuiltinHandler::Echo),
            &settings(),
        );
        let limits = AppLimits {
            max_namespaces: 2,
            ..AppLimits::default()
        };
        app.set_limits(limits, &settings());
        let a = app.namespace("/a").unwrap();
        let b = app.namespace("/b").unwrap();
        assert!(
            app.namespace("/c").is_none(),
            "two held namespaces fill the limit"
        );
        assert!(
            app.namespace("/a").is_some(),
            "an existing one is still found"
        );
        drop(b);
        assert!(
            app.namespace("/c").is_some(),
            "an unused one was dropped for it"
        );
        assert_eq!(app.namespaces().len(), 2);
        drop(a);
    }

    #[test]
    fn tenants_insert_and_remove() {
        let tenants = Tenants::new([]);
        let echo = crate::dispatch::builtin(crate::config::BuiltinHandler::Echo);
        tenants.insert(App::builtin("a", echo.clone(), &settings()));
        tenants.insert(App::builtin("b", echo, &settings()));
        assert_eq!(tenants.all().len(), 2);
        assert!(tenants.remove("a").is_some());
        assert!(tenants.get("a").is_none());
        assert!(tenants.remove("a").is_none());
    }

    #[test]
    fn app_limits_shape_its_sessions() {
        let app = App::builtin(
            "a",
            crate::dispatch::builtin(crate::config::BuiltinHandler::Echo),
            &settings(),
        );
        let limits = AppLimits {
            max_payload: 1234,
            ..AppLimits::default()
        };
        app.set_limits(limits, &settings());
        assert_eq!(app.settings().max_payload, 1234);
        assert_eq!(app.limits().max_payload, 1234);
    }
}
