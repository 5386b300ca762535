//! The public table of error codes a client can see: every `code` of an
//! error ack (`[{"error":{"code":…,"message":…}}]`) and of a refused
//! connect's `connect_error` data, who sends it, and the rule for the codes
//! tenants choose themselves.
//!
//! Codes are part of Eddy's contract: clients branch on them, so a code never
//! changes meaning and is never reused. The server (and the host that runs
//! handlers) sends the `Server` codes; the Rust SDK's helpers send the `Sdk`
//! codes on a handler's behalf. A handler may return any other code that
//! passes [`tenant_code_refusal`]; like Centrifugo reserving ranges of its
//! numeric codes, Eddy reserves its own codes and the prefixes `eddy_` and
//! `handler_` for itself. A handler that returns a reserved code gets
//! `handler_invalid_reply` instead, so a client can trust that
//! `handler_timeout` really means the server stopped the handler.
//!
//! Disconnect reasons (`CloseReason` in the server) and HTTP problem codes
//! (`ProblemCode`) are the other two public tables; `server/README.md` lists
//! all three.

/// Who sends a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// The server or the wasm host; handlers may not return these.
    Server,
    /// The Rust SDK's helpers, on a handler's behalf; handlers may return these.
    Sdk,
}

/// Every error code Eddy itself defines (in error acks, and in the data of
/// a `connect_error` the server or a failing handler caused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientErrorCode {
    /// The socket sent events faster than the app's `max_events_per_second`.
    RateLimited,
    /// The app has no running handler (none deployed, or its start-up failed
    /// and it is faulted for a while).
    AppUnavailable,
    /// The server failed to run the handler (our fault; logged).
    ServerError,
    /// The handler's reply broke the contract (bad JSON, a placeholder past
    /// its attachments, a reserved or malformed error code).
    HandlerInvalidReply,
    /// The handler ran past its deadline and was stopped.
    HandlerTimeout,
    /// The handler exceeded its memory limit.
    HandlerMemoryLimit,
    /// The handler trapped (a panic, an unreachable, a bad memory access).
    HandlerTrap,
    /// A new handler instance's start-up ran past its deadline.
    HandlerStartTimeout,
    /// The built-in handler refused a join (the app's room limits).
    RoomLimit,
    /// `connect_error`: the app is at its `max_connections`.
    ConnectionLimit,
    /// `connect_error`: the node holds the app's `max_namespaces` already.
    NamespaceLimit,
    /// The SDK could not decode the event's arguments into the handler's type.
    BadArguments,
    /// The SDK turned a handler's own error into an ack error.
    HandlerError,
    /// The SDK: an emit from the handler failed.
    EmitFailed,
    /// The SDK: a key-value call from the handler failed.
    KvFailed,
    /// The SDK: a timer call from the handler failed (e.g. `max_timers`).
    TimerFailed,
    /// The SDK: reading the app's config failed (e.g. a secret the server
    /// cannot decrypt).
    ConfigFailed,
    /// The SDK: setting a socket's data failed (not JSON, too large, no
    /// such socket).
    DataFailed,
}

impl ClientErrorCode {
    /// Every code, in the order of the README's table.
    pub const ALL: [Self; 18] = [
        Self::RateLimited,
        Self::AppUnavailable,
        Self::ServerError,
        Self::HandlerInvalidReply,
        Self::HandlerTimeout,
        Self::HandlerMemoryLimit,
        Self::HandlerTrap,
        Self::HandlerStartTimeout,
        Self::RoomLimit,
        Self::ConnectionLimit,
        Self::NamespaceLimit,
        Self::BadArguments,
        Self::HandlerError,
        Self::EmitFailed,
        Self::KvFailed,
        Self::TimerFailed,
        Self::ConfigFailed,
        Self::DataFailed,
    ];

    /// The code on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::AppUnavailable => "app_unavailable",
            Self::ServerError => "server_error",
            Self::HandlerInvalidReply => "handler_invalid_reply",
            Self::HandlerTimeout => "handler_timeout",
            Self::HandlerMemoryLimit => "handler_memory_limit",
            Self::HandlerTrap => "handler_trap",
            Self::HandlerStartTimeout => "handler_start_timeout",
            Self::RoomLimit => "room_limit",
            Self::ConnectionLimit => "connection_limit",
            Self::NamespaceLimit => "namespace_limit",
            Self::BadArguments => "bad_arguments",
            Self::HandlerError => "handler_error",
            Self::EmitFailed => "emit_failed",
            Self::KvFailed => "kv_failed",
            Self::TimerFailed => "timer_failed",
            Self::ConfigFailed => "config_failed",
            Self::DataFailed => "data_failed",
        }
    }

    pub const fn source(self) -> CodeSource {
        match self {
            Self::BadArguments
            | Self::HandlerError
            | Self::EmitFailed
            | Self::KvFailed
            | Self::TimerFailed
            | Self::ConfigFailed
            | Self::DataFailed => CodeSource::Sdk,
            _ => CodeSource::Server,
        }
    }

    /// The code of that name, if Eddy defines one.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// Longest code a handler may return.
pub const TENANT_CODE_MAX_BYTES: usize = 64;

/// Prefixes kept for codes Eddy may add later.
pub const RESERVED_PREFIXES: [&str; 2] = ["eddy_", "handler_"];

/// Why a handler may not return `code`, or `None` when it may: 1 to 64
/// ASCII letters, digits, `_`, `-` or `.`; not a `Server` code; no reserved
/// prefix (the SDK's own `handler_error` excepted).
pub fn tenant_code_refusal(code: &str) -> Option<String> {
    if code.is_empty() || code.len() > TENANT_CODE_MAX_BYTES {
        return Some(format!(
            "an error code is 1 to {TENANT_CODE_MAX_BYTES} bytes, not {}",
            code.len()
        ));
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Some(format!(
            "the error code {code:?} has characters other than ASCII letters, digits, `_`, `-` and `.`"
        ));
    }
    match ClientErrorCode::parse(code) {
        Some(known) if known.source() == CodeSource::Sdk => None,
        Some(_) => Some(format!(
            "the error code {code:?} is reserved: only the server sends it"
        )),
        None if RESERVED_PREFIXES.iter().any(|p| code.starts_with(p)) => Some(format!(
            "the error code {code:?} uses a prefix reserved by Eddy ({})",
            RESERVED_PREFIXES.join(", ")
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ClientErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} twice");
            assert_eq!(ClientErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ClientErrorCode::parse("nope"), None);
    }

    #[test]
    fn server_codes_all_fall_under_the_reserved_rule() {
        for code in ClientErrorCode::ALL {
            let refused = tenant_code_refusal(code.as_str()).is_some();
            assert_eq!(refused, code.source() == CodeSource::Server, "{code:?}");
        }
    }

    #[test]
    fn tenant_codes() {
        for ok in [
            "unknown_event",
            "not-allowed",
            "v2.quota",
            "E42",
            "bad_arguments",
            "handler_error",
        ] {
            assert_eq!(tenant_code_refusal(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "1 to 64"),
            (&"x".repeat(65) as &str, "1 to 64"),
            ("with space", "characters"),
            ("ünïcode", "characters"),
            ("handler_timeout", "reserved"),
            ("rate_limited", "reserved"),
            ("eddy_anything", "prefix"),
            ("handler_custom", "prefix"),
        ] {
            let refusal = tenant_code_refusal(bad).unwrap_or_default();
            assert!(refusal.contains(why), "{bad:?}: {refusal:?}");
        }
    }
}
