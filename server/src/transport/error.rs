//! The one place transport failures become HTTP responses: Engine.IO's
//! 400 with a JSON error code, or 413 for an oversized message.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use eddy_proto::engine::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// A protocol error with its Engine.IO code (HTTP 400).
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

impl IntoResponse for TransportError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Engine(ErrorCode::Forbidden) => {
                (StatusCode::FORBIDDEN, ErrorCode::Forbidden.json_body())
            }
            Self::Engine(code) => (StatusCode::BAD_REQUEST, code.json_body()),
            Self::PayloadTooLarge { max_payload } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{{\"message\":\"Payload too large\",\"maxPayload\":{max_payload}}}"),
            ),
            Self::ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"error\":\"shutting_down\",\"message\":\"the server is shutting down\"}"
                    .to_owned(),
            ),
            Self::AtCapacity => (
                StatusCode::SERVICE_UNAVAILABLE,
                "{\"error\":\"at_capacity\",\"message\":\"the server is at its connection limit; retry later\"}"
                    .to_owned(),
            ),
            Self::TooManySessions { retry_after_secs } => {
                let body = format!(
                    "{{\"error\":\"rate_limited\",\"message\":\"too many new sessions from this address; retry after {retry_after_secs} s\"}}"
                );
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [
                        (header::CONTENT_TYPE, "application/json".to_owned()),
                        (header::RETRY_AFTER, retry_after_secs.to_string()),
                    ],
                    body,
                )
                    .into_response();
            }
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "{\"error\":\"body_timeout\",\"message\":\"the request body did not arrive in time\"}"
                    .to_owned(),
            ),
        };
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}
