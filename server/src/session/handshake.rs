//! What the client sent when it opened its session.

use std::net::SocketAddr;

/// What the client sent when it opened the session, kept for the
/// Socket.IO handshake that handlers see.
#[derive(Debug, Clone, Default)]
pub struct HandshakeInfo {
    pub remote: Option<SocketAddr>,
    /// Query parameters of the opening request, in order.
    pub query: Vec<(String, String)>,
    /// A few request headers handlers may use (origin, user agent, forwarding).
    pub headers: Vec<(String, String)>,
    /// Milliseconds since the Unix epoch.
    pub issued_ms: u64,
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The headers copied into [`HandshakeInfo::headers`].
pub(crate) const HANDSHAKE_HEADERS: [&str; 6] = [
    "origin",
    "user-agent",
    "referer",
    "accept-language",
    "x-forwarded-for",
    "x-real-ip",
];
