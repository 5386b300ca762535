//! The tenant server API, for an app's own backend: emit to a room, a
//! socket or a whole namespace (optionally waiting for a socket's ack), read
//! room sizes, disconnect a socket. Routes live under
//! `/apps/{slug}/api/v1/`; authentication is the app's secret as a bearer
//! token. Like Pusher's and Centrifugo's server APIs.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, ProblemCode, live_app};
use crate::dispatch::Target;
use crate::socket::{AckError, encode_event};
use crate::state::ServerState;

/// Longest a caller may wait for a socket's ack.
const MAX_ACK_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn router(state: Arc<ServerState>) -> Router<Arc<ServerState>> {
    Router::new()
        .route("/apps/{slug}/api/v1/emit", post(emit))
        .route("/apps/{slug}/api/v1/rooms/{room}", get(room))
        .route("/apps/{slug}/api/v1/sockets/{socket}", delete(disconnect))
        .layer(axum::middleware::from_fn_with_state(state, require_secret))
}

/// Checks `Authorization: Bearer <app secret>` for the app in the path.
async fn require_secret(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let slug = request
        .uri()
        .path()
        .strip_prefix("/apps/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let secret = super::bearer_token(
        request.headers(),
        "send the app secret as `Authorization: Bearer <secret>`",
    )?;
    let valid = state
        .control
        .store
        .check_app_secret(&slug, secret)
        .await
        .map_err(ApiError::internal)?;
    if !valid {
        return Err(ApiError::unauthorized(
            "the app secret is not valid for this app",
        ));
    }
    Ok(next.run(request).await)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmitRequest {
    /// The namespace (default `/`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Recipients: one room, several rooms, or one socket; none of them
    /// means the whole namespace.
    #[serde(default)]
    pub room: Option<String>,
    #[serde(default)]
    pub rooms: Option<Vec<String>>,
    #[serde(default)]
    pub socket: Option<String>,
    /// Rooms (or socket ids) to leave out.
    #[serde(default)]
    pub except: Vec<String>,
    pub event: String,
    /// The event's arguments.
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    /// With `socket`: wait this long for the client's ack and return it.
    #[serde(default)]
    pub ack_timeout_ms: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EmitResult {
    /// Sockets the event was queued for (on this node).
    pub delivered: usize,
    /// The client's ack arguments, when one was awaited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<serde_json::Value>,
}

async fn emit(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
    ApiJson(request): ApiJson<EmitRequest>,
) -> Result<axum::Json<EmitResult>, ApiError> {
    let app = live_app(&state, &slug)?;
    if request.event.is_empty()
        || eddy_proto::socketio::RESERVED_EVENTS.contains(&request.event.as_str())
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::InvalidEvent,
            "the event name is empty or reserved by Socket.IO",
        ));
    }
    let targets = [
        request.room.is_some(),
        request.rooms.is_some(),
        request.socket.is_some(),
    ];
    if targets.iter().filter(|t| **t).count() > 1 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::InvalidTarget,
            "give at most one of `room`, `rooms` and `socket`",
        ));
    }
    let args = serde_json::Value::Array(request.args).to_string();
    let max = app.limits().max_payload as usize;
    if args.len() + request.event.len() > max {
        app.metrics.breach_payload.inc();
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::TooLarge,
            format!("the event is larger than the app's max_payload of {max} bytes"),
        ));
    }
    let nsp_name = request.namespace.as_deref().unwrap_or("/");
    let local = app.existing_namespace(nsp_name);
    if let Some(timeout_ms) = request.ack_timeout_ms {
        let Some(id) = &request.socket else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::InvalidTarget,
                "waiting for an ack needs one `socket`",
            ));
        };
        // (An ack comes back only to the node that asked: the socket must be here.)
        let socket = local
            .as_ref()
            .and_then(|nsp| nsp.socket(id))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no socket {id:?} in {nsp_name} on this node (waiting for an ack needs the socket's own node)"
                ))
            })?;
        let wait = Duration::from_millis(timeout_ms).min(MAX_ACK_WAIT);
        return match socket.emit_with_ack(&request.event, &args, &[], wait).await {
            Ok(ack) => Ok(axum::Json(EmitResult {
                delivered: 1,
                ack: serde_json::from_str(&ack.args).ok(),
            })),
            Err(AckError::Timeout) => Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                ProblemCode::AckTimeout,
                "the client did not acknowledge in time",
            )),
            Err(AckError::Disconnected) => Err(ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::Disconnected,
                "the socket disconnected before acknowledging",
            )),
        };
    }
    let head = encode_event(nsp_name, &request.event, None, &args, 0)
        .ok_or_else(|| ApiError::internal("encode"))?;
    let except: Vec<&str> = request.except.iter().map(String::as_str).collect();
    let rooms: Option<Vec<&str>> = match (&request.room, &request.rooms) {
        (Some(room), _) => Some(vec![room.as_str()]),
        (_, Some(rooms)) => Some(rooms.iter().map(String::as_str).collect()),
        _ => None,
    };
    let to = match (&request.socket, &rooms) {
        (Some(id), _) => Target::Socket(id),
        (None, Some(rooms)) => Target::Rooms {
            rooms,
            except: &except,
        },
        (None, None) => Target::Namespace { except: &except },
    };
    let delivered =
        crate::dispatch::fanout::emit(&app, nsp_name, local.as_deref(), to, None, head, &[]);
    Ok(axum::Json(EmitResult {
        delivered,
        ack: None,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceParam {
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RoomInfo {
    pub namespace: String,
    pub room: String,
    /// Members on every node (other nodes' counts are a moment old).
    pub size: usize,
    /// The members' socket ids on the node that answered.
    pub members: Vec<String>,
}

async fn room(
    State(state): State<Arc<ServerState>>,
    Path((slug, room)): Path<(String, String)>,
    Query(params): Query<NamespaceParam>,
) -> Result<axum::Json<RoomInfo>, ApiError> {
    let app = live_app(&state, &slug)?;
    let namespace = params.namespace.unwrap_or_else(|| "/".into());
    let (local, members) = match app.existing_namespace(&namespace) {
        Some(nsp) => (nsp.room_size(&room), nsp.room_members(&room)),
        None => (0, Vec::new()),
    };
    let size = local + app.cluster.remote_room_size(&slug, &namespace, &room);
    Ok(axum::Json(RoomInfo {
        namespace,
        room,
        size,
        members,
    }))
}

async fn disconnect(
    State(state): State<Arc<ServerState>>,
    Path((slug, socket)): Path<(String, String)>,
    Query(params): Query<NamespaceParam>,
) -> Result<Response, ApiError> {
    let app = live_app(&state, &slug)?;
    let namespace = params.namespace.unwrap_or_else(|| "/".into());
    let target = app
        .socket(&namespace, &socket)
        .ok_or_else(|| ApiError::not_found(format!("no socket {socket:?} in {namespace}")))?;
    crate::dispatch::disconnect_by_server(target);
    Ok(StatusCode::NO_CONTENT.into_response())
}
