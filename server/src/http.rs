//! The HTTP surface: probes, metrics, app endpoints and the diagnostics echo.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use tokio::sync::Semaphore;

use crate::config::{AppConfig, Config};
use crate::deploy::Deployer;
use crate::metrics::{self, ServerMetrics};
use crate::session::{CloseReason, EngineSettings, SessionTable};
use crate::tenant::{App, Tenants};
use crate::transport::{self, Endpoint, TransportError};

/// Everything the request handlers share.
pub struct ServerState {
    pub config: Arc<Config>,
    pub settings: Arc<EngineSettings>,
    pub tenants: Tenants,
    /// Sessions of the diagnostics echo endpoint, when enabled.
    pub echo: Option<Arc<SessionTable>>,
    pub metrics: ServerMetrics,
    /// One permit per open client connection (`max_connections`).
    pub connection_permits: Arc<Semaphore>,
    /// Compiles and deploys handler components.
    pub deployer: Arc<Deployer>,
    shutting_down: AtomicBool,
}

impl ServerState {
    /// Builds the apps (compiling handler components) and everything the
    /// handlers share.
    pub async fn start(config: Config) -> Result<Arc<Self>, String> {
        let settings = Arc::new(EngineSettings::from_config(&config));
        let deployer = Arc::new(Deployer::new(&config).map_err(|e| e.to_string())?);
        let mut app_configs = config.apps.clone();
        if app_configs.is_empty() && config.demo {
            app_configs.push(AppConfig::builtin("demo", "echo"));
        }
        let mut apps = Vec::new();
        for app_config in &app_configs {
            let echo = crate::dispatch::builtin("echo").expect("echo is built in");
            let app = match (&app_config.wasm, &app_config.handler) {
                (Some(path), _) => {
                    let app = App::new(&app_config.slug, echo);
                    let limits = deployer.limits(app_config);
                    deployer
                        .deploy_file(&app, path, limits.clone())
                        .await
                        .map_err(|e| format!("app {:?}: {e}", app_config.slug))?;
                    deployer.watch(app.clone(), path.clone(), limits);
                    app
                }
                (None, name) => {
                    let name = name.as_deref().unwrap_or("echo");
                    App::new(
                        &app_config.slug,
                        crate::dispatch::builtin(name).expect("validated by Config"),
                    )
                }
            };
            apps.push(app);
        }
        Ok(Arc::new(Self {
            settings,
            tenants: Tenants::new(apps),
            echo: config.engine_io_echo.then(Default::default),
            metrics: ServerMetrics::default(),
            connection_permits: Arc::new(Semaphore::new(config.max_connections)),
            shutting_down: AtomicBool::new(false),
            deployer,
            config: Arc::new(config),
        }))
    }

    pub fn open_connections(&self) -> usize {
        self.config.max_connections - self.connection_permits.available_permits()
    }

    /// Stops new sessions and closes every open one with `server shutting down`.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
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
        self.shutting_down.load(Ordering::Acquire)
    }
}

pub fn router(state: Arc<ServerState>) -> Router {
    let mut router = Router::new()
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
    router.fallback(not_found).with_state(state)
}

async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    if state.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else {
        "ready".into_response()
    }
}

async fn prometheus(State(state): State<Arc<ServerState>>) -> Response {
    let body = metrics::render(
        &state.metrics,
        state.open_connections(),
        &state.tenants.all(),
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
    transport::serve(Endpoint::app(app, state.settings.clone()), request).await
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
