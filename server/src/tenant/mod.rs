//! Tenants: the apps this node serves, as an immutable snapshot the data
//! plane reads without locks and the control plane replaces whole.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::RwLock;

pub mod kv;
pub mod log;

use crate::dispatch::Handler;
use crate::metrics::AppMetrics;
use crate::session::SessionTable;
use crate::socket::Namespace;

/// One app's live state on this node.
pub struct App {
    pub slug: Arc<str>,
    handler: ArcSwap<InstalledHandler>,
    namespaces: RwLock<HashMap<Arc<str>, Arc<Namespace>>>,
    pub sessions: Arc<SessionTable>,
    pub metrics: AppMetrics,
    pub kv: kv::MemoryKv,
    pub log: log::AppLog,
}

struct InstalledHandler(Arc<dyn Handler>);

impl App {
    pub fn new(slug: &str, handler: Arc<dyn Handler>) -> Arc<Self> {
        Arc::new(Self {
            slug: slug.into(),
            handler: ArcSwap::from_pointee(InstalledHandler(handler)),
            namespaces: RwLock::new(HashMap::new()),
            sessions: Arc::new(SessionTable::default()),
            metrics: AppMetrics::default(),
            kv: kv::MemoryKv::new(kv::KvQuota::default()),
            log: log::AppLog::new(slug),
        })
    }

    /// The handler for the next event. Swapping it never touches a socket.
    pub fn handler(&self) -> Arc<dyn Handler> {
        self.handler.load().0.clone()
    }

    pub fn set_handler(&self, handler: Arc<dyn Handler>) {
        self.handler.store(Arc::new(InstalledHandler(handler)));
    }

    pub fn namespace(&self, name: &str) -> Arc<Namespace> {
        if let Some(nsp) = self.namespaces.read().get(name) {
            return nsp.clone();
        }
        self.namespaces
            .write()
            .entry(name.into())
            .or_insert_with(|| Arc::new(Namespace::new(name)))
            .clone()
    }

    /// Drops a namespace nobody is in, so refused namespace names do not accumulate.
    pub fn prune_namespace(&self, name: &str) {
        let mut namespaces = self.namespaces.write();
        if namespaces
            .get(name)
            .is_some_and(|n| n.is_empty() && Arc::strong_count(n) == 1)
        {
            namespaces.remove(name);
        }
    }

    pub fn socket_count(&self) -> usize {
        self.namespaces.read().values().map(|n| n.len()).sum()
    }
}

/// The set of apps, replaced atomically.
pub struct Tenants {
    apps: ArcSwap<HashMap<Arc<str>, Arc<App>>>,
}

impl Tenants {
    pub fn new(apps: impl IntoIterator<Item = Arc<App>>) -> Self {
        let map = apps.into_iter().map(|a| (a.slug.clone(), a)).collect();
        Self {
            apps: ArcSwap::from_pointee(map),
        }
    }

    pub fn get(&self, slug: &str) -> Option<Arc<App>> {
        self.apps.load().get(slug).cloned()
    }

    pub fn all(&self) -> Vec<Arc<App>> {
        let mut apps: Vec<_> = self.apps.load().values().cloned().collect();
        apps.sort_by(|a, b| a.slug.cmp(&b.slug));
        apps
    }
}

/// A slug is 1–63 characters of `a-z`, `0-9` and `-`, not starting or
/// ending with `-`: it appears in URLs, metric labels and broker subjects.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid app slug {slug:?}: use 1-63 lowercase letters, digits and '-', not starting or ending with '-'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["demo", "a", "chat-2", "0x"] {
            assert!(validate_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "Chat", "a b", "a_b", "é", &"a".repeat(64)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refused_namespaces_are_pruned() {
        let app = App::new("demo", crate::dispatch::builtin("echo").unwrap());
        let nsp = app.namespace("/x");
        assert!(Arc::ptr_eq(&nsp, &app.namespace("/x")));
        app.prune_namespace("/x");
        assert_eq!(app.namespaces.read().len(), 1, "still referenced");
        drop(nsp);
        app.prune_namespace("/x");
        assert!(app.namespaces.read().is_empty());
    }
}
