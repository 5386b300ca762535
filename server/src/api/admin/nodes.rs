//! The cluster as this node sees it: the nodes alive, their sockets, and
//! the broker's health.

use std::sync::Arc;

use axum::extract::State;

use crate::live::ClusterView;
use crate::state::ServerState;

/// The nodes of the cluster and the broker's health, as this node sees them.
#[utoipa::path(get, path = "/cluster", tag = "observe", security(("admin_token" = [])),
    responses((status = 200, body = ClusterView)))]
pub(super) async fn cluster(State(state): State<Arc<ServerState>>) -> axum::Json<ClusterView> {
    axum::Json(ClusterView::of(&state.tenants, &state.cluster.cluster))
}
