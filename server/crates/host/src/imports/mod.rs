//! The host side of each imported interface, one file per interface.

mod clock;
mod kv;
mod log;
mod random;
mod sockets;

use crate::bindings::eddy::handler::types;
use crate::state::HostState;

impl types::Host for HostState {}
