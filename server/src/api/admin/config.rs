//! `/apps/{slug}/config`: an app's config variables and secrets, which its
//! handlers read with `config.get(name)`. Secrets are write-only: listed by
//! name, never returned, encrypted before they are stored.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::{ApiError, ApiJson, Principal};
use crate::control::ConfigView;
use crate::state::ServerState;

/// A value to set.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetConfig {
    /// UTF-8 text, at most 65536 bytes (for a secret: before encryption).
    pub value: String,
    /// A secret: encrypted at rest, never returned by the API (the server
    /// needs `EDDY_SECRET_KEY`). Default `false`.
    #[serde(default)]
    pub secret: bool,
}

/// Never prints the value.
impl std::fmt::Debug for SetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetConfig")
            .field("bytes", &self.value.len())
            .field("secret", &self.secret)
            .finish()
    }
}

#[utoipa::path(get, path = "/apps/{slug}/config", tag = "config", security(("admin_token" = [])),
    params(("slug" = String, Path)),
    responses((status = 200, body = Vec<ConfigView>), (status = 404, body = crate::api::Problem)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
) -> Result<axum::Json<Vec<ConfigView>>, ApiError> {
    Ok(axum::Json(state.control.config_list(&slug).await?))
}

#[utoipa::path(put, path = "/apps/{slug}/config/{name}", tag = "config", security(("admin_token" = [])),
    params(("slug" = String, Path), ("name" = String, Path, description = "1 to 128 of A-Z a-z 0-9 _ . -")),
    request_body = SetConfig,
    responses((status = 204, description = "Set; handlers on every node read it within a second"),
        (status = 404, body = crate::api::Problem),
        (status = 422, description = "A bad name or value (`invalid`), 256 entries already (`quota_exceeded`), or a secret on a server without a secret key (`secret_key_missing`)", body = crate::api::Problem)))]
pub(super) async fn set(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path((slug, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetConfig>,
) -> Result<StatusCode, ApiError> {
    state
        .control
        .config_set(&slug, &name, &body.value, body.secret, &principal.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/apps/{slug}/config/{name}", tag = "config", security(("admin_token" = [])),
    params(("slug" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 404, body = crate::api::Problem)))]
pub(super) async fn delete(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path((slug, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .control
        .config_delete(&slug, &name, &principal.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
