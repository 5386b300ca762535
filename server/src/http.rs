//! The HTTP surface: probes, metrics, app endpoints and the diagnostics echo.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use tokio::sync::{Semaphore, watch};

use crate::admin::live::{self, Live};
use crate::cluster::ClusterLink;
use crate::config::Config;
use crate::control::Control;
use crate::metrics::{self, ServerMetrics};
use crate::session::{CloseReason, EngineSettings, SessionTable};
use crate::tenant::Tenants;
use crate::transport::{self, AddressGuard, AddressLimits, Endpoint, TransportError};

/// Everything the request handlers share.
pub struct ServerState {
    pub config: Arc<Config>,
    pub settings: Arc<EngineSettings>,
    pub tenants: Arc<Tenants>,
    /// The registry and the deploy pipeline.
    pub control: Arc<Control>,
    /// The other nodes, through the broker.
    pub cluster: Arc<ClusterLink>,
    /// Sessions of the diagnostics echo endpoint, when enabled.
    pub echo: Option<Arc<SessionTable>>,
    pub metrics: ServerMetrics,
    /// One permit per open client connection (`max_connections`).
    pub connection_permits: Arc<Semaphore>,
    /// The connection cap in force: `max_connections`, lowered to what the
    /// open-files limit allows.
    pub max_connections: usize,
    /// Connections served over the cap, for probes and the admin API.
    pub overflow_permits: Arc<Semaphore>,
    /// Per-client-address connection and session limits.
    pub addresses: Arc<AddressGuard>,
    /// The dashboard's once-a-second frames.
    pub live: Live,
    /// Flips to true once, when shutdown begins (long-lived admin streams end).
    shutting_down: watch::Sender<bool>,
}

impl ServerState {
    /// Opens the registry, brings every app up (compiling handler
    /// components as needed), and starts the background samplers.
    pub async fn start(config: Config) -> Result<Arc<Self>, String> {
        let settings = Arc::new(EngineSettings::from_config(&config));
        let tenants = Arc::new(Tenants::new([]));
        let (cluster, cluster_events) =
            eddy_cluster::Cluster::start(crate::cluster::options(&config)?)
                .map_err(|e| e.to_string())?;
        let cluster = ClusterLink::new(cluster);
        let control =
            crate::control::bootstrap(&config, settings.clone(), tenants.clone(), cluster.clone())
                .await?;
        let max_connections = crate::open_files::connection_cap(config.max_connections);
        let addresses = AddressGuard::new(AddressLimits::from_config(&config));
        let state = Arc::new(Self {
            settings,
            tenants: tenants.clone(),
            control: control.clone(),
            cluster: cluster.clone(),
            echo: config.engine_io_echo.then(Default::default),
            metrics: ServerMetrics::default(),
            connection_permits: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            overflow_permits: Arc::new(Semaphore::new(crate::server::OVERFLOW_CONNECTIONS)),
            addresses,
            live: Live::default(),
            shutting_down: watch::Sender::new(false),
            config: Arc::new(config),
        });
        tokio::spawn(live::run_sampler(
            Arc::downgrade(&state),
            state.cluster.cluster.name().to_owned(),
        ));
        crate::cluster::node::start(
            cluster,
            cluster_events,
            tenants,
            control,
            state.shutdown_started(),
        );
        Ok(state)
    }

    pub fn open_connections(&self) -> usize {
        self.max_connections - self.connection_permits.available_permits()
    }

    /// Stops new sessions and closes every open one with `server shutting down`.
    pub fn begin_shutdown(&self) {
        self.shutting_down.send_replace(true);
        for table in self.session_tables() {
            table.close_all(CloseReason::ServerShuttingDown);
        }
    }

    pub fn open_sessions(&self) -> usize {
        self.session_tables().iter().map(|t| t.len()).sum()
    }

    fn session_tables(&self) -> Vec<Arc<SessionTable>> {
        let mut tables: Vec<_> = self
            .tenants
            .all()
            .into_iter()
            .map(|a| a.sessions.clone())
            .collect();
        tables.extend(self.echo.clone());
        tables
    }

    fn is_shutting_down(&self) -> bool {
        *self.shutting_down.borrow()
    }

    /// Resolves when shutdown begins.
    pub fn shutdown_started(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutting_down.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }
}

pub fn router(state: Arc<ServerState>) -> Router {
    let api_guard = axum::middleware::from_fn(guard_api);
    let mut router = Router::new()
        .nest(
            "/admin/api/v1",
            crate::admin::router(state.clone()).layer(api_guard.clone()),
        )
        .route("/admin", get(crate::admin::ui::redirect))
        .route("/admin/", get(crate::admin::ui::index))
        .route("/admin/{*path}", get(crate::admin::ui::asset))
        .merge(crate::tenant_api::router(state.clone()).layer(api_guard))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
        .route("/apps/{slug}/socket.io", any(app_engine))
        .route("/apps/{slug}/socket.io/", any(app_engine));
    if state.echo.is_some() {
        router = router
            .route("/engine.io", any(echo_engine))
            .route("/engine.io/", any(echo_engine));
    }
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(require_host))
        .with_state(state)
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is
/// case-insensitive, as HTTP says).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// HTTP/1.1 requires a Host header; a request without one is malformed (and
/// a favourite of request-smuggling probes).
async fn require_host(request: Request<Body>, next: axum::middleware::Next) -> Response {
    if request.version() == axum::http::Version::HTTP_11
        && !request.headers().contains_key(header::HOST)
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "an HTTP/1.1 request must carry a Host header".into(),
        );
    }
    next.run(request).await
}

/// Around the admin and tenant APIs: an address that keeps failing to
/// authenticate gets 429 for a while (no token is even looked at), and no
/// response is cached (some carry secrets).
async fn guard_api(request: Request<Body>, next: axum::middleware::Next) -> Response {
    let client = AddressGuard::of_request(request.extensions(), request.headers());
    if let Some((guard, _, ip)) = &client
        && let Err(wait) = guard.auth_allowed(*ip)
    {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed authentications from this address; retry after {secs} s"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return response;
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && let Some((guard, _, ip)) = &client
    {
        guard.auth_failed(*ip);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    if state.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    match state.control.store.ping().await {
        // A broker outage keeps the node ready (its own clients are served),
        // and says so: cross-node delivery is paused until it returns.
        Ok(()) => {
            let broker = state.cluster.cluster.status();
            if broker.up {
                "ready".into_response()
            } else {
                (
                    [(header::HeaderName::from_static("x-eddy-degraded"), "broker")],
                    format!(
                        "ready, degraded: the {} broker is unreachable; cross-node delivery is paused ({})",
                        broker.broker,
                        broker.last_error.unwrap_or_default()
                    ),
                )
                    .into_response()
            }
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: the registry does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "registry unavailable").into_response()
        }
    }
}

async fn prometheus(State(state): State<Arc<ServerState>>) -> Response {
    let body = metrics::render(
        &state.metrics,
        &state.addresses.refusals,
        state.open_connections(),
        &state.tenants.all(),
        &state.cluster.cluster,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn app_engine(
    State(state): State<Arc<ServerState>>,
    Path(slug): Path<String>,
    request: Request<Body>,
) -> Response {
    if state.is_shutting_down() {
        return TransportError::ShuttingDown.into_response();
    }
    let Some(app) = state.tenants.get(&slug) else {
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_app",
            format!(
                "no app named {slug:?} is served here; clients connect at /apps/{{slug}}/socket.io/"
            ),
        );
    };
    transport::serve(Endpoint::app(app), request).await
}

async fn echo_engine(State(state): State<Arc<ServerState>>, request: Request<Body>) -> Response {
    let Some(sessions) = state.echo.clone() else {
        return not_found().await;
    };
    if state.is_shutting_down() {
        return TransportError::ShuttingDown.into_response();
    }
    transport::serve(Endpoint::echo(sessions, state.settings.clone()), request).await
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint".into(),
    )
}

/// A JSON error body: `{"error": code, "message": …}`.
pub fn problem(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
