//! `/tokens`: list admin tokens (never their secrets), create one (shown
//! once, optionally expiring), revoke one (the next call with it gets 401).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use eddy_store::AdminToken;
use serde::{Deserialize, Serialize};

use super::{Actor, ApiError, ApiJson, ProblemCode};
use crate::state::ServerState;

/// The longest expiry a token can be given: ten years, in seconds.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    /// Who or what the token is for (shown in the list and the audit log).
    pub label: String,
    /// Seconds until it stops working (default: it does not expire).
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CreatedToken {
    pub id: i64,
    pub label: String,
    pub expires_at: Option<i64>,
    /// The token; shown here once.
    pub token: String,
}

#[utoipa::path(get, path = "/tokens", tag = "tokens", security(("admin_token" = [])),
    responses((status = 200, description = "Every admin token, revoked and expired ones included; never a secret",
        body = Vec<AdminToken>)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
) -> Result<axum::Json<Vec<AdminToken>>, ApiError> {
    Ok(axum::Json(state.control.store.admin_tokens().await?))
}

#[utoipa::path(post, path = "/tokens", tag = "tokens", security(("admin_token" = [])), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = crate::api::Problem)))]
pub(super) async fn create(
    State(state): State<Arc<ServerState>>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<impl IntoResponse, ApiError> {
    let label = body.label.trim();
    if label.is_empty() || label.len() > 100 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::Invalid,
            "a token label is 1 to 100 characters",
        ));
    }
    let expires_at = match body.expires_in_seconds {
        None => None,
        Some(s @ 1..=MAX_EXPIRES_IN) => Some(eddy_store::now_ms() + s as i64 * 1000),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::Invalid,
                format!("expires_in_seconds is 1 to {MAX_EXPIRES_IN} (ten years)"),
            ));
        }
    };
    let (record, token) = state
        .control
        .store
        .create_admin_token(label, expires_at, &actor.0)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            id: record.id,
            label: record.label,
            expires_at: record.expires_at,
            token: token.expose().to_owned(),
        }),
    ))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", security(("admin_token" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, description = "Revoked (at once, on every node)", body = AdminToken),
        (status = 404, body = crate::api::Problem)))]
pub(super) async fn revoke(
    State(state): State<Arc<ServerState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Result<axum::Json<AdminToken>, ApiError> {
    Ok(axum::Json(
        state.control.store.revoke_admin_token(id, &actor.0).await?,
    ))
}
