#![doc = include_str!("../README.md")]

// Everything is crate-private but the command line (the `eddy` binary is
// `eddy::cli::main`) and what the micro-benchmarks drive (`bench`), so the
// compiler can point at dead code and `unreachable_pub` keeps `pub` honest.
//
// Every module but `cli` is the server's: without the `server` feature the
// crate is the admin-API command line alone (the light install).
#[cfg(feature = "server")]
pub(crate) mod api;
pub mod cli;
#[cfg(feature = "server")]
pub(crate) mod cluster;
#[cfg(feature = "server")]
pub(crate) mod config;
#[cfg(feature = "server")]
pub(crate) mod control;
#[cfg(feature = "server")]
pub(crate) mod dispatch;
#[cfg(feature = "server")]
pub(crate) mod http;
#[cfg(feature = "server")]
pub(crate) mod live;
#[cfg(feature = "server")]
pub(crate) mod metrics;
#[cfg(feature = "server")]
pub(crate) mod open_files;
#[cfg(feature = "server")]
pub(crate) mod secrets;
#[cfg(feature = "server")]
pub(crate) mod server;
#[cfg(feature = "server")]
pub(crate) mod session;
#[cfg(feature = "server")]
pub(crate) mod socket;
#[cfg(feature = "server")]
pub(crate) mod state;
#[cfg(feature = "server")]
pub(crate) mod tenant;
#[cfg(feature = "server")]
pub(crate) mod transport;

#[cfg(test)]
mod code_map;

/// The data plane's types that the micro-benchmarks (`benches/benches/micro`)
/// drive without an HTTP server. Not an API: it follows the code.
#[cfg(feature = "server")]
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
