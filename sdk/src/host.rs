//! The one place that talks to the host: the component's imports when built
//! for WebAssembly, the [`crate::testing`] mock host everywhere else.

/// Why an emit was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// The arguments are not a JSON array.
    InvalidArgs,
    /// The event name is empty or reserved by Socket.IO (`connect`, `disconnect`, …).
    InvalidEvent,
    /// The packet is larger than the app's maximum payload.
    TooLarge,
    /// This call already emitted as many packets as it may.
    LimitReached,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InvalidArgs => "emit arguments are not a JSON array",
            Self::InvalidEvent => "the event name is empty or reserved by Socket.IO",
            Self::TooLarge => "emit is larger than the app's maximum payload",
            Self::LimitReached => "too many emits in one call",
        })
    }
}

impl std::error::Error for EmitError {}

/// Recipients of an emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum To {
    Socket(String),
    Rooms {
        rooms: Vec<String>,
        except: Vec<String>,
    },
    Namespace {
        except: Vec<String>,
    },
}

#[cfg(target_family = "wasm")]
mod imports {
    use super::*;
    use crate::bindings::eddy::handler::{clock, kv, log, random, sockets};
    use crate::kv::KvError;
    use crate::log::Level;

    pub(crate) fn emit(
        to: To,
        event: &str,
        args: &str,
        attachments: &[Vec<u8>],
    ) -> Result<u32, EmitError> {
        let target = match to {
            To::Socket(id) => sockets::Target::Socket(id),
            To::Rooms { rooms, except } => sockets::Target::RoomsExcept((rooms, except)),
            To::Namespace { except } => sockets::Target::NamespaceExcept(except),
        };
        sockets::emit(&target, event, args, attachments).map_err(|e| match e {
            sockets::EmitError::InvalidArgs => EmitError::InvalidArgs,
            sockets::EmitError::InvalidEvent => EmitError::InvalidEvent,
            sockets::EmitError::TooLarge => EmitError::TooLarge,
            sockets::EmitError::LimitReached => EmitError::LimitReached,
        })
    }

    pub(crate) fn join(socket: &str, room: &str) -> bool {
        sockets::join(socket, room)
    }

    pub(crate) fn leave(socket: &str, room: &str) -> bool {
        sockets::leave(socket, room)
    }

    pub(crate) fn disconnect(socket: &str) -> bool {
        sockets::disconnect(socket)
    }

    pub(crate) fn room_size(room: &str) -> u32 {
        sockets::room_size(room)
    }

    pub(crate) fn room_members(room: &str) -> Vec<String> {
        sockets::room_members(room)
    }

    fn kv_error(e: kv::KvError) -> KvError {
        match e {
            kv::KvError::QuotaExceeded => KvError::QuotaExceeded,
            kv::KvError::InvalidKey => KvError::InvalidKey,
            kv::KvError::NotANumber => KvError::NotANumber,
            kv::KvError::Unavailable(m) | kv::KvError::TooLarge(m) => KvError::Unavailable(m),
        }
    }

    pub(crate) fn kv_get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
        kv::get(key).map_err(kv_error)
    }

    pub(crate) fn kv_set(key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<(), KvError> {
        kv::set(key, value, ttl_ms).map_err(kv_error)
    }

    pub(crate) fn kv_delete(key: &str) -> Result<bool, KvError> {
        kv::delete(key).map_err(kv_error)
    }

    pub(crate) fn kv_increment(key: &str, delta: i64) -> Result<i64, KvError> {
        kv::increment(key, delta).map_err(kv_error)
    }

    pub(crate) fn log(level: Level, message: &str) {
        let level = match level {
            Level::Trace => log::Level::Trace,
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
            Level::Error => log::Level::Error,
        };
        log::write(level, message);
    }

    pub(crate) fn now_ms() -> u64 {
        clock::now_ms()
    }

    pub(crate) fn random_bytes(len: u32) -> Vec<u8> {
        random::bytes(len)
    }

    pub(crate) fn random_u64() -> u64 {
        random::next_u64()
    }
}

#[cfg(not(target_family = "wasm"))]
mod imports {
    pub(crate) use crate::testing::host::*;
}

pub(crate) use imports::*;
