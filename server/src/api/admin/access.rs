//! Who may call what: the one place the admin API decides. Every route has
//! a row in [`ROUTES`] (the permission it needs and what it acts on);
//! [`authorize`] runs in front of all of them, so handlers never check a
//! role. The order of the checks is the contract:
//! 1. no token, or one unknown, expired or revoked: `401`;
//! 2. an app, tenant or token outside the token's scope: `404`, word for
//!    word what a missing one gets (existence is not leaked);
//! 3. in scope without the permission: `403` naming it.
//!
//! Listings (`GET /apps`, `/tokens`, `/audit`, `/stream`) are allowed to
//! every role and narrowed by their handlers to what [`Principal`] sees.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eddy_store::{AdminToken, Role, StoreError};
use tracing::Instrument;

use super::{ApiError, ProblemCode};
use crate::control::ControlError;
use crate::state::ServerState;

/// Where the admin router is mounted: route paths in [`ROUTES`] are below it.
pub(crate) const PREFIX: &str = "/admin/api/v1";

/// One right. Its name is what a `403` says is missing and what
/// `GET /whoami` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permission {
    /// Apps, stats, deployments, logs, sockets, key-value data, config
    /// (secrets by name only), audit, live stream.
    AppsRead,
    AppsCreate,
    /// Name and limits.
    AppsUpdate,
    AppsDelete,
    AppsRotateSecret,
    /// Upload, activate, roll back.
    DeploymentsWrite,
    /// Set and delete an app's config variables and secrets. A deployer has
    /// it: the code it deploys reads every secret anyway, and CI sets
    /// config beside a deploy.
    ConfigWrite,
    SocketsDisconnect,
    /// Tokens of the token's own scope.
    TokensManage,
    /// The token's own tenant: quota and usage.
    TenantsRead,
    /// Every tenant: create, quota, delete.
    TenantsManage,
    /// The nodes of the cluster.
    ClusterRead,
    /// The platform's ceilings and defaults.
    PlatformRead,
}

impl Permission {
    pub(crate) const ALL: [Self; 13] = [
        Self::AppsRead,
        Self::AppsCreate,
        Self::AppsUpdate,
        Self::AppsDelete,
        Self::AppsRotateSecret,
        Self::DeploymentsWrite,
        Self::ConfigWrite,
        Self::SocketsDisconnect,
        Self::TokensManage,
        Self::TenantsRead,
        Self::TenantsManage,
        Self::ClusterRead,
        Self::PlatformRead,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AppsRead => "apps:read",
            Self::AppsCreate => "apps:create",
            Self::AppsUpdate => "apps:update",
            Self::AppsDelete => "apps:delete",
            Self::AppsRotateSecret => "apps:rotate-secret",
            Self::DeploymentsWrite => "deployments:write",
            Self::ConfigWrite => "config:write",
            Self::SocketsDisconnect => "sockets:disconnect",
            Self::TokensManage => "tokens:manage",
            Self::TenantsRead => "tenants:read",
            Self::TenantsManage => "tenants:manage",
            Self::ClusterRead => "cluster:read",
            Self::PlatformRead => "platform:read",
        }
    }

    /// Whether `role` has this permission: the role table.
    pub(crate) fn granted_to(self, role: Role) -> bool {
        use Permission::*;
        match role {
            Role::PlatformAdmin => true,
            Role::TenantOwner => !matches!(self, TenantsManage | ClusterRead | PlatformRead),
            Role::Deployer => matches!(self, AppsRead | DeploymentsWrite | ConfigWrite),
            Role::Viewer => matches!(self, AppsRead),
        }
    }
}

/// What a route acts on, which decides the scope check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The app of the `{slug}` path parameter.
    App,
    /// The tenant of the `{tenant}` path parameter.
    Tenant,
    /// The token of the `{id}` path parameter.
    Token,
    /// Nothing in the path: a listing its handler narrows, a creation its
    /// handler scopes, or a platform-wide resource.
    None,
}

/// A route's rule: `permission` `None` means any valid token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Option<Permission>,
    pub target: Target,
}

const fn rule(
    method: &'static str,
    path: &'static str,
    permission: Option<Permission>,
    target: Target,
) -> Rule {
    Rule {
        method,
        path,
        permission,
        target,
    }
}

use Permission as P;
use Target as T;

/// Every authenticated route of the admin API. A route missing here is
/// refused with a 500 at its first call, and fails `access_matrix` (the
/// integration test that walks the OpenAPI document) before that.
pub(crate) const ROUTES: &[Rule] = &[
    rule("GET", "/whoami", None, T::None),
    rule("GET", "/apps", Some(P::AppsRead), T::None),
    rule("POST", "/apps", Some(P::AppsCreate), T::None),
    rule("GET", "/apps/{slug}", Some(P::AppsRead), T::App),
    rule("PATCH", "/apps/{slug}", Some(P::AppsUpdate), T::App),
    rule("DELETE", "/apps/{slug}", Some(P::AppsDelete), T::App),
    rule(
        "POST",
        "/apps/{slug}/secret",
        Some(P::AppsRotateSecret),
        T::App,
    ),
    rule("GET", "/apps/{slug}/deployments", Some(P::AppsRead), T::App),
    rule(
        "POST",
        "/apps/{slug}/deployments",
        Some(P::DeploymentsWrite),
        T::App,
    ),
    rule(
        "POST",
        "/apps/{slug}/deployments/{version}/activate",
        Some(P::DeploymentsWrite),
        T::App,
    ),
    rule(
        "POST",
        "/apps/{slug}/rollback",
        Some(P::DeploymentsWrite),
        T::App,
    ),
    rule("GET", "/apps/{slug}/config", Some(P::AppsRead), T::App),
    rule(
        "PUT",
        "/apps/{slug}/config/{name}",
        Some(P::ConfigWrite),
        T::App,
    ),
    rule(
        "DELETE",
        "/apps/{slug}/config/{name}",
        Some(P::ConfigWrite),
        T::App,
    ),
    rule("GET", "/apps/{slug}/stats", Some(P::AppsRead), T::App),
    rule("GET", "/apps/{slug}/kv", Some(P::AppsRead), T::App),
    rule("GET", "/apps/{slug}/logs", Some(P::AppsRead), T::App),
    rule("GET", "/apps/{slug}/logs/stream", Some(P::AppsRead), T::App),
    rule("GET", "/apps/{slug}/sockets", Some(P::AppsRead), T::App),
    rule(
        "DELETE",
        "/apps/{slug}/sockets/{id}",
        Some(P::SocketsDisconnect),
        T::App,
    ),
    rule("GET", "/stream", Some(P::AppsRead), T::None),
    rule("GET", "/cluster", Some(P::ClusterRead), T::None),
    rule("GET", "/platform", Some(P::PlatformRead), T::None),
    rule("GET", "/audit", Some(P::AppsRead), T::None),
    rule("GET", "/tokens", Some(P::TokensManage), T::None),
    rule("POST", "/tokens", Some(P::TokensManage), T::None),
    rule("DELETE", "/tokens/{id}", Some(P::TokensManage), T::Token),
    rule("GET", "/tenants", Some(P::TenantsManage), T::None),
    rule("POST", "/tenants", Some(P::TenantsManage), T::None),
    rule("GET", "/tenants/{tenant}", Some(P::TenantsRead), T::Tenant),
    rule(
        "PATCH",
        "/tenants/{tenant}",
        Some(P::TenantsManage),
        T::Tenant,
    ),
    rule(
        "DELETE",
        "/tenants/{tenant}",
        Some(P::TenantsManage),
        T::Tenant,
    ),
];

/// The rule of a route (`path` as the router matched it, below [`PREFIX`]).
/// `HEAD` is `GET` without the body (the router runs the `GET` handler for
/// it), so it needs what `GET` needs.
pub(crate) fn rule_for(method: &Method, path: &str) -> Option<&'static Rule> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The 405 of a method a route does not have, answered here so that no
/// request ever reaches a handler without its rule.
fn method_not_allowed(method: &Method, path: &str) -> Response {
    let allowed: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method)
        .collect();
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ProblemCode::MethodNotAllowed,
        format!("{method} is not allowed here; use {}", allowed.join(", ")),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The caller of an admin API request: its token's role and scope.
#[derive(Debug, Clone)]
pub(crate) struct Principal(pub AdminToken);

impl Principal {
    pub(crate) fn role(&self) -> Role {
        self.0.role
    }

    pub(crate) fn can(&self, permission: Permission) -> bool {
        permission.granted_to(self.0.role)
    }

    pub(crate) fn permissions(&self) -> Vec<&'static str> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.can(*p))
            .map(Permission::as_str)
            .collect()
    }

    /// The tenant it is confined to; `None` for a platform admin.
    pub(crate) fn tenant_id(&self) -> Option<i64> {
        self.0.tenant_id
    }

    pub(crate) fn tenant(&self) -> Option<&str> {
        self.0.tenant.as_deref()
    }

    /// Whether the app `slug` of tenant `tenant_id` is in its scope.
    pub(crate) fn sees_app(&self, tenant_id: i64, slug: &str) -> bool {
        match (self.0.tenant_id, &self.0.apps) {
            (None, _) => true,
            (Some(own), None) => own == tenant_id,
            (Some(own), Some(apps)) => own == tenant_id && apps.iter().any(|a| a == slug),
        }
    }

    /// Whether it reaches every app of its tenant (not a list of them).
    pub(crate) fn tenant_wide(&self) -> bool {
        self.0.apps.is_none()
    }

    pub(crate) fn sees_tenant(&self, tenant_id: i64) -> bool {
        self.0.tenant_id.is_none_or(|own| own == tenant_id)
    }

    /// How the audit log names it: `label (role, token id)`.
    pub(crate) fn actor(&self) -> String {
        format!("{} ({}, token {})", self.0.label, self.0.role, self.0.id)
    }

    /// The 403 for a permission it lacks.
    pub(crate) fn forbidden(&self, permission: Permission) -> ApiError {
        ApiError {
            permission: Some(permission.as_str()),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                ProblemCode::Forbidden,
                format!(
                    "this token ({}, role {}) lacks the permission {}",
                    self.0.label,
                    self.0.role,
                    permission.as_str()
                ),
            )
        }
    }
}

/// The 404 of something that is not there, or not the caller's to see:
/// the same words either way.
pub(crate) fn not_found(what: String) -> ApiError {
    ControlError::from(StoreError::NotFound(what)).into()
}

/// Authenticates the bearer token, checks the route's scope and permission
/// (in that order: see the module doc), and runs the call in a span with
/// the principal in the request's extensions.
pub(crate) async fn authorize(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = crate::api::bearer_token(
        request.headers(),
        "send an admin token as `Authorization: Bearer <token>`",
    )?;
    let store = &state.control.store;
    let principal = Principal(
        store
            .check_admin_token(token)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::unauthorized("the admin token is not valid (unknown, expired or revoked)")
            })?,
    );
    let (mut parts, body) = request.into_parts();
    let matched = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().trim_start_matches(PREFIX).to_owned())
        .unwrap_or_default();
    let Some(rule) = rule_for(&parts.method, &matched) else {
        // A method the route does not have. Any other miss is a route the
        // table forgot.
        if ROUTES.iter().any(|r| r.path == matched) {
            return Ok(method_not_allowed(&parts.method, &matched));
        }
        return Err(ApiError::internal(format!(
            "{} {matched} has no row in the admin API's permission table",
            parts.method
        )));
    };
    let params = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    match rule.target {
        Target::App => {
            let slug = param("slug");
            let what = format!("app {slug:?}");
            match store.app(&slug).await {
                Ok(app) if principal.sees_app(app.tenant_id, &slug) => {}
                Ok(_) | Err(StoreError::NotFound(_)) => return Err(not_found(what)),
                Err(e) => return Err(e.into()),
            }
        }
        Target::Tenant => {
            let slug = param("tenant");
            let what = format!("tenant {slug:?}");
            match store.tenant_id(&slug).await {
                Ok(id) if principal.sees_tenant(id) => {}
                Ok(_) | Err(StoreError::NotFound(_)) => return Err(not_found(what)),
                Err(e) => return Err(e.into()),
            }
        }
        Target::Token => {
            let raw = param("id");
            let what = format!("admin token {raw}");
            let id: i64 = raw
                .parse()
                .map_err(|_| ApiError::bad_request(format!("{raw:?} is not a token id")))?;
            match store.token_tenant(id).await {
                Ok(tenant)
                    if principal.tenant_id().is_none() || tenant == principal.tenant_id() => {}
                Ok(_) | Err(StoreError::NotFound(_)) => return Err(not_found(what)),
                Err(e) => return Err(e.into()),
            }
        }
        Target::None => {}
    }
    if let Some(permission) = rule.permission
        && !principal.can(permission)
    {
        return Err(principal.forbidden(permission));
    }
    // Every admin call runs in a span (deploy steps log inside it); calls
    // that change something are logged when they finish.
    let method = parts.method.clone();
    let span = tracing::info_span!(
        "admin",
        %method,
        path = %parts.uri.path(),
        actor = %principal.actor(),
    );
    parts.extensions.insert(principal);
    let started = std::time::Instant::now();
    let response = next
        .run(Request::from_parts(parts, body))
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    let millis = started.elapsed().as_millis() as u64;
    if method == Method::GET {
        tracing::debug!(parent: &span, status, millis, "admin call");
    } else {
        tracing::info!(parent: &span, status, millis, "admin call");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_what_the_issue_gives_it() {
        let granted = |role| -> Vec<&str> {
            Permission::ALL
                .into_iter()
                .filter(|p| p.granted_to(role))
                .map(Permission::as_str)
                .collect()
        };
        assert_eq!(granted(Role::PlatformAdmin).len(), Permission::ALL.len());
        assert_eq!(granted(Role::Viewer), ["apps:read"]);
        assert_eq!(
            granted(Role::Deployer),
            ["apps:read", "deployments:write", "config:write"]
        );
        let owner = granted(Role::TenantOwner);
        for platform_only in ["tenants:manage", "cluster:read", "platform:read"] {
            assert!(!owner.contains(&platform_only), "{platform_only}");
        }
        assert!(owner.contains(&"tokens:manage") && owner.contains(&"apps:create"));
        assert!(owner.contains(&"config:write"));
    }

    /// The router (`mod.rs`), the OpenAPI document and [`ROUTES`] name the
    /// same routes: a route added to one and not the others fails here,
    /// before any request could reach a handler without its rule.
    #[test]
    fn the_router_the_openapi_document_and_the_table_agree() {
        use std::collections::BTreeSet;
        use utoipa::OpenApi as _;

        let document = super::super::openapi::AdminApi::openapi();
        let mut documented = BTreeSet::new();
        for (path, item) in &document.paths.paths {
            let operations = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
                ("QUERY", &item.query),
            ];
            for (method, operation) in operations {
                if operation.is_some() {
                    documented.insert((method, path.as_str()));
                }
            }
        }
        let table: BTreeSet<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        assert_eq!(documented, table, "OpenAPI document vs ROUTES");

        let router = include_str!("mod.rs");
        let routed: BTreeSet<&str> = router
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|path| *path != "/openapi.json")
            .collect();
        let paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
        assert_eq!(routed, paths, "router vs ROUTES");
    }

    #[test]
    fn a_route_has_one_rule_and_its_target_names_a_path_parameter() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[..i]
                    .iter()
                    .all(|o| (o.method, o.path) != (r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            let param = match r.target {
                Target::App => Some("{slug}"),
                Target::Tenant => Some("{tenant}"),
                Target::Token => Some("{id}"),
                Target::None => None,
            };
            if let Some(param) = param {
                assert!(r.path.contains(param), "{} {}", r.method, r.path);
            }
        }
    }
}
