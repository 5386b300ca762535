//! `/tokens`: list admin tokens (never their secrets), create one (shown
//! once, with a role and scope no wider than the creator's, optionally
//! expiring), revoke one (the next call with it gets 401, on every node:
//! every call reads the registry).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use eddy_store::{AdminToken, Role};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Principal, ProblemCode, access};
use crate::state::ServerState;

/// The longest expiry a token can be given: ten years, in seconds.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    /// Who or what the token is for (shown in the list and the audit log).
    pub label: String,
    /// Default: the creator's role. At most the creator's own.
    #[serde(default)]
    pub role: Option<Role>,
    /// The tenant it is confined to (a tenant's token: its own, the default).
    /// A platform-admin token has none.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Confine it to these apps of the tenant (for a deployer or viewer).
    #[serde(default)]
    pub apps: Option<Vec<String>>,
    /// Seconds until it stops working (default: it does not expire).
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CreatedToken {
    #[serde(flatten)]
    pub record: AdminToken,
    /// The token; shown here once.
    pub token: String,
}

#[utoipa::path(get, path = "/tokens", tag = "tokens", security(("admin_token" = [])),
    responses((status = 200, description = "The tokens in the caller's scope (a tenant owner: its tenant's), \
        revoked and expired ones included; never a secret", body = Vec<AdminToken>)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Vec<AdminToken>>, ApiError> {
    Ok(axum::Json(
        state
            .control
            .store
            .admin_tokens(principal.tenant_id())
            .await?,
    ))
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ProblemCode::Invalid,
        detail,
    )
}

/// The token `body` asks for, confined to what `principal` may hand out: a
/// role at or below its own, a scope inside its own.
fn requested(principal: &Principal, body: NewToken) -> Result<eddy_store::NewToken, ApiError> {
    let label = body.label.trim().to_owned();
    let role = body.role.unwrap_or(principal.role());
    if role < principal.role() {
        return Err(ApiError {
            permission: Some("tokens:manage"),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                ProblemCode::Forbidden,
                format!(
                    "a {} token cannot create a {role} token (only its own role or below)",
                    principal.role()
                ),
            )
        });
    }
    let tenant = match (principal.tenant(), body.tenant) {
        (Some(own), Some(named)) if named != own => {
            return Err(access::not_found(format!("tenant {named:?}")));
        }
        (Some(own), _) => Some(own.to_owned()),
        (None, named) => named,
    };
    let expires_at = match body.expires_in_seconds {
        None => None,
        Some(s @ 1..=MAX_EXPIRES_IN) => Some(eddy_store::now_ms() + s as i64 * 1000),
        Some(_) => {
            return Err(invalid(format!(
                "expires_in_seconds is 1 to {MAX_EXPIRES_IN} (ten years)"
            )));
        }
    };
    Ok(eddy_store::NewToken {
        label,
        role,
        tenant,
        apps: body.apps,
        expires_at,
    })
}

#[utoipa::path(post, path = "/tokens", tag = "tokens", security(("admin_token" = [])), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::api::Problem),
        (status = 422, body = crate::api::Problem)))]
pub(super) async fn create(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<impl IntoResponse, ApiError> {
    let new = requested(&principal, body)?;
    let (record, token) = state
        .control
        .store
        .create_token(&new, &principal.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            record,
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
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<axum::Json<AdminToken>, ApiError> {
    Ok(axum::Json(
        state
            .control
            .store
            .revoke_admin_token(id, &principal.actor())
            .await?,
    ))
}
