//! The router: which path goes where (app endpoints, the diagnostics echo,
//! the admin and tenant APIs, the admin UI, probes, metrics). Its own
//! handlers are the probes and the app lookup; everything else is delegated.
//!
//! The paths fall in two parts, public and admin, so that the admin part
//! can be kept off the address clients reach (`admin_listen`): a listener
//! serves one [`Surface`], and a path outside it is a 404 like any other.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::api::{self, ApiError, ProblemCode};
use crate::metrics;
use crate::state::ServerState;
use crate::transport::{self, Endpoint, TransportError};

/// What one listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    /// Everything, on one address (no `admin_listen`).
    All,
    /// Clients, the tenant API and probes: what a proxy exposes.
    Public,
    /// The admin UI, the admin API, `/metrics` and probes: for operators.
    Admin,
}

pub(crate) fn router(state: Arc<ServerState>, surface: Surface) -> Router {
    // Probes on every listener: a load balancer and a supervisor may each
    // watch a different one.
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    if surface != Surface::Admin {
        router = router.merge(public(&state));
    }
    if surface != Surface::Public {
        router = router.merge(admin(&state));
    }
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(require_host))
        .layer(axum::middleware::from_fn(api::problem::ensure_problem))
        .with_state(state)
}

/// Clients (and the diagnostics echo) and the tenant API.
fn public(state: &Arc<ServerState>) -> Router<Arc<ServerState>> {
    let mut router = Router::new()
        .merge(api::tenant::router(state.clone()).layer(axum::middleware::from_fn(api::guard)))
        .route("/apps/{slug}/socket.io", any(app_engine))
        .route("/apps/{slug}/socket.io/", any(app_engine));
    if state.echo.is_some() {
        router = router
            .route("/engine.io", any(echo_engine))
            .route("/engine.io/", any(echo_engine));
    }
    router
}

/// The admin API and UI, and the metrics.
fn admin(state: &Arc<ServerState>) -> Router<Arc<ServerState>> {
    Router::new()
        .nest(
            "/admin/api/v1",
            api::admin::router(state.clone()).layer(axum::middleware::from_fn(api::guard)),
        )
        .route("/admin", get(api::admin::ui::redirect))
        .route("/admin/", get(api::admin::ui::index))
        .route("/admin/{*path}", get(api::admin::ui::asset))
        .route("/metrics", get(prometheus))
}

/// HTTP/1.1 requires a Host header; a request without one is malformed (and
/// a favourite of request-smuggling probes).
async fn require_host(request: Request<Body>, next: axum::middleware::Next) -> Response {
    if request.version() == axum::http::Version::HTTP_11
        && !request.headers().contains_key(header::HOST)
    {
        return ApiError::bad_request("an HTTP/1.1 request must carry a Host header")
            .into_response();
    }
    next.run(request).await
}

async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    if state.is_shutting_down() {
        return TransportError::ShuttingDown.into_response();
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
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::Unavailable,
                "the registry does not answer",
            )
            .into_response()
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
        return ApiError::new(
            StatusCode::NOT_FOUND,
            ProblemCode::UnknownApp,
            format!(
                "no app named {slug:?} is served here; clients connect at /apps/{{slug}}/socket.io/"
            ),
        )
        .into_response();
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
    ApiError::not_found("no such endpoint").into_response()
}

/// The router's error mapping, in process (`oneshot`): every refusal is
/// problem+json with the right status and code.
#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Method};
    use tower::ServiceExt;

    use super::*;
    use crate::config::{Config, Secret};

    const TOKEN: &str = "router-test-token";

    async fn state() -> (Arc<ServerState>, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "eddy-router-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let config = Config {
            data_dir: dir.clone(),
            admin_token: Some(Secret(TOKEN.into())),
            ..Config::default()
        };
        (ServerState::start(config).await.unwrap(), dir)
    }

    fn request(method: Method, uri: &str, token: Option<&str>, body: &str) -> Request<Body> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::from(body.to_owned())).unwrap()
    }

    async fn problem_of(router: &Router, request: Request<Body>) -> (u16, serde_json::Value) {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/problem+json")),
            "status {status}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// method, path, bearer token, body → status, problem code.
    type Case = (
        Method,
        &'static str,
        Option<&'static str>,
        &'static str,
        u16,
        &'static str,
    );

    #[tokio::test]
    async fn every_refusal_is_a_problem_with_its_status_and_code() {
        let (state, dir) = state().await;
        let router = router(state.clone(), Surface::All);
        let cases: &[Case] = &[
            (Method::GET, "/nothing/here", None, "", 404, "not_found"),
            (
                Method::GET,
                "/apps/nope/socket.io/?EIO=4&transport=polling",
                None,
                "",
                404,
                "unknown_app",
            ),
            (
                Method::GET,
                "/apps/demo/socket.io/?EIO=4&transport=carrier-pigeon",
                None,
                "",
                400,
                "engine_io",
            ),
            (
                Method::GET,
                "/apps/demo/socket.io/?EIO=3&transport=polling",
                None,
                "",
                400,
                "engine_io",
            ),
            (
                Method::GET,
                "/apps/demo/socket.io/?EIO=4&transport=polling&sid=nope",
                None,
                "",
                400,
                "engine_io",
            ),
            (
                Method::GET,
                "/admin/api/v1/apps",
                None,
                "",
                401,
                "unauthorized",
            ),
            (
                Method::GET,
                "/admin/api/v1/apps",
                Some("wrong"),
                "",
                401,
                "unauthorized",
            ),
            (
                Method::GET,
                "/admin/api/v1/apps/nope",
                Some(TOKEN),
                "",
                404,
                "not_found",
            ),
            (
                Method::POST,
                "/admin/api/v1/apps",
                Some(TOKEN),
                "{not json",
                400,
                "invalid_json",
            ),
            (
                Method::POST,
                "/admin/api/v1/apps",
                Some(TOKEN),
                r#"{"slug":"Bad Slug!"}"#,
                422,
                "invalid",
            ),
            (
                Method::POST,
                "/admin/api/v1/apps",
                Some(TOKEN),
                r#"{"slug":"demo"}"#,
                409,
                "conflict",
            ),
            (
                Method::GET,
                "/admin/api/nothing",
                Some(TOKEN),
                "",
                404,
                "not_found",
            ),
            (
                Method::POST,
                "/apps/demo/api/v1/emit",
                None,
                "{}",
                401,
                "unauthorized",
            ),
            (
                Method::POST,
                "/apps/demo/api/v1/emit",
                Some("wrong"),
                "{}",
                401,
                "unauthorized",
            ),
            // axum's own answers take the same shape.
            (
                Method::POST,
                "/healthz",
                None,
                "",
                405,
                "method_not_allowed",
            ),
            (
                Method::DELETE,
                "/admin/api/v1/apps",
                Some(TOKEN),
                "",
                405,
                "method_not_allowed",
            ),
            (
                Method::DELETE,
                "/admin/api/v1/tokens/abc",
                Some(TOKEN),
                "",
                400,
                "bad_request",
            ),
            (
                Method::GET,
                "/admin/no-such-file.js",
                None,
                "",
                404,
                "not_found",
            ),
        ];
        for (method, uri, token, body, status, code) in cases {
            let (got, problem) =
                problem_of(&router, request(method.clone(), uri, *token, body)).await;
            assert_eq!(
                (got, problem["code"].as_str()),
                (*status, Some(*code)),
                "{method} {uri}: {problem}"
            );
            assert_eq!(problem["status"], *status);
            assert_eq!(problem["type"], format!("urn:eddy:problem:{code}"));
            assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
        }
        // Engine.IO errors keep the protocol's own number.
        let (_, problem) = problem_of(
            &router,
            request(
                Method::GET,
                "/apps/demo/socket.io/?EIO=3&transport=polling",
                None,
                "",
            ),
        )
        .await;
        assert_eq!(problem["engine_io_code"], 5);

        // HTTP/1.1 without Host is malformed.
        let mut no_host = request(Method::GET, "/healthz", None, "");
        no_host.headers_mut().remove(header::HOST);
        let (status, problem) = problem_of(&router, no_host).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("bad_request"))
        );

        // Once shutdown begins, readiness and new sessions are refused.
        state.begin_shutdown();
        for uri in ["/readyz", "/apps/demo/socket.io/?EIO=4&transport=polling"] {
            let (status, problem) = problem_of(&router, request(Method::GET, uri, None, "")).await;
            assert_eq!(
                (status, problem["code"].as_str()),
                (503, Some("shutting_down")),
                "{uri}"
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn api_answers_are_never_cached_and_401s_name_the_scheme() {
        let (state, dir) = state().await;
        let router = router(state, Surface::All);
        let response = router
            .clone()
            .oneshot(request(Method::GET, "/admin/api/v1/apps", None, ""))
            .await
            .unwrap();
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let response = router
            .oneshot(request(Method::GET, "/admin/api/v1/apps", Some(TOKEN), ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// With `admin_listen`, each listener answers its own part and 404s
    /// the other's, in the same problem+json as any unknown path.
    #[tokio::test]
    async fn each_surface_serves_its_part_and_404s_the_other() {
        let (state, dir) = state().await;
        let public = router(state.clone(), Surface::Public);
        let admin = router(state, Surface::Admin);
        let client = "/apps/demo/socket.io/?EIO=4&transport=polling";
        let admin_paths = [
            "/admin/api/v1/apps",
            "/admin/",
            "/admin/styles.css",
            "/metrics",
        ];
        for (router, served, refused) in [
            (&public, &[client][..], &admin_paths[..]),
            (&admin, &admin_paths[..], &[client][..]),
        ] {
            for uri in ["/healthz", "/readyz"].iter().chain(served) {
                let response = router
                    .clone()
                    .oneshot(request(Method::GET, uri, Some(TOKEN), ""))
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{uri}");
            }
            for uri in refused {
                let (status, problem) =
                    problem_of(router, request(Method::GET, uri, Some(TOKEN), "")).await;
                assert_eq!(
                    (status, problem["code"].as_str()),
                    (404, Some("not_found")),
                    "{uri}"
                );
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
