//! `/apps`: create, list, read, update (name, limits), delete, rotate the secret.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use eddy_store::{AppLimits, DEFAULT_TENANT, NewApp};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, Principal, access};
use crate::state::ServerState;

/// Limits to set; the ones left out keep their value (or the default).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsPatch {
    pub max_connections: Option<u64>,
    pub max_events_per_second: Option<u64>,
    pub max_payload: Option<u64>,
    pub handler_deadline_ms: Option<u64>,
    pub handler_memory_mb: Option<u64>,
    pub kv_quota_bytes: Option<u64>,
    pub max_rooms_per_socket: Option<u64>,
    pub max_room_name_bytes: Option<u64>,
    pub max_namespaces: Option<u64>,
    /// Timers the app may have pending at once.
    pub max_timers: Option<u64>,
    /// Browser origins allowed to connect (`https://example.com`); empty: any.
    pub allowed_origins: Option<Vec<String>>,
}

impl LimitsPatch {
    fn apply(&self, base: AppLimits) -> AppLimits {
        AppLimits {
            max_rooms_per_socket: self
                .max_rooms_per_socket
                .unwrap_or(base.max_rooms_per_socket),
            max_room_name_bytes: self.max_room_name_bytes.unwrap_or(base.max_room_name_bytes),
            max_namespaces: self.max_namespaces.unwrap_or(base.max_namespaces),
            max_timers: self.max_timers.unwrap_or(base.max_timers),
            allowed_origins: self.allowed_origins.clone().unwrap_or(base.allowed_origins),
            max_connections: self.max_connections.unwrap_or(base.max_connections),
            max_events_per_second: self
                .max_events_per_second
                .unwrap_or(base.max_events_per_second),
            max_payload: self.max_payload.unwrap_or(base.max_payload),
            handler_deadline_ms: self.handler_deadline_ms.unwrap_or(base.handler_deadline_ms),
            handler_memory_mb: self.handler_memory_mb.unwrap_or(base.handler_memory_mb),
            kv_quota_bytes: self.kv_quota_bytes.unwrap_or(base.kv_quota_bytes),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateApp {
    /// 1–63 lowercase letters, digits and `-`: clients connect at `/apps/{slug}/socket.io/`.
    pub slug: String,
    /// A display name (default: the slug).
    #[serde(default)]
    pub name: Option<String>,
    /// The tenant that owns it. A tenant's token may leave it out (its own
    /// tenant); a platform admin's default is `default`.
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub limits: LimitsPatch,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateApp {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub limits: Option<LimitsPatch>,
}

/// An app as the registry has it, with what this node sees live.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AppView {
    #[serde(flatten)]
    pub app: eddy_store::App,
    /// Sockets connected on this node.
    pub connections: usize,
    /// Present while the app is faulted on this node: its handler's
    /// start-up failed, and new instances are refused for this many more
    /// milliseconds (clients get `app_unavailable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faulted_for_ms: Option<u64>,
    /// Timers pending in the registry (read for one app's view, not for
    /// listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timers_pending: Option<i64>,
}

/// A new app and its key. The secret is shown here once and never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CreatedApp {
    pub app: AppView,
    pub public_key: String,
    pub secret: String,
}

/// An app's key after rotation. The secret is shown here once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AppKey {
    pub public_key: String,
    pub secret: String,
}

pub(super) fn view(state: &ServerState, app: eddy_store::App) -> AppView {
    let live = state.tenants.get(&app.slug);
    let connections = live.as_ref().map_or(0, |a| a.socket_count());
    let faulted_for_ms = live.and_then(|a| a.handler().footprint().faulted_for_ms);
    AppView {
        app,
        connections,
        faulted_for_ms,
        timers_pending: None,
    }
}

#[utoipa::path(get, path = "/apps", tag = "apps", security(("admin_token" = [])),
    responses((status = 200, body = Vec<AppView>), (status = 401, body = crate::api::Problem)))]
pub(super) async fn list(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
) -> Result<axum::Json<Vec<AppView>>, ApiError> {
    let apps = state.control.store.apps().await?;
    Ok(axum::Json(
        apps.into_iter()
            .filter(|a| principal.sees_app(a.tenant_id, &a.slug))
            .map(|a| view(&state, a))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/apps", tag = "apps", security(("admin_token" = [])), request_body = CreateApp,
    responses((status = 201, body = CreatedApp), (status = 409, body = crate::api::Problem),
        (status = 422, body = crate::api::Problem)))]
pub(super) async fn create(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<CreateApp>,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = match (principal.tenant(), body.tenant) {
        (None, named) => named.unwrap_or_else(|| DEFAULT_TENANT.to_owned()),
        (Some(own), Some(named)) if named != own => {
            return Err(access::not_found(format!("tenant {named:?}")));
        }
        (Some(own), _) => own.to_owned(),
    };
    let new = NewApp {
        tenant,
        name: body.name.clone().unwrap_or_else(|| body.slug.clone()),
        limits: body.limits.apply(AppLimits::default()),
        slug: body.slug,
    };
    let (app, credentials) = state.control.create_app(&new, &principal.actor()).await?;
    let created = CreatedApp {
        app: view(&state, app),
        public_key: credentials.public_key,
        secret: credentials.secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

#[utoipa::path(get, path = "/apps/{slug}", tag = "apps", security(("admin_token" = [])),
    params(("slug" = String, Path)), responses((status = 200, body = AppView), (status = 404, body = crate::api::Problem)))]
pub(super) async fn get(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
) -> Result<axum::Json<AppView>, ApiError> {
    let app = state.control.store.app(&slug).await?;
    let timers_pending = state.control.store.timers_pending(app.id).await?;
    Ok(axum::Json(AppView {
        timers_pending: Some(timers_pending),
        ..view(&state, app)
    }))
}

#[utoipa::path(patch, path = "/apps/{slug}", tag = "apps", security(("admin_token" = [])), request_body = UpdateApp,
    params(("slug" = String, Path)), responses((status = 200, body = AppView), (status = 422, body = crate::api::Problem)))]
pub(super) async fn update(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<UpdateApp>,
) -> Result<axum::Json<AppView>, ApiError> {
    let current = state.control.store.app(&slug).await?;
    let limits = body
        .limits
        .as_ref()
        .map(|patch| patch.apply(current.limits.clone()));
    let app = state
        .control
        .update_app(
            &slug,
            body.name.as_deref(),
            limits.as_ref(),
            &principal.actor(),
        )
        .await?;
    Ok(axum::Json(view(&state, app)))
}

#[utoipa::path(delete, path = "/apps/{slug}", tag = "apps", security(("admin_token" = [])),
    params(("slug" = String, Path)), responses((status = 204), (status = 404, body = crate::api::Problem)))]
pub(super) async fn delete(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.control.delete_app(&slug, &principal.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/apps/{slug}/secret", tag = "apps", security(("admin_token" = [])),
    params(("slug" = String, Path)), responses((status = 200, body = AppKey), (status = 404, body = crate::api::Problem)))]
pub(super) async fn rotate_secret(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Path(slug): Path<String>,
) -> Result<axum::Json<AppKey>, ApiError> {
    let credentials = state
        .control
        .rotate_secret(&slug, &principal.actor())
        .await?;
    Ok(axum::Json(AppKey {
        public_key: credentials.public_key,
        secret: credentials.secret.expose().to_owned(),
    }))
}
