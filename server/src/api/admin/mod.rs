//! The admin REST API under `/admin/api/v1`, for operators: apps and their
//! limits and keys, deployments, live stats, key-value data, the audit log,
//! admin tokens. Bearer-token authentication; problem+json errors; an
//! OpenAPI document generated from these handlers at `openapi.json`.

mod apps;
mod deployments;
mod nodes;
mod observe;
mod openapi;
mod sockets;
mod stream;
mod tokens;
pub(crate) mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, post};
use tracing::Instrument;

use super::{ApiError, ApiJson, ProblemCode, live_app};
use crate::state::ServerState;

/// Who made an admin call: the label of their token (written to the audit log).
#[derive(Debug, Clone)]
pub(crate) struct Actor(pub String);

pub(crate) fn router(state: Arc<ServerState>) -> Router<Arc<ServerState>> {
    let authenticated = Router::new()
        .route("/apps", get(apps::list).post(apps::create))
        .route(
            "/apps/{slug}",
            get(apps::get).patch(apps::update).delete(apps::delete),
        )
        .route("/apps/{slug}/secret", post(apps::rotate_secret))
        .route(
            "/apps/{slug}/deployments",
            get(deployments::list).post(deployments::upload),
        )
        .route(
            "/apps/{slug}/deployments/{version}/activate",
            post(deployments::activate),
        )
        .route("/apps/{slug}/rollback", post(deployments::rollback))
        .route("/apps/{slug}/stats", get(observe::stats))
        .route("/apps/{slug}/kv", get(observe::kv))
        .route("/apps/{slug}/logs", get(stream::logs))
        .route("/apps/{slug}/logs/stream", get(stream::log_tail))
        .route("/apps/{slug}/sockets", get(sockets::list))
        .route("/apps/{slug}/sockets/{id}", delete(sockets::disconnect))
        .route("/stream", get(stream::live))
        .route("/cluster", get(nodes::cluster))
        .route("/audit", get(observe::audit))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .layer(axum::middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .merge(authenticated)
}

/// Checks the bearer token against the registry's (hashed) admin tokens.
async fn require_token(
    State(state): State<Arc<ServerState>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = super::bearer_token(
        request.headers(),
        "send the admin token as `Authorization: Bearer <token>`",
    )?;
    let record = state
        .control
        .store
        .check_admin_token(token)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::unauthorized("the admin token is not valid"))?;
    // Every admin call runs in a span (deploy steps log inside it); calls
    // that change something are logged when they finish.
    let method = request.method().clone();
    let span = tracing::info_span!(
        "admin",
        %method,
        path = %request.uri().path(),
        actor = %record.label,
    );
    request.extensions_mut().insert(Actor(record.label));
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let millis = started.elapsed().as_millis() as u64;
    if method == axum::http::Method::GET {
        tracing::debug!(parent: &span, status, millis, "admin call");
    } else {
        tracing::info!(parent: &span, status, millis, "admin call");
    }
    Ok(response)
}
