//! Watching apps: live stats, key-value data, the audit log.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use eddy_store::{AuditEntry, KvEntry};
use serde::{Deserialize, Serialize};

use super::access::Permission;
use super::{ApiError, Principal};
use crate::state::ServerState;

/// What an app is doing now, on this node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct AppStats {
    pub app: String,
    pub active_version: Option<i64>,
    /// Sockets connected.
    pub connections: usize,
    /// Engine.IO sessions open (a session may carry several namespaces).
    pub sessions: usize,
    pub events_in_total: u64,
    /// Events received per second, over the last second.
    pub events_in_per_second: u64,
    /// Packets queued to clients per second, over the last second.
    pub emits_per_second: u64,
    pub bytes_in_total: u64,
    pub bytes_out_total: u64,
    pub handler: HandlerStats,
    pub limit_breaches: LimitBreaches,
    pub kv_bytes: i64,
    pub kv_keys: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct HandlerStats {
    pub calls: u64,
    /// Handler latency percentiles in microseconds (all calls since start).
    pub p50_us: u64,
    pub p99_us: u64,
    /// Wall time spent in event handlers since start, in microseconds.
    pub busy_us: u64,
    /// Guest linear memory the handler's instances hold now.
    pub memory_bytes: u64,
    pub idle_instances: usize,
    pub errors: u64,
    pub timeouts: u64,
    pub memory_faults: u64,
    pub traps: u64,
    pub host_faults: u64,
    /// New instances whose start-up ran past the start deadline.
    pub start_faults: u64,
    /// Present while the handler is faulted (new instances refused after a
    /// failed start-up): milliseconds until it tries again.
    pub faulted_for_ms: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct LimitBreaches {
    pub connections: u64,
    pub event_rate: u64,
    pub payload: u64,
    pub kv_quota: u64,
}

#[utoipa::path(get, path = "/apps/{slug}/stats", tag = "observe", security(("admin_token" = [])),
    params(("slug" = String, Path)), responses((status = 200, body = AppStats), (status = 404, body = crate::api::Problem)))]
pub(super) async fn stats(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
) -> Result<axum::Json<AppStats>, ApiError> {
    let record = state.control.store.app(&slug).await?;
    let app = state
        .tenants
        .get(&slug)
        .ok_or_else(|| ApiError::not_found(format!("app {slug:?} is not live on this node")))?;
    let m = &app.metrics;
    let (kv_bytes, kv_keys) = state.control.store.kv_usage(record.id).await?;
    let live = state.live.app(&slug).map(|a| a.stats).unwrap_or_default();
    let footprint = app.handler().footprint();
    Ok(axum::Json(AppStats {
        app: slug,
        active_version: record.active_version,
        connections: app.socket_count(),
        sessions: app.sessions.len(),
        events_in_total: m.events_in.get(),
        events_in_per_second: live.events_in_per_second,
        emits_per_second: live.emits_per_second,
        bytes_in_total: app.sessions.traffic.bytes_in.get(),
        bytes_out_total: app.sessions.traffic.bytes_out.get(),
        handler: HandlerStats {
            calls: m.handler_latency.count(),
            p50_us: m.handler_latency.quantile(0.5),
            p99_us: m.handler_latency.quantile(0.99),
            busy_us: m.handler_nanos.get() / 1_000,
            memory_bytes: footprint.memory_bytes,
            idle_instances: footprint.idle_instances,
            errors: m.handler_errors.get(),
            timeouts: m.handler_timeouts.get(),
            memory_faults: m.handler_memory_faults.get(),
            traps: m.handler_traps.get(),
            host_faults: m.handler_host_faults.get(),
            start_faults: m.handler_start_faults.get(),
            faulted_for_ms: footprint.faulted_for_ms,
        },
        limit_breaches: LimitBreaches {
            connections: m.breach_connections.get(),
            event_rate: m.breach_event_rate.get(),
            payload: m.breach_payload.get(),
            kv_quota: m.breach_kv_quota.get(),
        },
        kv_bytes,
        kv_keys,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct KvParams {
    /// Only keys starting with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Keys after this one (paging).
    #[serde(default)]
    pub after: Option<String>,
    /// At most this many (1–1000, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct KvPage {
    pub entries: Vec<KvEntry>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

#[utoipa::path(get, path = "/apps/{slug}/kv", tag = "observe", security(("admin_token" = [])),
    params(("slug" = String, Path), KvParams), responses((status = 200, body = KvPage)))]
pub(super) async fn kv(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
    Query(params): Query<KvParams>,
) -> Result<axum::Json<KvPage>, ApiError> {
    let app = state.control.store.app(&slug).await?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state
        .control
        .store
        .kv_list(
            app.id,
            params.prefix.as_deref().unwrap_or(""),
            params.after.as_deref(),
            limit,
        )
        .await?;
    let next_after = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.key.clone()))
        .flatten();
    Ok(axum::Json(KvPage {
        entries,
        next_after,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditParams {
    /// Only entries about this app.
    #[serde(default)]
    pub app: Option<String>,
    /// Entries older than this id (paging).
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/audit", tag = "observe", security(("admin_token" = [])), params(AuditParams),
    responses((status = 200, body = Vec<AuditEntry>)))]
pub(super) async fn audit(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<AuditParams>,
) -> Result<axum::Json<Vec<AuditEntry>>, ApiError> {
    let mut entries = state
        .control
        .store
        .audit_log(
            params.app.as_deref(),
            principal.tenant_id(),
            params.before,
            params.limit.unwrap_or(100),
        )
        .await?;
    // Entries about no app (tokens, the tenant's quota) are for those who
    // manage them; a token confined to some apps reads only their entries
    // (a page may come back short: page on with `before`).
    if !principal.can(Permission::TokensManage) {
        entries.retain(|e| e.app.is_some());
    }
    if principal.tenant_id().is_some() {
        for entry in &mut entries {
            if entry.actor.contains("(platform-admin, token ") {
                entry.actor = "a platform admin".into();
            }
        }
    }
    if !principal.tenant_wide() {
        entries.retain(|e| {
            e.app
                .as_deref()
                .is_some_and(|app| principal.sees_app(principal.tenant_id().unwrap_or(0), app))
        });
    }
    Ok(axum::Json(entries))
}
