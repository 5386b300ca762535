//! The cluster as this node sees it: the nodes alive, their sockets, and
//! the broker's health.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;

use crate::http::ServerState;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClusterView {
    pub broker: BrokerView,
    /// This node first, then the others by name.
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BrokerView {
    /// `local`, `redis` or `nats`.
    pub kind: &'static str,
    /// Publishing and receiving both work (always true for `local`).
    pub up: bool,
    pub published: u64,
    pub received: u64,
    /// Messages for other nodes lost while the broker was away or behind.
    pub dropped: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NodeView {
    pub id: String,
    pub name: String,
    /// The node that answered.
    pub this_node: bool,
    pub started_ms: u64,
    /// Sockets connected, all apps.
    pub connections: u64,
    /// Sockets per app.
    pub apps: BTreeMap<String, u64>,
    /// Milliseconds since its last heartbeat (0 for this node).
    pub last_seen_ms_ago: u64,
}

impl ClusterView {
    pub fn of(state: &ServerState) -> Self {
        let cluster = &state.cluster.cluster;
        let status = cluster.status();
        let apps: BTreeMap<String, u64> = state
            .tenants
            .all()
            .iter()
            .map(|a| (a.slug.to_string(), a.socket_count() as u64))
            .collect();
        let mut nodes = vec![NodeView {
            id: cluster.id().to_string(),
            name: cluster.name().to_owned(),
            this_node: true,
            started_ms: cluster.started_ms(),
            connections: apps.values().sum(),
            apps,
            last_seen_ms_ago: 0,
        }];
        for peer in cluster.peers() {
            nodes.push(NodeView {
                id: peer.id.to_string(),
                name: peer.name,
                this_node: false,
                started_ms: peer.started_ms,
                connections: peer.apps.values().sum(),
                apps: peer.apps.into_iter().collect(),
                last_seen_ms_ago: peer.last_seen.elapsed().as_millis() as u64,
            });
        }
        Self {
            broker: BrokerView {
                kind: status.broker,
                up: status.up,
                published: status.published,
                received: status.received,
                dropped: status.dropped,
                reconnects: status.reconnects,
                last_error: status.last_error,
            },
            nodes,
        }
    }
}

/// The nodes of the cluster and the broker's health, as this node sees them.
#[utoipa::path(get, path = "/cluster", tag = "observe", security(("admin_token" = [])),
    responses((status = 200, body = ClusterView)))]
pub async fn cluster(State(state): State<Arc<ServerState>>) -> axum::Json<ClusterView> {
    axum::Json(ClusterView::of(&state))
}
