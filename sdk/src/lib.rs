#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[doc(hidden)]
#[path = "export.rs"]
pub mod __private;
pub mod config;
mod context;
pub mod data;
mod emit;
mod host;
pub mod kv;
pub mod log;
pub mod random;
#[cfg(not(target_family = "wasm"))]
pub mod testing;
mod timer_context;
pub mod timers;
mod types;

pub use config::ConfigError;
pub use context::Context;
pub use data::DataError;
pub use eddy_sdk_macros::handler;
pub use emit::{Emit, Unaddressed};
pub use host::EmitError;
pub use kv::KvError;
pub use serde_json::{Value, json};
pub use timer_context::TimerContext;
pub use timers::{Timer, TimerError};
pub use types::{
    Ack, Args, ConnectReply, DisconnectReason, Event, EventError, EventResult, Handshake, Reject,
    TimerResult,
};

/// This SDK's version, which it stamps into every component built with it
/// (in a custom section named `eddy-sdk`); the admin UI shows it beside
/// each deployment.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version of the `eddy:handler` contract this SDK builds components
/// for (`sdk/wit/handler.wit`).
pub const CONTRACT: &str = "0.2.0";

/// The bindings generated from `sdk/wit` (the `eddy:handler` world). Used by
/// [`export!`]; handler code does not need them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "app",
        pub_export_macro: true,
        export_macro_name: "__export_app",
        default_bindings_module: "eddy_sdk::bindings",
    });
}

/// An app's event logic. Implement it on a type (usually a unit struct) and
/// mark the impl with [`#[eddy_sdk::handler]`](handler).
///
/// Hooks are plain functions: an instance of the component may serve many
/// sockets one after the other and can be replaced at any time, so keep
/// durable state in [`kv`], not in statics.
pub trait Handler {
    /// A client asks to join a namespace. The default accepts every namespace.
    fn on_connect(cx: &Context, handshake: &Handshake) -> Result<ConnectReply, Reject> {
        let _ = (cx, handshake);
        Ok(ConnectReply::accept())
    }

    /// An event from a connected socket. Return `Ok(Some(ack))` to answer a
    /// client that asked for an ack ([`Event::wants_ack`]).
    fn on_event(cx: &Context, event: Event) -> EventResult;

    /// The socket left (best effort). The default does nothing.
    fn on_disconnect(cx: &Context, reason: DisconnectReason) {
        let _ = (cx, reason);
    }

    /// One of the app's [`timers`] fell due. It has no calling socket:
    /// [`TimerContext`] reaches the namespace the timer was set from. An
    /// error is written to the app's log; the timer is not retried. A hook
    /// runs again (on another node) only if the node running it died, so
    /// make it safe to repeat. The default does nothing.
    fn on_timer(cx: &TimerContext, timer: Timer) -> TimerResult {
        let _ = (cx, timer);
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, from the host's clock.
pub fn now_ms() -> u64 {
    host::now_ms()
}
