//! Engine.IO over HTTP: the entry point for `/apps/{slug}/socket.io/` and the
//! diagnostics echo at `/engine.io/`. It validates the query, then hands
//! the request to the polling or the websocket transport.

mod error;
mod polling;
mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eddy_proto::engine::ErrorCode;

pub use error::TransportError;

use crate::server::ConnectionPermit;
use crate::session::{
    EngineSettings, HANDSHAKE_HEADERS, HandshakeInfo, Layer, Session, SessionTable, Transport,
};
use crate::socket::SioLayer;
use crate::tenant::App;

/// Where sessions of one Engine.IO path live and what runs on top of them.
#[derive(Clone)]
pub struct Endpoint {
    pub sessions: Arc<SessionTable>,
    pub kind: EndpointKind,
    pub settings: Arc<EngineSettings>,
}

#[derive(Clone)]
pub enum EndpointKind {
    App(Arc<App>),
    Echo,
}

impl Endpoint {
    pub fn app(app: Arc<App>) -> Self {
        Self {
            sessions: app.sessions.clone(),
            settings: app.settings(),
            kind: EndpointKind::App(app),
        }
    }

    pub fn echo(sessions: Arc<SessionTable>, settings: Arc<EngineSettings>) -> Self {
        Self {
            sessions,
            kind: EndpointKind::Echo,
            settings,
        }
    }

    /// Opens a new session on this endpoint.
    fn open(&self, transport: Transport, handshake: HandshakeInfo) -> Arc<Session> {
        let layer = match &self.kind {
            EndpointKind::App(app) => {
                app.metrics.sessions_opened.inc();
                Layer::SocketIo(SioLayer::new(app.clone()))
            }
            EndpointKind::Echo => Layer::Echo,
        };
        Session::new(
            layer,
            transport,
            handshake,
            self.settings.clone(),
            &self.sessions,
        )
    }

    fn session(&self, sid: &str) -> Result<Arc<Session>, TransportError> {
        self.sessions
            .get(sid)
            .ok_or(TransportError::Engine(ErrorCode::UnknownSid))
    }
}

/// The query parameters Engine.IO cares about, plus all of them for the handshake.
struct EngineQuery {
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
    all: Vec<(String, String)>,
}

impl EngineQuery {
    fn parse(query: Option<&str>) -> Self {
        let all: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let get = |k: &str| all.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        Self {
            eio: get("EIO"),
            transport: get("transport"),
            sid: get("sid"),
            all,
        }
    }
}

/// Serves one Engine.IO request.
pub async fn serve(endpoint: Endpoint, request: Request<Body>) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if request.method() == Method::OPTIONS {
        preflight(request.headers())
    } else {
        route(endpoint, request)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    };
    // Browsers on the tenant's own origin poll cross-origin: allow it. Eddy
    // authenticates with the app's own mechanism, never with cookies.
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

fn preflight(headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

async fn route(endpoint: Endpoint, request: Request<Body>) -> Result<Response, TransportError> {
    let (mut parts, body) = request.into_parts();
    let query = EngineQuery::parse(parts.uri.query());
    if query.eio.as_deref() != Some("4") {
        return Err(ErrorCode::UnsupportedProtocolVersion.into());
    }
    match query.transport.as_deref() {
        Some("polling") => match (&parts.method, query.sid.as_deref()) {
            (&Method::GET, None) => Ok(polling::handshake(
                &endpoint,
                handshake_info(&parts, query.all),
            )),
            (&Method::GET, Some(sid)) => polling::poll(endpoint.session(sid)?).await,
            (&Method::POST, Some(sid)) => polling::post(endpoint.session(sid)?, body).await,
            (_, None) => Err(ErrorCode::BadHandshakeMethod.into()),
            (_, Some(_)) => Err(ErrorCode::BadRequest.into()),
        },
        Some("websocket") => {
            if parts.method != Method::GET {
                return Err(ErrorCode::BadRequest.into());
            }
            let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
                .await
                .map_err(|_| TransportError::Engine(ErrorCode::BadRequest))?;
            // The websocket outlives this HTTP request: it keeps the connection's permit.
            let permit = parts.extensions.get::<ConnectionPermit>().cloned();
            match query.sid.as_deref() {
                None => Ok(websocket::open(
                    &endpoint,
                    upgrade,
                    handshake_info(&parts, query.all),
                    permit,
                )),
                Some(sid) => websocket::upgrade(endpoint.session(sid)?, upgrade, permit),
            }
        }
        _ => Err(ErrorCode::UnknownTransport.into()),
    }
}

fn handshake_info(
    parts: &axum::http::request::Parts,
    query: Vec<(String, String)>,
) -> HandshakeInfo {
    let headers = HANDSHAKE_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    HandshakeInfo {
        remote: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
        query,
        headers,
        issued_ms: crate::session::unix_millis(),
    }
}
