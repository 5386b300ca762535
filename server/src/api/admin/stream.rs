//! Server-sent event streams for the dashboard: the live frames and an app's
//! log tail. Both end when the server begins shutting down, so a browser tab
//! never holds up a drain, and within a second of their token being revoked
//! or expiring. A tenant's token sees the frames of its own apps only.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast::error::RecvError;

use super::access::Permission;
use super::{ApiError, Principal};
use crate::live::LiveFrame;
use crate::state::ServerState;
use crate::tenant::log::LogLine;

type EventStream = Sse<
    axum::response::sse::KeepAliveStream<stream::BoxStream<'static, Result<Event, Infallible>>>,
>;

/// Ends `events` when the server starts shutting down or the caller's
/// token stops being accepted; holds `slot` while it runs.
fn until_shutdown(
    state: &Arc<ServerState>,
    principal: &Principal,
    slot: StreamSlot,
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> EventStream {
    let events = events
        .take_until(state.shutdown_started())
        .take_until(revoked(state.clone(), principal.0.id))
        .map(move |event| {
            let _held = &slot;
            event
        })
        .boxed();
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Streams one token may hold open at once: each costs a registry read a
/// second (its revocation check), so one token cannot open them by the
/// thousand.
const MAX_STREAMS_PER_TOKEN: usize = 8;

/// The streams open on this node, by token.
#[derive(Debug, Default)]
pub(crate) struct OpenStreams(parking_lot::Mutex<HashMap<i64, usize>>);

/// A token's place among its open streams, given back on drop.
struct StreamSlot {
    streams: Arc<OpenStreams>,
    token: i64,
}

impl OpenStreams {
    fn open(self: &Arc<Self>, token: i64) -> Result<StreamSlot, ApiError> {
        let mut open = self.0.lock();
        let count = open.entry(token).or_insert(0);
        if *count >= MAX_STREAMS_PER_TOKEN {
            return Err(ApiError::rate_limited(
                5,
                format!(
                    "this token has {MAX_STREAMS_PER_TOKEN} streams open on this node, \
                     the most it may; close one first"
                ),
            ));
        }
        *count += 1;
        Ok(StreamSlot {
            streams: self.clone(),
            token,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.0.lock();
        if let Some(count) = open.get_mut(&self.token) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.token);
            }
        }
    }
}

/// How often an open stream checks that its token is still accepted: well
/// inside the second a revocation or an expiry is promised to take (one
/// registry read per open stream each time; streams per token are capped).
const RECHECK: Duration = Duration::from_millis(500);

/// Resolves once token `id` is revoked, expired or gone (a registry that
/// does not answer is not taken for a revocation).
async fn revoked(state: Arc<ServerState>, id: i64) {
    let mut tick = tokio::time::interval(RECHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.control.store.admin_token(id).await {
            Ok(token) if token.is_active(eddy_store::now_ms()) => {}
            Ok(_) | Err(eddy_store::StoreError::NotFound(_)) => return,
            Err(_) => {}
        }
    }
}

/// How often a tenant's live stream re-reads which apps it may see.
const REFRESH_APPS: Duration = Duration::from_secs(5);

/// The live frames as a tenant's token may see them: its apps only, totals
/// summed over them, no cluster view (that is `cluster:read`).
struct ScopedFrames {
    state: Arc<ServerState>,
    principal: Principal,
    visible: HashSet<String>,
    refreshed: Option<Instant>,
}

impl ScopedFrames {
    async fn filter(&mut self, json: &str) -> String {
        if self.refreshed.is_none_or(|at| at.elapsed() >= REFRESH_APPS) {
            if let Ok(apps) = self.state.control.store.apps().await {
                self.visible = apps
                    .into_iter()
                    .filter(|a| self.principal.sees_app(a.tenant_id, &a.slug))
                    .map(|a| a.slug)
                    .collect();
            }
            self.refreshed = Some(Instant::now());
        }
        scope_frame(
            json,
            &self.visible,
            self.principal.can(Permission::ClusterRead),
        )
    }
}

/// `json` (a `LiveFrame`) narrowed to the apps in `visible`.
fn scope_frame(json: &str, visible: &HashSet<String>, cluster: bool) -> String {
    // Fails closed: a frame that does not parse shows nothing.
    let Ok(mut frame) = serde_json::from_str::<serde_json::Value>(json) else {
        return r#"{"apps":[],"totals":{},"cluster":null}"#.to_owned();
    };
    let mut totals = serde_json::Map::new();
    if let Some(apps) = frame.get_mut("apps").and_then(|a| a.as_array_mut()) {
        apps.retain(|app| {
            app.get("slug")
                .and_then(|s| s.as_str())
                .is_some_and(|s| visible.contains(s))
        });
        for stats in apps.iter().filter_map(|a| a.get("stats")?.as_object()) {
            for (key, value) in stats {
                let value = value.as_u64().unwrap_or(0);
                let total = totals.entry(key.clone()).or_insert(0.into());
                let so_far = total.as_u64().unwrap_or(0);
                // Quantiles do not add up: the worst app's stands for all.
                *total = if key.ends_with("_us") && key.contains("_p") {
                    so_far.max(value)
                } else {
                    so_far + value
                }
                .into();
            }
        }
    }
    frame["totals"] = totals.into();
    if !cluster {
        frame["cluster"] = serde_json::Value::Null;
    }
    frame.to_string()
}

/// The node's live frames, once a second: the last two minutes first, so
/// charts start full, then each new one.
#[utoipa::path(get, path = "/stream", tag = "observe", security(("admin_token" = [])),
    responses((status = 200, description = "`text/event-stream`; each event's data is a LiveFrame", body = LiveFrame)))]
pub(super) async fn live(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Extension(streams): Extension<Arc<OpenStreams>>,
) -> Result<EventStream, ApiError> {
    let slot = streams.open(principal.0.id)?;
    let frames = state.live.subscribe();
    let backlog = stream::iter(state.live.history());
    let updates = stream::unfold(frames, |mut frames| async move {
        frames.changed().await.ok()?;
        let json = frames.borrow_and_update().clone();
        Some((json, frames))
    });
    let all = backlog.chain(updates);
    if principal.tenant_id().is_none() {
        return Ok(until_shutdown(
            &state,
            &principal,
            slot,
            all.map(|json| Ok(Event::default().data(&*json))),
        ));
    }
    let scope = ScopedFrames {
        state: state.clone(),
        principal: principal.clone(),
        visible: HashSet::new(),
        refreshed: None,
    };
    let scoped = stream::unfold((all.boxed(), scope), |(mut all, mut scope)| async move {
        let json = all.next().await?;
        let data = scope.filter(&json).await;
        Some((Ok(Event::default().data(data)), (all, scope)))
    });
    Ok(until_shutdown(&state, &principal, slot, scoped))
}

/// The app's recent log lines (its handler's log calls, stdout, stderr,
/// faults, deploy notices), oldest first.
#[utoipa::path(get, path = "/apps/{slug}/logs", tag = "observe", security(("admin_token" = [])),
    params(("slug" = String, Path)),
    responses((status = 200, body = Vec<LogLine>), (status = 404, body = crate::api::Problem)))]
pub(super) async fn logs(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
) -> Result<axum::Json<Vec<LogLine>>, ApiError> {
    let app = super::live_app(&state, &slug)?;
    Ok(axum::Json(app.log.recent()))
}

/// New log lines of the app as they are written. A viewer that falls behind
/// is told how many lines it missed.
#[utoipa::path(get, path = "/apps/{slug}/logs/stream", tag = "observe", security(("admin_token" = [])),
    params(("slug" = String, Path)),
    responses((status = 200, description = "`text/event-stream`; each event's data is a LogLine", body = LogLine),
        (status = 404, body = crate::api::Problem)))]
pub(super) async fn log_tail(
    State(state): State<Arc<ServerState>>,
    Extension(principal): Extension<Principal>,
    Extension(streams): Extension<Arc<OpenStreams>>,
    Path(slug): Path<String>,
) -> Result<EventStream, ApiError> {
    let slot = streams.open(principal.0.id)?;
    let app = super::live_app(&state, &slug)?;
    let lines = stream::unfold(app.log.subscribe(), |mut lines| async move {
        let line = match lines.recv().await {
            Ok(line) => line,
            Err(RecvError::Lagged(missed)) => LogLine {
                at_ms: crate::session::unix_millis(),
                level: "warn",
                message: format!("({missed} lines not shown: this viewer fell behind)"),
            },
            Err(RecvError::Closed) => return None,
        };
        let event = Event::default()
            .json_data(&line)
            .expect("a log line serializes");
        Some((Ok(event), lines))
    });
    Ok(until_shutdown(&state, &principal, slot, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scoped_frame_keeps_the_visible_apps_and_sums_their_totals() {
        let frame = serde_json::json!({
            "at_ms": 1, "node": "n", "uptime_s": 2,
            "totals": { "connections": 30, "handler_p99_us": 900 },
            "apps": [
                { "slug": "mine", "stats": { "connections": 10, "handler_p99_us": 100 } },
                { "slug": "also", "stats": { "connections": 5, "handler_p99_us": 300 } },
                { "slug": "theirs", "stats": { "connections": 15, "handler_p99_us": 900 } },
            ],
            "cluster": { "nodes": [] },
        })
        .to_string();
        let visible: HashSet<String> = ["mine".into(), "also".into()].into();
        let scoped: serde_json::Value =
            serde_json::from_str(&scope_frame(&frame, &visible, false)).unwrap();
        let slugs: Vec<&str> = scoped["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["mine", "also"]);
        assert_eq!(scoped["totals"]["connections"], 15);
        assert_eq!(scoped["totals"]["handler_p99_us"], 300);
        assert!(scoped["cluster"].is_null());
        assert!(!scope_frame(&frame, &visible, false).contains("theirs"));
    }
}
