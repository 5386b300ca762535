//! The one shape of every HTTP error body Eddy sends: an RFC 9457
//! `application/problem+json` object that says what happened and what to do,
//! never internals (those go to the log). The admin API, the tenant API, the
//! router and the Engine.IO transport all build their errors here; the codes
//! they may use are the [`ProblemCode`] table.
//!
//! This module imports nothing else of the crate, so the data plane's
//! transport may use it without an edge back up into the APIs.

use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every machine-readable `code` an HTTP error body can carry. Clients may
/// branch on these; they never change meaning. `server/README.md` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProblemCode {
    /// The request is malformed (no Host header, a bad query, …).
    BadRequest,
    /// No or a wrong bearer token.
    Unauthorized,
    /// The origin or the app's policy refuses the request, or the admin
    /// token lacks the permission (`permission` names it).
    Forbidden,
    /// No such route, app, socket or record.
    NotFound,
    /// No app of that slug is served here.
    UnknownApp,
    /// The request conflicts with the current state (a slug in use, a
    /// socket gone before it acknowledged).
    Conflict,
    /// A JSON body that does not parse or does not match the schema.
    InvalidJson,
    /// A well-formed request with a value the server refuses.
    Invalid,
    /// An event name that is empty or reserved by Socket.IO.
    InvalidEvent,
    /// Recipients given in a way that cannot be served.
    InvalidTarget,
    /// A body or message over its limit.
    TooLarge,
    /// A change that would pass a tenant's quota or a platform ceiling
    /// (`ceiling` names which).
    QuotaExceeded,
    /// The deploy pipeline refused a component (`step` names where).
    DeployRefused,
    /// A secret was sent to a server started without `EDDY_SECRET_KEY`,
    /// which it needs to encrypt secrets.
    SecretKeyMissing,
    /// The client did not acknowledge in time.
    AckTimeout,
    /// The socket disconnected before it acknowledged.
    Disconnected,
    /// Too many requests from this address (`Retry-After` says when to retry).
    RateLimited,
    /// The request body did not arrive in time.
    BodyTimeout,
    /// The server is stopping; reconnect elsewhere or later.
    ShuttingDown,
    /// The server is at its connection limit.
    AtCapacity,
    /// Something the server needs (the registry) does not answer.
    Unavailable,
    /// The path exists, not with this method (`Allow` lists the methods).
    MethodNotAllowed,
    /// The body's media type is not one the endpoint reads.
    UnsupportedMediaType,
    /// An Engine.IO protocol error (`engine_io_code` carries the protocol's
    /// own number: 0 unknown transport, 1 unknown session, 2 bad handshake
    /// method, 3 bad request, 4 forbidden, 5 unsupported protocol version).
    EngineIo,
    /// The server failed; the cause is in its log.
    Internal,
}

impl ProblemCode {
    /// Every code, for the table in the README and its test.
    #[cfg(test)]
    pub(crate) const ALL: [Self; 25] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::UnknownApp,
        Self::Conflict,
        Self::InvalidJson,
        Self::Invalid,
        Self::InvalidEvent,
        Self::InvalidTarget,
        Self::TooLarge,
        Self::QuotaExceeded,
        Self::DeployRefused,
        Self::SecretKeyMissing,
        Self::AckTimeout,
        Self::Disconnected,
        Self::RateLimited,
        Self::BodyTimeout,
        Self::ShuttingDown,
        Self::AtCapacity,
        Self::Unavailable,
        Self::MethodNotAllowed,
        Self::UnsupportedMediaType,
        Self::EngineIo,
        Self::Internal,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::UnknownApp => "unknown_app",
            Self::Conflict => "conflict",
            Self::InvalidJson => "invalid_json",
            Self::Invalid => "invalid",
            Self::InvalidEvent => "invalid_event",
            Self::InvalidTarget => "invalid_target",
            Self::TooLarge => "too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::DeployRefused => "deploy_refused",
            Self::SecretKeyMissing => "secret_key_missing",
            Self::AckTimeout => "ack_timeout",
            Self::Disconnected => "disconnected",
            Self::RateLimited => "rate_limited",
            Self::BodyTimeout => "body_timeout",
            Self::ShuttingDown => "shutting_down",
            Self::AtCapacity => "at_capacity",
            Self::Unavailable => "unavailable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::EngineIo => "engine_io",
            Self::Internal => "internal",
        }
    }
}

/// The body of every HTTP error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// A URI naming the kind of problem: `urn:eddy:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: ProblemCode,
    /// The deploy pipeline step that refused an upload, if that is what happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'static str>,
    /// With `rate_limited`: seconds to wait (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// With `too_large` from the transport: the largest message allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_payload: Option<usize>,
    /// With `engine_io`: the Engine.IO protocol's error number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_io_code: Option<u8>,
    /// With `forbidden` from the admin API: the permission the token lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<&'static str>,
    /// With `quota_exceeded`: which ceiling (`tenant quota max_apps`,
    /// `platform ceiling max_connections`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<String>,
}

/// An HTTP error on its way to the client: the one error type of the edge.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: ProblemCode,
    pub detail: String,
    pub step: Option<&'static str>,
    pub retry_after_secs: Option<u64>,
    pub max_payload: Option<usize>,
    pub engine_io_code: Option<u8>,
    pub permission: Option<&'static str>,
    pub ceiling: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            step: None,
            retry_after_secs: None,
            max_payload: None,
            engine_io_code: None,
            permission: None,
            ceiling: None,
        }
    }

    pub(crate) fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ProblemCode::Unauthorized, detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ProblemCode::NotFound, detail)
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ProblemCode::BadRequest, detail)
    }

    /// 429 with `Retry-After`.
    pub(crate) fn rate_limited(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ProblemCode::RateLimited,
                detail,
            )
        }
    }

    /// A failure of ours: logged with its cause, answered without it.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error in an HTTP call");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::Internal,
            "the server failed to complete the request; the details are in its log",
        )
    }

    fn problem(self) -> Problem {
        Problem {
            kind: format!("urn:eddy:problem:{}", self.code.as_str()),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
            step: self.step,
            retry_after_secs: self.retry_after_secs,
            max_payload: self.max_payload,
            engine_io_code: self.engine_io_code,
            permission: self.permission,
            ceiling: self.ceiling,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after_secs;
        let mut response = (status, axum::Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match &rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::JsonSyntaxError(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, ProblemCode::InvalidJson, rejection.body_text())
    }
}

/// The code an error status gets when it is not one of ours (axum's own
/// answers: a wrong method, a malformed path or query parameter).
fn code_of(status: StatusCode) -> ProblemCode {
    match status.as_u16() {
        401 => ProblemCode::Unauthorized,
        403 => ProblemCode::Forbidden,
        404 => ProblemCode::NotFound,
        405 => ProblemCode::MethodNotAllowed,
        408 => ProblemCode::BodyTimeout,
        409 => ProblemCode::Conflict,
        413 => ProblemCode::TooLarge,
        415 => ProblemCode::UnsupportedMediaType,
        422 => ProblemCode::Invalid,
        429 => ProblemCode::RateLimited,
        503 => ProblemCode::Unavailable,
        s if s < 500 => ProblemCode::BadRequest,
        _ => ProblemCode::Internal,
    }
}

/// Around the whole router: an error answer that is not problem+json yet
/// (axum's rejections never pass through `ApiError`) becomes one, keeping
/// its status, its headers (`Allow`, `Retry-After`) and its text as the detail.
pub(crate) async fn ensure_problem(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t == "application/problem+json");
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejection texts are short; a longer body is not a rejection's.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let mut problem = ApiError::new(status, code_of(status), detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn every_error_is_problem_json_with_its_code_and_type() {
        let response = ApiError::not_found("no app \"x\"").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = body_of(response).await;
        assert_eq!(body["code"], "not_found");
        assert_eq!(body["type"], "urn:eddy:problem:not_found");
        assert_eq!(body["status"], 404);
        assert_eq!(body["title"], "Not Found");
        assert_eq!(body["detail"], "no app \"x\"");
        assert!(body.get("step").is_none(), "{body}");
    }

    #[tokio::test]
    async fn rate_limited_says_when_to_retry_in_the_header_and_the_body() {
        let response = ApiError::rate_limited(7, "slow down").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(body_of(response).await["retry_after_secs"], 7);
    }

    #[tokio::test]
    async fn unauthorized_names_the_scheme() {
        let response = ApiError::unauthorized("no token").into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn codes_are_unique_and_serialize_as_their_names() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} twice");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
    }
}
