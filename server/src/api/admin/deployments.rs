//! `/apps/{slug}/deployments`: upload (the deploy pipeline), list, activate
//! a version, roll back.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use eddy_store::Deployment;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;

use super::{ApiError, Principal};
use crate::control::DeployReport;
use crate::state::ServerState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct UploadParams {
    /// Make the new version live right away (default true).
    #[serde(default)]
    pub activate: Option<bool>,
    /// Free text stored with the version.
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RollbackRequest {
    /// The version to go back to (default: the one live before the current one).
    #[serde(default)]
    pub version: Option<i64>,
}

#[utoipa::path(get, path = "/apps/{slug}/deployments", tag = "deployments", security(("admin_token" = [])),
    params(("slug" = String, Path)), responses((status = 200, body = Vec<Deployment>), (status = 404, body = crate::api::Problem)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
) -> Result<axum::Json<Vec<Deployment>>, ApiError> {
    Ok(axum::Json(state.control.store.deployments(&slug).await?))
}

/// Uploads a component (the request body, `application/wasm`) as the app's
/// next version, through the whole deploy pipeline.
#[utoipa::path(post, path = "/apps/{slug}/deployments", tag = "deployments", security(("admin_token" = [])),
    params(("slug" = String, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = DeployReport), (status = 413, body = crate::api::Problem),
        (status = 422, description = "refused by a pipeline step (`step` says which)", body = crate::api::Problem)))]
pub(super) async fn upload(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
    Query(params): Query<UploadParams>,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let max = state.config.max_component_bytes;
    let bytes = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return Err(state
                .control
                .refuse_oversized(&slug, &principal.actor(), max + 1)
                .await
                .into());
        }
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "the upload was interrupted: {e}"
            )));
        }
    };
    let report = state
        .control
        .deploy(
            &slug,
            bytes.to_vec(),
            params.notes.as_deref().unwrap_or(""),
            params.activate.unwrap_or(true),
            &principal.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(report)))
}

#[utoipa::path(post, path = "/apps/{slug}/deployments/{version}/activate", tag = "deployments",
    security(("admin_token" = [])), params(("slug" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = Deployment), (status = 404, body = crate::api::Problem)))]
pub(super) async fn activate(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path((slug, version)): Path<(String, i64)>,
) -> Result<axum::Json<Deployment>, ApiError> {
    Ok(axum::Json(
        state
            .control
            .activate(&slug, version, &principal.actor())
            .await?,
    ))
}

#[utoipa::path(post, path = "/apps/{slug}/rollback", tag = "deployments", security(("admin_token" = [])),
    params(("slug" = String, Path)), request_body = RollbackRequest,
    responses((status = 200, body = Deployment), (status = 422, body = crate::api::Problem)))]
pub(super) async fn rollback(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
    body: axum::body::Bytes,
) -> Result<axum::Json<Deployment>, ApiError> {
    // The body is optional: empty means "the previous version".
    let request: RollbackRequest = if body.is_empty() {
        RollbackRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                super::ProblemCode::InvalidJson,
                e.to_string(),
            )
        })?
    };
    let deployment = match request.version {
        Some(version) => {
            state
                .control
                .activate(&slug, version, &principal.actor())
                .await?
        }
        None => state.control.rollback(&slug, &principal.actor()).await?,
    };
    Ok(axum::Json(deployment))
}
