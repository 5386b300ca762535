//! Engine.IO over HTTP: the entry point for `/apps/{slug}/socket.io/` and the
//! diagnostics echo at `/engine.io/`. It validates the query, then hands
//! the request to the polling or the websocket transport.

mod address;
mod body;
mod error;
mod permit;
mod polling;
mod websocket;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eddy_proto::engine::ErrorCode;

pub(crate) use address::{AddressGuard, AddressLimits, AddressSlot};
pub(crate) use body::{DeadlineBody, is_body_timeout};
pub(crate) use error::TransportError;
pub(crate) use permit::{ConnectionPermit, OVERFLOW_CONNECTIONS, OverflowConnection};

use crate::session::{
    CloseReason, EngineSettings, HANDSHAKE_HEADERS, HandshakeInfo, Layer, Session, SessionTable,
    Transport,
};
use crate::socket::SioLayer;
use crate::tenant::App;

/// Where sessions of one Engine.IO path live and what runs on top of them.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub sessions: Arc<SessionTable>,
    pub kind: EndpointKind,
    pub settings: Arc<EngineSettings>,
}

#[derive(Clone)]
pub(crate) enum EndpointKind {
    App(Arc<App>),
    Echo,
}

impl Endpoint {
    pub(crate) fn app(app: Arc<App>) -> Self {
        Self {
            sessions: app.sessions.clone(),
            settings: app.settings(),
            kind: EndpointKind::App(app),
        }
    }

    pub(crate) fn echo(sessions: Arc<SessionTable>, settings: Arc<EngineSettings>) -> Self {
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

    /// What the app's `allowed_origins` says of a browser at `origin`.
    fn origin_policy(&self, origin: &HeaderValue) -> OriginPolicy {
        let EndpointKind::App(app) = &self.kind else {
            return OriginPolicy::Any;
        };
        let limits = app.limits();
        if limits.allowed_origins.is_empty() {
            OriginPolicy::Any
        } else if limits
            .allowed_origins
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes())
        {
            OriginPolicy::Listed
        } else {
            OriginPolicy::Refused
        }
    }

    /// The live session `sid`. A session past its ping deadline is gone even
    /// if its driver has not run yet, and one whose client is gone is
    /// forgotten at once: both answer "unknown sid", as the reference does.
    fn session(&self, sid: &str) -> Result<Arc<Session>, TransportError> {
        let session = self
            .sessions
            .get(sid)
            .ok_or(TransportError::Engine(ErrorCode::UnknownSid))?;
        if session.ping_overdue(tokio::time::Instant::now()) {
            session.close(CloseReason::PingTimeout);
        }
        if session.close_reason().is_some_and(CloseReason::client_gone) {
            return Err(ErrorCode::UnknownSid.into());
        }
        Ok(session)
    }
}

enum OriginPolicy {
    /// The app lists no origins: any may connect, without credentials.
    Any,
    /// On the app's list: reflected, with credentials.
    Listed,
    /// The app lists origins, and this is not one of them.
    Refused,
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
pub(crate) async fn serve(endpoint: Endpoint, request: Request<Body>) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    // Browsers send Origin on every websocket and cross-origin request;
    // clients outside a browser send none and are not concerned. A websocket
    // is not protected by CORS: an origin off the app's list is refused here.
    let listed = match origin.as_ref().map(|o| endpoint.origin_policy(o)) {
        Some(OriginPolicy::Refused) => {
            return TransportError::Engine(ErrorCode::Forbidden).into_response();
        }
        Some(OriginPolicy::Listed) => true,
        Some(OriginPolicy::Any) | None => false,
    };
    let mut response = if request.method() == Method::OPTIONS {
        preflight(request.headers())
    } else {
        route(endpoint, request)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    };
    // Browsers on a tenant's pages poll cross-origin. An origin is reflected
    // with credentials only when the app lists it; otherwise any origin may
    // read the response, without cookies (Eddy authenticates with the app's
    // own mechanism, never with cookies).
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        if listed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        } else {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
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
    if parts.extensions.get::<OverflowConnection>().is_some() {
        // Accepted over the connection cap so probes still answer: no sessions.
        return Err(TransportError::AtCapacity);
    }
    let query = EngineQuery::parse(parts.uri.query());
    if query.eio.as_deref() != Some("4") {
        return Err(ErrorCode::UnsupportedProtocolVersion.into());
    }
    let client = AddressGuard::of_request(&parts.extensions, &parts.headers);
    if query.sid.is_none()
        && let Some((guard, _, address)) = &client
    {
        admit_new_session(guard, *address)?;
    }
    let remote = client
        .map(|(_, peer, address)| {
            // Behind a trusted proxy, handlers see the client's address, not the proxy's.
            if address == peer.ip() {
                peer
            } else {
                SocketAddr::new(address, 0)
            }
        })
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        });
    match query.transport.as_deref() {
        Some("polling") => match (&parts.method, query.sid.as_deref()) {
            (&Method::GET, None) => Ok(polling::handshake(
                &endpoint,
                handshake_info(&parts, remote, query.all),
            )),
            (&Method::GET, Some(sid)) => polling::poll(endpoint.session(sid)?).await,
            (&Method::POST, Some(sid)) => {
                let announced = parts
                    .headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                polling::post(endpoint.session(sid)?, body, announced).await
            }
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
                    handshake_info(&parts, remote, query.all),
                    permit,
                )),
                Some(sid) => websocket::upgrade(endpoint.session(sid)?, upgrade, permit),
            }
        }
        _ => Err(ErrorCode::UnknownTransport.into()),
    }
}

/// A handshake from a client address over its new-session rate gets 429.
fn admit_new_session(guard: &AddressGuard, client: IpAddr) -> Result<(), TransportError> {
    guard
        .open_session(client)
        .map_err(|wait| TransportError::TooManySessions {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        })
}

/// What handlers see of the opening request; `remote` is the client's
/// address (the peer's unless a trusted proxy forwarded it), when known.
fn handshake_info(
    parts: &axum::http::request::Parts,
    remote: Option<SocketAddr>,
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
        remote,
        query,
        headers,
        issued_ms: crate::session::unix_millis(),
    }
}
