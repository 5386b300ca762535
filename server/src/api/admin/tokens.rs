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
    /// Seconds until it stops working (default: it does not expire, or, if
    /// the creating token expires, it expires with it; never later).
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
        // Not a missing permission (it has tokens:manage): a role it
        // cannot hand out.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ProblemCode::Forbidden,
            format!(
                "a {} token cannot create a {role} token (only its own role or below)",
                principal.role()
            ),
        ));
    }
    // Scope inside its own: an app-scoped creator names only its apps.
    if let Some(own) = &principal.0.apps {
        let outside = match &body.apps {
            None => Some("every app of the tenant".to_owned()),
            Some(apps) => apps
                .iter()
                .find(|a| !own.contains(a))
                .map(|a| format!("app {a:?}")),
        };
        if let Some(outside) = outside {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ProblemCode::Forbidden,
                format!("this token's scope does not reach {outside}, so it cannot hand it out"),
            ));
        }
    }
    let tenant = match (principal.tenant(), body.tenant) {
        (Some(own), Some(named)) if named != own => {
            return Err(access::not_found(format!("tenant {named:?}")));
        }
        (Some(own), _) => Some(own.to_owned()),
        (None, named) => named,
    };
    let now = eddy_store::now_ms();
    let asked = match body.expires_in_seconds {
        None => None,
        Some(s @ 1..=MAX_EXPIRES_IN) => Some(now + s as i64 * 1000),
        Some(_) => {
            return Err(invalid(format!(
                "expires_in_seconds is 1 to {MAX_EXPIRES_IN} (ten years)"
            )));
        }
    };
    // A token never outlives the one that made it: an expiring creator's
    // tokens expire with it (by default) or before (when asked).
    let expires_at = match (asked, principal.0.expires_at) {
        (None, creator) => creator,
        (Some(asked), Some(creator)) if asked > creator => {
            let left = (creator - now) / 1000;
            return Err(invalid(if left >= 1 {
                format!(
                    "expires_in_seconds is at most {left} here: a token cannot outlive the token that creates it"
                )
            } else {
                "the token creating it expires within a second, and a token cannot outlive it: leave expires_in_seconds out".to_owned()
            }));
        }
        (Some(asked), _) => Some(asked),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, apps: Option<&[&str]>, expires_at: Option<i64>) -> Principal {
        Principal(AdminToken {
            id: 7,
            label: "creator".into(),
            role,
            tenant: Some("acme".into()),
            tenant_id: Some(2),
            apps: apps.map(|a| a.iter().map(|s| s.to_string()).collect()),
            created_at: 0,
            last_used_at: None,
            expires_at,
            revoked_at: None,
            configured: false,
        })
    }

    fn ask(role: Role, apps: Option<&[&str]>, expires_in_seconds: Option<u64>) -> NewToken {
        NewToken {
            label: "ci".into(),
            role: Some(role),
            tenant: None,
            apps: apps.map(|a| a.iter().map(|s| s.to_string()).collect()),
            expires_in_seconds,
        }
    }

    #[test]
    fn a_token_never_outlives_its_creator() {
        let in_an_hour = eddy_store::now_ms() + 3_600_000;
        let owner = principal(Role::TenantOwner, None, Some(in_an_hour));
        // Asked for nothing: it expires with its creator.
        let made = requested(&owner, ask(Role::Deployer, Some(&["chat"]), None)).unwrap();
        assert_eq!(made.expires_at, Some(in_an_hour));
        // Asked for sooner: granted.
        let made = requested(&owner, ask(Role::Viewer, None, Some(60))).unwrap();
        assert!(made.expires_at.unwrap() < in_an_hour);
        // Asked for later: refused, saying how long it may be.
        let refused = requested(&owner, ask(Role::Viewer, None, Some(7200))).unwrap_err();
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.detail.contains("at most 3"), "{}", refused.detail);
        // A creator that does not expire hands out tokens that do not either.
        let forever = principal(Role::TenantOwner, None, None);
        let made = requested(&forever, ask(Role::Deployer, None, None)).unwrap();
        assert_eq!(made.expires_at, None);
    }

    #[test]
    fn a_token_hands_out_no_more_than_it_has() {
        let owner = principal(Role::TenantOwner, None, None);
        let admin_ask = NewToken {
            tenant: None,
            ..ask(Role::PlatformAdmin, None, None)
        };
        let refused = requested(&owner, admin_ask).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.permission, None, "it has tokens:manage");
        // An app-scoped creator (none has tokens:manage today; the rule
        // holds anyway) cannot widen the scope.
        let scoped = principal(Role::Deployer, Some(&["chat"]), None);
        let wider = requested(&scoped, ask(Role::Deployer, None, None)).unwrap_err();
        assert!(wider.detail.contains("every app"), "{}", wider.detail);
        let other =
            requested(&scoped, ask(Role::Viewer, Some(&["chat", "poll"]), None)).unwrap_err();
        assert!(other.detail.contains("\"poll\""), "{}", other.detail);
        let same = requested(&scoped, ask(Role::Viewer, Some(&["chat"]), None)).unwrap();
        assert_eq!(same.tenant.as_deref(), Some("acme"));
    }
}
