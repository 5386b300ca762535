#![doc = include_str!("../README.md")]

mod backoff;
mod bindings;
mod bounds;
mod cache;
mod caps;
mod engine;
mod error;
mod imports;
mod limiter;
mod pool;
mod state;
mod stdio;
mod validate;

pub use backoff::{FIRST_BACKOFF, MAX_BACKOFF};
pub use caps::{Capabilities, HostFuture, KvFuture};
pub use engine::{EngineOptions, HostEngine, LoadedComponent};
pub use error::{CallError, GuestFault, HostFault, LoadError};
pub use imports::{MAX_KV_BATCH_OPS, MAX_KV_PAGE, MAX_SOCKET_DATA_BYTES, MAX_TIMER_DELAY_MS};
pub use limiter::MemoryBudget;
pub use pool::{Contract, HandlerPool, Limits, PoolStats};

/// The value types of the `eddy:handler` contract, as the host sees them.
pub mod types {
    pub use crate::bindings::eddy::handler::config::ConfigError;
    pub use crate::bindings::eddy::handler::kv::{
        Entry as KvEntry, KvError, Op as KvOp, OpResult as KvOpResult,
    };
    pub use crate::bindings::eddy::handler::log::Level;
    pub use crate::bindings::eddy::handler::socket_data::DataError;
    pub use crate::bindings::eddy::handler::sockets::{EmitError, Target};
    pub use crate::bindings::eddy::handler::timers::TimerError;
    pub use crate::bindings::eddy::handler::types::{
        Ack, ConnectReply, DisconnectReason, Event, EventError, Handshake, Reject, SocketInfo,
        Timer,
    };
}
