//! The admin REST API under `/admin/api/v1`, for operators: apps and their
//! limits and keys, deployments, live stats, key-value data, the audit log,
//! admin tokens. Bearer-token authentication; problem+json errors; an
//! OpenAPI document generated from these handlers at `openapi.json`.

mod apps;
mod deployments;
pub mod error;
mod observe;
mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

pub use error::ApiError;

use crate::http::ServerState;

/// Who made an admin call: the label of their token (written to the audit log).
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// A JSON body whose rejections are problem+json like every other error.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

pub fn router(state: Arc<ServerState>) -> Router<Arc<ServerState>> {
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
        .route("/audit", get(observe::audit))
        .route("/tokens", post(observe::create_token))
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
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized("send the admin token as `Authorization: Bearer <token>`")
        })?;
    let record = state
        .control
        .store
        .check_admin_token(token)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::unauthorized("the admin token is not valid"))?;
    request.extensions_mut().insert(Actor(record.label));
    Ok(next.run(request).await)
}
