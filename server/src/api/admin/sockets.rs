//! The sockets an app has connected on this node: who they are, where they
//! are, and a way to disconnect one.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, Principal};
use crate::session::Transport;
use crate::socket::Socket;
use crate::state::ServerState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    /// Only this namespace (default: all of them).
    #[serde(default)]
    pub namespace: Option<String>,
    /// At most this many (1–1000, default 200).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SocketList {
    /// Sockets connected (in the namespace asked for), on this node.
    pub total: usize,
    /// Up to `limit` of them.
    pub sockets: Vec<SocketInfo>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SocketInfo {
    pub id: String,
    pub namespace: String,
    /// Rooms joined (besides the socket's own).
    pub rooms: Vec<String>,
    /// `websocket` or `polling`.
    pub transport: &'static str,
    /// The client's address: the first `X-Forwarded-For` entry behind a
    /// proxy, else the peer address.
    pub address: Option<String>,
    /// When it joined, in milliseconds since the Unix epoch.
    pub connected_at_ms: u64,
}

impl SocketInfo {
    fn of(socket: &Socket) -> Self {
        let session = socket.session();
        let address = session.as_ref().and_then(|s| {
            let forwarded = s
                .handshake
                .headers
                .iter()
                .find(|(name, _)| name == "x-forwarded-for")
                .and_then(|(_, v)| v.split(',').next())
                .map(|v| v.trim().to_owned());
            forwarded.or_else(|| s.handshake.remote.map(|a| a.to_string()))
        });
        Self {
            id: socket.id().to_owned(),
            namespace: socket.namespace().name().to_owned(),
            rooms: socket.rooms(),
            transport: match session.map(|s| s.transport()) {
                Some(Transport::WebSocket) => "websocket",
                _ => "polling",
            },
            address,
            connected_at_ms: socket.connected_ms(),
        }
    }
}

#[utoipa::path(get, path = "/apps/{slug}/sockets", tag = "sockets", security(("admin_token" = [])),
    params(("slug" = String, Path), ListParams),
    responses((status = 200, body = SocketList), (status = 404, body = crate::api::Problem)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<SocketList>, ApiError> {
    let app = super::live_app(&state, &slug)?;
    let limit = params.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let namespaces = match &params.namespace {
        Some(name) => app.existing_namespace(name).into_iter().collect(),
        None => app.namespaces(),
    };
    let total = namespaces.iter().map(|n| n.len()).sum();
    let mut sockets = Vec::new();
    for nsp in namespaces {
        let room = limit - sockets.len();
        if room == 0 {
            break;
        }
        sockets.extend(nsp.sockets(room).iter().map(|s| SocketInfo::of(s)));
    }
    // Oldest first, then by id: a stable order for people and tests.
    sockets.sort_by(|a, b| (a.connected_at_ms, &a.id).cmp(&(b.connected_at_ms, &b.id)));
    Ok(axum::Json(SocketList { total, sockets }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct NamespaceParam {
    /// The socket's namespace (default `/`).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Disconnects a socket: the client gets a server-side DISCONNECT (so it
/// does not reconnect by itself) and the app's disconnect hook runs.
#[utoipa::path(delete, path = "/apps/{slug}/sockets/{id}", tag = "sockets", security(("admin_token" = [])),
    params(("slug" = String, Path), ("id" = String, Path), NamespaceParam),
    responses((status = 204), (status = 404, body = crate::api::Problem)))]
pub(super) async fn disconnect(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path((slug, id)): Path<(String, String)>,
    Query(params): Query<NamespaceParam>,
) -> Result<StatusCode, ApiError> {
    let app = super::live_app(&state, &slug)?;
    let namespace = params.namespace.unwrap_or_else(|| "/".into());
    let target = app.socket(&namespace, &id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no socket {id:?} in namespace {namespace} of {slug} on this node (it may have left already)"
        ))
    })?;
    crate::dispatch::disconnect_by_server(target);
    let detail = serde_json::json!({ "socket": id, "namespace": namespace });
    if let Err(error) = state
        .control
        .store
        .audit(&principal.actor(), "socket.disconnect", Some(&slug), detail)
        .await
    {
        tracing::warn!(%error, "cannot record a socket disconnect");
    }
    Ok(StatusCode::NO_CONTENT)
}
