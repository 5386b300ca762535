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
    use crate::bindings::eddy::handler::{
        clock, config, kv, log, random, socket_data, sockets, timers,
    };
    use crate::config::ConfigError;
    use crate::data::DataError;
    use crate::kv::{Entry, KvError, Op, OpResult};
    use crate::log::Level;
    use crate::timers::TimerError;

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
            kv::KvError::Unavailable(m) => KvError::Unavailable(m),
            kv::KvError::TooLarge(m) => KvError::TooLarge(m),
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

    pub(crate) fn kv_list(
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Entry>, KvError> {
        let page = kv::list(prefix, start_after, limit).map_err(kv_error)?;
        Ok(page
            .into_iter()
            .map(|kv::Entry { key, value }| Entry { key, value })
            .collect())
    }

    pub(crate) fn kv_compare_and_swap(
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, KvError> {
        kv::compare_and_swap(key, expected, new).map_err(kv_error)
    }

    pub(crate) fn kv_batch(ops: Vec<Op>) -> Result<Vec<OpResult>, KvError> {
        let ops: Vec<kv::Op> = ops
            .into_iter()
            .map(|op| match op {
                Op::Set(key, value) => kv::Op::Set(kv::Entry { key, value }),
                Op::Delete(key) => kv::Op::Delete(key),
                Op::Increment(key, by) => kv::Op::Increment((key, by)),
            })
            .collect();
        let done = kv::batch(&ops).map_err(kv_error)?;
        Ok(done
            .into_iter()
            .map(|r| match r {
                kv::OpResult::Set => OpResult::Set,
                kv::OpResult::Deleted(existed) => OpResult::Deleted(existed),
                kv::OpResult::Incremented(n) => OpResult::Incremented(n),
            })
            .collect())
    }

    fn timer_error(e: timers::TimerError) -> TimerError {
        match e {
            timers::TimerError::TooMany(max) => TimerError::TooMany { max },
            timers::TimerError::InvalidKey => TimerError::InvalidKey,
            timers::TimerError::PayloadTooLarge => TimerError::PayloadTooLarge,
            timers::TimerError::DelayTooLong => TimerError::DelayTooLong,
            timers::TimerError::Unavailable(m) => TimerError::Unavailable(m),
        }
    }

    pub(crate) fn timer_set(key: &str, delay_ms: u64, payload: &str) -> Result<(), TimerError> {
        timers::set(key, delay_ms, payload).map_err(timer_error)
    }

    pub(crate) fn timer_cancel(key: &str) -> Result<bool, TimerError> {
        timers::cancel(key).map_err(timer_error)
    }

    pub(crate) fn config_get(name: &str) -> Result<Option<String>, ConfigError> {
        config::get(name).map_err(|e| match e {
            config::ConfigError::SecretUnavailable => ConfigError::SecretUnavailable,
            config::ConfigError::Unavailable(m) => ConfigError::Unavailable(m),
        })
    }

    pub(crate) fn data_get(socket: &str) -> Option<String> {
        socket_data::get(socket)
    }

    pub(crate) fn data_set(socket: &str, data: Option<&str>) -> Result<(), DataError> {
        socket_data::set(socket, data).map_err(|e| match e {
            socket_data::DataError::NoSuchSocket => DataError::NoSuchSocket,
            socket_data::DataError::NotJson => DataError::NotJson,
            socket_data::DataError::TooLarge => DataError::TooLarge,
        })
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
    pub(crate) use crate::testing::*;
}

pub(crate) use imports::*;
