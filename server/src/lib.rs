#![doc = include_str!("../README.md")]

// Everything is crate-private but the command line (the `eddy` binary is
// `eddy::cli::main`) and what the micro-benchmarks drive (`bench`), so the
// compiler can point at dead code and `unreachable_pub` keeps `pub` honest.
pub(crate) mod api;
pub mod cli;
pub(crate) mod cluster;
pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod dispatch;
pub(crate) mod http;
pub(crate) mod live;
pub(crate) mod metrics;
pub(crate) mod open_files;
pub(crate) mod secrets;
pub(crate) mod server;
pub(crate) mod session;
pub(crate) mod socket;
pub(crate) mod state;
pub(crate) mod tenant;
pub(crate) mod transport;

#[cfg(test)]
mod code_map;

/// The data plane's types that the micro-benchmarks (`benches/benches/micro`)
/// drive without an HTTP server. Not an API: it follows the code.
#[doc(hidden)]
pub mod bench {
    pub use crate::config::{BuiltinHandler, Config};
    pub use crate::dispatch::{
        ConnectReply, Handler, SocketContext, SocketEvent, Target, WasmHandler, builtin,
    };
    pub use crate::session::{EngineSettings, HandshakeInfo, Layer, Session, Transport};
    pub use crate::socket::{SioLayer, Socket, encode_event};
    pub use crate::tenant::App;
}
