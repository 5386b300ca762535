//! The admin REST API under `/admin/api/v1`, for operators: apps and their
//! limits, keys and config, deployments, live stats, key-value data, the
//! audit log, admin tokens, tenants and their quotas. Bearer-token
//! authentication and authorization in one place (`access.rs`: every
//! route's permission); problem+json errors; an OpenAPI document generated
//! from these handlers at `openapi.json`.

pub(crate) mod access;
mod apps;
mod config;
mod deployments;
mod nodes;
mod observe;
mod openapi;
mod sockets;
mod stream;
mod tenants;
mod tokens;
pub(crate) mod ui;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post, put};

pub(crate) use access::Principal;

use super::{ApiError, ApiJson, ProblemCode, live_app};
use crate::state::ServerState;

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
        .route("/apps/{slug}/config", get(config::list))
        .route(
            "/apps/{slug}/config/{name}",
            put(config::set).delete(config::delete),
        )
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
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/tenants/{tenant}",
            get(tenants::get)
                .patch(tenants::update)
                .delete(tenants::delete),
        )
        .route("/whoami", get(tenants::whoami))
        .route("/platform", get(tenants::platform))
        .layer(axum::Extension(Arc::new(stream::OpenStreams::default())))
        .layer(axum::middleware::from_fn_with_state(
            state,
            access::authorize,
        ));
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .merge(authenticated)
}
