//! The hook event and reply types of the [`super::Handler`] seam.

use std::borrow::Cow;

use bytes::Bytes;
use eddy_proto::codes::ClientErrorCode;

use crate::session::HandshakeInfo;

/// A client asks to join a namespace.
#[derive(Debug)]
pub struct ConnectEvent<'a> {
    pub namespace: &'a str,
    /// The client's `auth` payload as JSON (an object; `{}` when it sent none).
    pub auth: &'a str,
    pub handshake: &'a HandshakeInfo,
}

/// Acceptance of a connection.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConnectReply {
    /// Rooms the socket joins right away.
    pub rooms: Vec<String>,
    /// Data attached to the socket (JSON), visible to later hooks.
    pub data: Option<String>,
}

/// Refusal of a connection: the client receives CONNECT_ERROR with `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectReject {
    pub message: String,
    /// Extra JSON sent to the client as `data`.
    pub data: Option<String>,
}

impl ConnectReject {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// The handler failed to answer the connect: the client's
    /// `connect_error` data carries the error's code and message.
    pub(crate) fn handler_failed(e: &EventError) -> Self {
        Self {
            message: "the app's handler failed".into(),
            data: Some(serde_json::json!({ "code": e.code, "message": e.message }).to_string()),
        }
    }
}

/// An event from a client.
#[derive(Debug)]
pub struct SocketEvent<'a> {
    pub name: &'a str,
    /// The arguments as a JSON array (`[1,"two"]`), binary arguments as
    /// Socket.IO placeholders (`{"_placeholder":true,"num":0}`).
    pub args: &'a str,
    /// The binary attachments the placeholders refer to.
    pub attachments: &'a [Bytes],
    /// The client is waiting for an ack.
    pub wants_ack: bool,
}

/// An ack to send back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The ack arguments as a JSON array.
    pub args: String,
    pub attachments: Vec<Bytes>,
}

/// A handler failed to process an event. When the client asked for an ack
/// it receives `[{"error":{"code":…,"message":…}}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// A stable machine-readable code (`handler_error`, `handler_timeout`, …).
    pub code: Cow<'static, str>,
    pub message: String,
}

impl EventError {
    /// An error the server sends, with its code from the public table.
    pub fn server(code: ClientErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: Cow::Borrowed(code.as_str()),
            message: message.into(),
        }
    }

    pub fn to_ack_args(&self) -> String {
        serde_json::json!([{ "error": { "code": self.code, "message": self.message } }]).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_acks_are_one_object_argument() {
        let e = EventError {
            code: "handler_error".into(),
            message: "bad \"input\"".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_ack_args()).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"error": {"code": "handler_error", "message": "bad \"input\""}}])
        );
    }
}
