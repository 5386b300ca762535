//! `/tenants`: a platform admin creates tenants and sets their quotas; a
//! tenant owner reads its own (quota and what its apps use). `/whoami`:
//! the caller's role, scope and permissions, for the UI and the CLI.
//! `/platform`: the ceilings no quota or app limit may pass, and defaults.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use eddy_store::{Role, Tenant, TenantQuota};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Principal};
use crate::state::ServerState;

/// Quota values to set; the ones left out keep theirs (or the default).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct QuotaPatch {
    pub max_apps: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_handler_memory_mb: Option<u64>,
    pub kv_quota_bytes: Option<u64>,
}

impl QuotaPatch {
    fn apply(&self, base: TenantQuota) -> TenantQuota {
        TenantQuota {
            max_apps: self.max_apps.unwrap_or(base.max_apps),
            max_connections: self.max_connections.unwrap_or(base.max_connections),
            max_handler_memory_mb: self
                .max_handler_memory_mb
                .unwrap_or(base.max_handler_memory_mb),
            kv_quota_bytes: self.kv_quota_bytes.unwrap_or(base.kv_quota_bytes),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTenant {
    /// 1–63 lowercase letters, digits and `-`.
    pub slug: String,
    /// A display name (default: the slug).
    #[serde(default)]
    pub name: Option<String>,
    /// Default: ten apps at the default app limits.
    #[serde(default)]
    pub quota: QuotaPatch,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateTenant {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quota: Option<QuotaPatch>,
}

/// A tenant, its quota, what its apps are given, and what is connected.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TenantView {
    #[serde(flatten)]
    pub tenant: Tenant,
    /// Sockets connected to its apps on this node now.
    pub connections: usize,
    /// Linear memory its apps' handler instances hold on this node now
    /// (warm ones and ones in a call), against `max_handler_memory_mb`:
    /// past it, a call that needs more memory fails.
    pub handler_memory_bytes: u64,
}

fn view(state: &ServerState, tenant: Tenant, apps: &[eddy_store::App]) -> TenantView {
    let connections = apps
        .iter()
        .filter(|a| a.tenant_id == tenant.id)
        .filter_map(|a| state.tenants.get(&a.slug))
        .map(|a| a.socket_count())
        .sum();
    let handler_memory_bytes = state
        .control
        .compiler
        .tenant_memory(tenant.id)
        .map_or(0, |b| b.used() as u64);
    TenantView {
        tenant,
        connections,
        handler_memory_bytes,
    }
}

#[utoipa::path(get, path = "/tenants", tag = "tenants", security(("admin_token" = [])),
    responses((status = 200, body = Vec<TenantView>), (status = 403, body = crate::api::Problem)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
) -> Result<axum::Json<Vec<TenantView>>, ApiError> {
    let store = &state.control.store;
    let apps = store.apps().await?;
    let tenants = store.tenants().await?;
    Ok(axum::Json(
        tenants
            .into_iter()
            .map(|t| view(&state, t, &apps))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/tenants", tag = "tenants", security(("admin_token" = [])),
    request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = 409, body = crate::api::Problem),
        (status = 422, body = crate::api::Problem)))]
pub(super) async fn create(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<impl IntoResponse, ApiError> {
    let quota = body.quota.apply(TenantQuota::default());
    let name = body.name.clone().unwrap_or_else(|| body.slug.clone());
    let tenant = state
        .control
        .store
        .create_tenant(&body.slug, &name, &quota, &principal.actor())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&state, tenant, &[]))))
}

#[utoipa::path(get, path = "/tenants/{tenant}", tag = "tenants", security(("admin_token" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = TenantView), (status = 404, body = crate::api::Problem)))]
pub(super) async fn get(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
) -> Result<axum::Json<TenantView>, ApiError> {
    let store = &state.control.store;
    let tenant = store.tenant(&slug).await?;
    let apps = store.apps().await?;
    Ok(axum::Json(view(&state, tenant, &apps)))
}

#[utoipa::path(patch, path = "/tenants/{tenant}", tag = "tenants", security(("admin_token" = [])),
    params(("tenant" = String, Path)), request_body = UpdateTenant,
    responses((status = 200, body = TenantView), (status = 422, body = crate::api::Problem)))]
pub(super) async fn update(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<UpdateTenant>,
) -> Result<axum::Json<TenantView>, ApiError> {
    let store = &state.control.store;
    let current = store.tenant(&slug).await?;
    let quota = body.quota.as_ref().map(|q| q.apply(current.quota));
    let tenant = store
        .update_tenant(
            &slug,
            body.name.as_deref(),
            quota.as_ref(),
            &principal.actor(),
        )
        .await?;
    // This node's budget now; the others' at their next sync (≤ 15 s).
    state
        .control
        .compiler
        .set_tenant_memory(tenant.id, tenant.quota.max_handler_memory_mb);
    let apps = store.apps().await?;
    Ok(axum::Json(view(&state, tenant, &apps)))
}

#[utoipa::path(delete, path = "/tenants/{tenant}", tag = "tenants", security(("admin_token" = [])),
    params(("tenant" = String, Path)),
    responses((status = 204), (status = 404, body = crate::api::Problem),
        (status = 409, description = "It still has apps, or it is `default`", body = crate::api::Problem)))]
pub(super) async fn delete(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .control
        .store
        .delete_tenant(&slug, &principal.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller: its token's label, role, scope, expiry and permissions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct WhoAmI {
    pub id: i64,
    pub label: String,
    pub role: Role,
    /// Its tenant; null for a platform admin.
    pub tenant: Option<String>,
    /// The apps it is limited to; null: every app of its tenant (or all).
    pub apps: Option<Vec<String>>,
    pub expires_at: Option<i64>,
    /// What it may do (`apps:read`, `deployments:write`, …).
    pub permissions: Vec<&'static str>,
}

#[utoipa::path(get, path = "/whoami", tag = "tokens", security(("admin_token" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = crate::api::Problem)))]
pub(super) async fn whoami(Extension(principal): Extension<Principal>) -> axum::Json<WhoAmI> {
    let permissions = principal.permissions();
    let token = principal.0;
    axum::Json(WhoAmI {
        id: token.id,
        label: token.label,
        role: token.role,
        tenant: token.tenant,
        apps: token.apps,
        expires_at: token.expires_at,
        permissions,
    })
}

/// One limit's allowed range.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Ceiling {
    pub name: &'static str,
    pub min: u64,
    pub max: u64,
}

/// The platform's ceilings (fixed in this release) and the defaults a new
/// app or tenant gets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Platform {
    /// The range of each app limit: no app may be given more.
    pub app_limits: Vec<Ceiling>,
    /// The most any tenant's quota may be.
    pub tenant_quota: Vec<Ceiling>,
    pub default_app_limits: eddy_store::AppLimits,
    pub default_tenant_quota: TenantQuota,
}

#[utoipa::path(get, path = "/platform", tag = "tenants", security(("admin_token" = [])),
    responses((status = 200, body = Platform), (status = 403, body = crate::api::Problem)))]
pub(super) async fn platform() -> axum::Json<Platform> {
    axum::Json(Platform {
        app_limits: eddy_store::AppLimits::RANGES
            .iter()
            .map(|&(name, min, max)| Ceiling { name, min, max })
            .collect(),
        tenant_quota: TenantQuota::CEILINGS
            .iter()
            .map(|&(name, max)| Ceiling { name, min: 0, max })
            .collect(),
        default_app_limits: eddy_store::AppLimits::default(),
        default_tenant_quota: TenantQuota::default(),
    })
}
