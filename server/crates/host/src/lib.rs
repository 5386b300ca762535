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
pub use caps::{Capabilities, KvFuture};
pub use engine::{EngineOptions, HostEngine, LoadedComponent};
pub use error::{CallError, GuestFault, HostFault, LoadError};
pub use pool::{HandlerPool, Limits, PoolStats};

/// The value types of the `eddy:handler` contract, as the host sees them.
pub mod types {
    pub use crate::bindings::eddy::handler::kv::KvError;
    pub use crate::bindings::eddy::handler::log::Level;
    pub use crate::bindings::eddy::handler::sockets::{EmitError, Target};
    pub use crate::bindings::eddy::handler::types::{
        Ack, ConnectReply, DisconnectReason, Event, EventError, Handshake, Reject, SocketInfo,
    };
}
