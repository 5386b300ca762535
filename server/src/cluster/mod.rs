//! This node in a cluster: the data plane's handle on `eddy-cluster`
//! ([`ClusterLink`]: publish, remote counts, membership changes to follow)
//! and the node's background tasks ([`node`]: heartbeats, interest,
//! applying what other nodes send).

pub(crate) mod node;

use std::collections::HashSet;
use std::sync::Arc;

use eddy_cluster::{BrokerUrl, Cluster, Options};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::config::Config;

/// This node's cluster options, from the config (whose `broker_url` was
/// checked when it was read).
pub(crate) fn options(config: &Config) -> Result<Options, String> {
    Ok(Options {
        broker: BrokerUrl::parse(&config.broker_url).map_err(|e| format!("broker_url: {e}"))?,
        prefix: config.broker_prefix.clone(),
        node_name: config
            .node_name
            .clone()
            .unwrap_or_else(|| config.listen.to_string()),
    })
}

/// A room (or, with no room, a namespace) whose local membership changed:
/// its topic may need following or leaving, and other nodes its new count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Changed {
    pub app: Arc<str>,
    pub namespace: Arc<str>,
    pub room: Option<Arc<str>>,
}

/// What the data plane sees of the cluster. On a single node (`local`)
/// every call is a cheap no-op.
pub struct ClusterLink {
    pub cluster: Arc<Cluster>,
    changed: Mutex<HashSet<Changed>>,
    wake: Notify,
}

impl ClusterLink {
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(Self {
            cluster,
            changed: Mutex::new(HashSet::new()),
            wake: Notify::new(),
        })
    }

    /// A single node's link (built-in apps, tests, benchmarks).
    pub fn local() -> Arc<Self> {
        let (cluster, _) = Cluster::start(Options {
            broker: BrokerUrl::Local,
            prefix: "eddy".into(),
            node_name: "local".into(),
        })
        .expect("a local cluster always starts");
        Self::new(cluster)
    }

    pub fn is_clustered(&self) -> bool {
        self.cluster.is_clustered()
    }

    /// Other nodes are alive: what is sent to rooms must be published.
    pub fn has_peers(&self) -> bool {
        self.cluster.has_peers()
    }

    /// A socket joined or left `room`.
    pub fn room_changed(&self, app: &Arc<str>, namespace: &Arc<str>, room: &Arc<str>) {
        if !self.is_clustered() {
            return;
        }
        self.mark(Changed {
            app: app.clone(),
            namespace: namespace.clone(),
            room: Some(room.clone()),
        });
    }

    /// A socket joined or left the namespace.
    pub fn namespace_changed(&self, app: &Arc<str>, namespace: &Arc<str>) {
        if !self.is_clustered() {
            return;
        }
        self.mark(Changed {
            app: app.clone(),
            namespace: namespace.clone(),
            room: None,
        });
    }

    /// Called only when clustered: a single node builds no change record
    /// (and clones no names) on every join and leave.
    fn mark(&self, changed: Changed) {
        self.changed.lock().insert(changed);
        self.wake.notify_one();
    }

    pub(crate) fn take_changed(&self) -> HashSet<Changed> {
        std::mem::take(&mut *self.changed.lock())
    }

    pub(crate) async fn changes(&self) {
        self.wake.notified().await;
    }

    /// Members of a room on the other nodes.
    pub fn remote_room_size(&self, app: &str, namespace: &str, room: &str) -> usize {
        self.cluster.remote_room_size(app, namespace, room) as usize
    }

    /// Sockets of an app on the other nodes.
    pub fn remote_connections(&self, app: &str) -> usize {
        self.cluster.remote_connections(app) as usize
    }

    /// The prefix of this node's socket ids (empty on a single node).
    pub fn socket_id_prefix(&self) -> &str {
        if self.is_clustered() {
            self.cluster.tag()
        } else {
            ""
        }
    }
}
