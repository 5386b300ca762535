//! Why a session ended, and what each reason means on the wire.

use super::OutFrame;
use crate::metrics::CLOSE_REASONS;

/// Why a session ended. The strings are the ones Socket.IO servers report,
/// plus Eddy's own for its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the connection or sent a close packet.
    TransportClose,
    /// The connection failed: IO error, overlapping requests, a stuck writer.
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent something that is not Engine.IO / Socket.IO.
    ParseError,
    /// The client sent a websocket text message that is not UTF-8.
    InvalidUtf8,
    /// The client sent a message larger than `max_payload`.
    MessageTooLarge,
    /// The client did not read its messages fast enough and its outbox overflowed.
    SlowConsumer,
    /// The client opened a session but joined no namespace in time.
    ConnectTimeout,
    /// The server is stopping.
    ServerShuttingDown,
    /// The server closed the session on purpose (an operator, a handler, an app removal).
    ForcedServerClose,
}

impl CloseReason {
    /// Every reason, in discriminant order; its length is the metrics'
    /// count of close counters, so the compiler keeps the two in step.
    pub const ALL: [Self; CLOSE_REASONS] = [
        Self::TransportClose,
        Self::TransportError,
        Self::PingTimeout,
        Self::ParseError,
        Self::InvalidUtf8,
        Self::MessageTooLarge,
        Self::SlowConsumer,
        Self::ConnectTimeout,
        Self::ServerShuttingDown,
        Self::ForcedServerClose,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::InvalidUtf8 => "invalid utf-8",
            Self::MessageTooLarge => "message too large",
            Self::SlowConsumer => "slow consumer",
            Self::ConnectTimeout => "connect timeout",
            Self::ServerShuttingDown => "server shutting down",
            Self::ForcedServerClose => "forced server close",
        }
    }

    /// The websocket close code sent with this reason.
    pub fn ws_close_code(self) -> u16 {
        match self {
            Self::ParseError => 1002,
            // RFC 6455: 1007 is "inconsistent data", such as non-UTF-8 text.
            Self::InvalidUtf8 => 1007,
            Self::MessageTooLarge => 1009,
            Self::SlowConsumer => 1008,
            Self::ServerShuttingDown => 1001,
            Self::TransportError => 1011,
            _ => 1000,
        }
    }

    /// The client is gone (missed its pong, dropped or broke its
    /// connection): the session is forgotten at once, as the reference
    /// server does, and its next request gets "unknown sid". Any other close
    /// keeps it a moment so the client can collect its farewell.
    pub fn client_gone(self) -> bool {
        matches!(self, Self::PingTimeout | Self::TransportError)
    }

    /// What a pending polling GET receives when the session closes: the
    /// reference server answers a client's own close with a noop, any other
    /// close with a close packet, and a malformed request with nothing (the
    /// POST itself gets the 400). A shutdown sends no close packet either:
    /// some clients (python-socketio) take one as "do not reconnect", and a
    /// restarting server wants its clients back; the GET gets a 503 instead.
    pub(super) fn polling_farewell(self) -> Option<OutFrame> {
        match self {
            Self::TransportClose => Some(OutFrame::NOOP),
            Self::ParseError
            | Self::InvalidUtf8
            | Self::MessageTooLarge
            | Self::ServerShuttingDown => None,
            _ => Some(OutFrame::CLOSE),
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_at_its_discriminant() {
        // The metrics count closes in an array indexed by `reason as usize`.
        for (i, reason) in CloseReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, i, "{reason}");
        }
    }
}
