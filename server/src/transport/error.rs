//! The one place transport failures become HTTP responses. The bodies are
//! problem+json like every other HTTP error (built by `api::problem`); an
//! Engine.IO protocol error keeps the protocol's number in `engine_io_code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eddy_proto::engine::ErrorCode;

use crate::api::problem::{ApiError, ProblemCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportError {
    /// A protocol error with its Engine.IO code (HTTP 400; 403 for Forbidden).
    Engine(ErrorCode),
    /// The message exceeds `max_payload` (HTTP 413).
    PayloadTooLarge { max_payload: usize },
    /// The server is stopping (HTTP 503): clients reconnect, elsewhere or later.
    ShuttingDown,
    /// The connection came in over `max_connections` (HTTP 503).
    AtCapacity,
    /// The client's address opened sessions faster than it may (HTTP 429).
    TooManySessions { retry_after_secs: u64 },
    /// The request body did not arrive in time (HTTP 408).
    BodyTimeout,
}

impl From<ErrorCode> for TransportError {
    fn from(code: ErrorCode) -> Self {
        Self::Engine(code)
    }
}

impl From<TransportError> for ApiError {
    fn from(error: TransportError) -> Self {
        match error {
            TransportError::Engine(code) => {
                let (status, problem) = match code {
                    ErrorCode::Forbidden => (StatusCode::FORBIDDEN, ProblemCode::Forbidden),
                    _ => (StatusCode::BAD_REQUEST, ProblemCode::EngineIo),
                };
                Self {
                    engine_io_code: Some(code as u8),
                    ..Self::new(status, problem, code.message())
                }
            }
            TransportError::PayloadTooLarge { max_payload } => Self {
                max_payload: Some(max_payload),
                ..Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ProblemCode::TooLarge,
                    format!("the message is larger than max_payload ({max_payload} bytes)"),
                )
            },
            TransportError::ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::ShuttingDown,
                "the server is shutting down",
            ),
            TransportError::AtCapacity => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::AtCapacity,
                "the server is at its connection limit; retry later",
            ),
            TransportError::TooManySessions { retry_after_secs } => Self::rate_limited(
                retry_after_secs,
                format!(
                    "too many new sessions from this address; retry after {retry_after_secs} s"
                ),
            ),
            TransportError::BodyTimeout => Self::new(
                StatusCode::REQUEST_TIMEOUT,
                ProblemCode::BodyTimeout,
                "the request body did not arrive in time",
            ),
        }
    }
}

impl IntoResponse for TransportError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
