use thiserror::Error;

/// Why a frame, payload or packet could not be decoded.
///
/// Every variant is a protocol violation by the peer: the caller closes the
/// connection with a "parse error" reason. "Need more data" is not an error;
/// see [`crate::socketio::Progress`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("empty packet")]
    Empty,
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownEngineType(char),
    #[error("unknown Socket.IO packet type {0:?}")]
    UnknownSocketType(char),
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    #[error("invalid attachment count")]
    InvalidAttachmentCount,
    #[error("too many attachments ({count}, at most {max})")]
    TooManyAttachments { count: usize, max: usize },
    #[error("a placeholder names an attachment the packet does not carry")]
    IllegalAttachments,
    #[error("invalid ack id")]
    InvalidAckId,
    #[error("invalid namespace")]
    InvalidNamespace,
    #[error("payload is not valid JSON")]
    InvalidJson,
    #[error("payload has the wrong shape for a {0} packet")]
    InvalidPayload(&'static str),
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    #[error("binary frame received while no binary packet was pending")]
    UnexpectedBinary,
    #[error("text frame received while a binary packet still awaits {0} attachment(s)")]
    AttachmentsPending(usize),
}
