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
}

impl From<ErrorCode> for TransportError {
    fn from(code: ErrorCode) -> Self {
        Self::Engine(code)
    }
}

impl IntoResponse for TransportError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
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
        };
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}
