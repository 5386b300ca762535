//! The host side of each imported interface, one file per interface, and
//! the older contract's imports served by them (`v0_1.rs`).

mod clock;
mod config;
mod kv;
mod log;
mod random;
mod socket_data;
mod sockets;
mod timers;
pub(crate) mod v0_1;

pub use kv::{MAX_KV_BATCH_OPS, MAX_KV_PAGE};
pub use socket_data::MAX_SOCKET_DATA_BYTES;
pub use timers::MAX_TIMER_DELAY_MS;

use crate::bindings::eddy::handler::types;
use crate::state::HostState;

impl types::Host for HostState {}
