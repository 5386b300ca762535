//! Server-sent event streams for the dashboard: the live frames and an app's
//! log tail. Both end when the server begins shutting down, so a browser tab
//! never holds up a drain.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast::error::RecvError;

use super::ApiError;
use crate::live::LiveFrame;
use crate::state::ServerState;
use crate::tenant::log::LogLine;

type EventStream = Sse<
    axum::response::sse::KeepAliveStream<stream::BoxStream<'static, Result<Event, Infallible>>>,
>;

/// Ends `events` when the server starts shutting down.
fn until_shutdown(
    state: &ServerState,
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> EventStream {
    let events = events.take_until(state.shutdown_started()).boxed();
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// The node's live frames, once a second: the last two minutes first, so
/// charts start full, then each new one.
#[utoipa::path(get, path = "/stream", tag = "observe", security(("admin_token" = [])),
    responses((status = 200, description = "`text/event-stream`; each event's data is a LiveFrame", body = LiveFrame)))]
pub(super) async fn live(State(state): State<Arc<ServerState>>) -> EventStream {
    let frames = state.live.subscribe();
    let backlog = stream::iter(state.live.history()).map(|json| Ok(Event::default().data(&*json)));
    let updates = stream::unfold(frames, |mut frames| async move {
        frames.changed().await.ok()?;
        let json = frames.borrow_and_update().clone();
        Some((Ok(Event::default().data(&*json)), frames))
    });
    until_shutdown(&state, backlog.chain(updates))
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
    Path(slug): Path<String>,
) -> Result<EventStream, ApiError> {
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
    Ok(until_shutdown(&state, lines))
}
