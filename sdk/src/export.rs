//! The glue between the generated component exports and [`crate::Handler`].

use crate::bindings::eddy::handler::types as wit;
use crate::{
    Ack, ConnectReply, Context, DisconnectReason, Event, EventError, Handler, Handshake, Reject,
    Timer, TimerContext,
};

/// The SDK's version as bytes, for the stamp below.
#[cfg(target_family = "wasm")]
const STAMP_LEN: usize = crate::VERSION.len();
#[cfg(target_family = "wasm")]
const fn stamp() -> [u8; STAMP_LEN] {
    let mut out = [0u8; STAMP_LEN];
    let bytes = crate::VERSION.as_bytes();
    let mut i = 0;
    while i < STAMP_LEN {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// The SDK's version in a custom section named `eddy-sdk` of the core
/// module, which the server reads at deploy to show which SDK built each
/// deployment (as Spin stamps its SDK version). It sits in this module on
/// purpose: the linker keeps an object file of a dependency only when
/// something in it is used, and every hook calls `install_panic_hook`
/// here; `tests/tests/all/contract.rs` checks the stamp reaches the
/// component.
#[cfg(target_family = "wasm")]
// `link_section` is an unsafe attribute: misplaced bytes can corrupt a
// binary. These are inert data in a custom section that nothing executes
// or reads at run time.
#[allow(unsafe_code)]
#[unsafe(link_section = "eddy-sdk")]
#[used]
static SDK_STAMP: [u8; STAMP_LEN] = stamp();

/// Exports `$ty` (which implements [`Handler`]) as the component's handler.
/// `#[eddy_sdk::handler]` writes this for you.
#[macro_export]
macro_rules! export {
    ($ty:ty) => {
        const _: () = {
            struct EddyHandlerExport;
            impl $crate::bindings::exports::eddy::handler::handler::Guest for EddyHandlerExport {
                fn on_connect(
                    ctx: $crate::bindings::eddy::handler::types::SocketInfo,
                    handshake: $crate::bindings::eddy::handler::types::Handshake,
                ) -> ::core::result::Result<
                    $crate::bindings::eddy::handler::types::ConnectReply,
                    $crate::bindings::eddy::handler::types::Reject,
                > {
                    $crate::__private::on_connect::<$ty>(ctx, handshake)
                }
                fn on_event(
                    ctx: $crate::bindings::eddy::handler::types::SocketInfo,
                    event: $crate::bindings::eddy::handler::types::Event,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::bindings::eddy::handler::types::Ack>,
                    $crate::bindings::eddy::handler::types::EventError,
                > {
                    $crate::__private::on_event::<$ty>(ctx, event)
                }
                fn on_disconnect(
                    ctx: $crate::bindings::eddy::handler::types::SocketInfo,
                    reason: $crate::bindings::eddy::handler::types::DisconnectReason,
                ) {
                    $crate::__private::on_disconnect::<$ty>(ctx, reason)
                }
                fn on_timer(timer: $crate::bindings::eddy::handler::types::Timer) {
                    $crate::__private::on_timer::<$ty>(timer)
                }
            }
            // Only WebAssembly builds export the component's functions; a
            // native build (tests with the mock host) has nothing to export.
            #[cfg(target_family = "wasm")]
    $crate::bindings::__export_app!(EddyHandlerExport with_types_in $crate::bindings);
        };
    };
}

fn context(ctx: wit::SocketInfo) -> Context {
    Context::new(&ctx.app, &ctx.namespace, &ctx.socket, ctx.data)
}

/// Sends a panic's message to the app's log before the trap loses it.
/// Never inlined: being called from every hook keeps this module's object
/// file, and with it the version stamp, in the component.
#[inline(never)]
fn install_panic_hook() {
    #[cfg(target_family = "wasm")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                crate::log::error(format!("handler panicked: {info}"))
            }));
        });
    }
}

pub fn on_connect<H: Handler>(
    ctx: wit::SocketInfo,
    hs: wit::Handshake,
) -> Result<wit::ConnectReply, wit::Reject> {
    install_panic_hook();
    let handshake = Handshake {
        auth: hs.auth,
        query: hs.query,
        headers: hs.headers,
        address: hs.address,
        issued_ms: hs.issued_ms,
    };
    H::on_connect(&context(ctx), &handshake)
        .map(|ConnectReply { rooms, data }| wit::ConnectReply { rooms, data })
        .map_err(|Reject { message, data }| wit::Reject { message, data })
}

pub fn on_event<H: Handler>(
    ctx: wit::SocketInfo,
    event: wit::Event,
) -> Result<Option<wit::Ack>, wit::EventError> {
    install_panic_hook();
    let event = Event {
        name: event.name,
        args: crate::Args(event.args),
        attachments: event.attachments,
        wants_ack: event.wants_ack,
    };
    H::on_event(&context(ctx), event)
        .map(|ack| ack.map(|Ack { args, attachments }| wit::Ack { args, attachments }))
        .map_err(|EventError { code, message }| wit::EventError { code, message })
}

pub fn on_disconnect<H: Handler>(ctx: wit::SocketInfo, reason: wit::DisconnectReason) {
    install_panic_hook();
    use wit::DisconnectReason as W;
    let reason = match reason {
        W::TransportClose => DisconnectReason::TransportClose,
        W::TransportError => DisconnectReason::TransportError,
        W::PingTimeout => DisconnectReason::PingTimeout,
        W::ParseError => DisconnectReason::ParseError,
        W::MessageTooLarge => DisconnectReason::MessageTooLarge,
        W::SlowConsumer => DisconnectReason::SlowConsumer,
        W::ConnectTimeout => DisconnectReason::ConnectTimeout,
        W::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
        W::ForcedServerClose => DisconnectReason::ForcedServerClose,
        W::ClientNamespaceDisconnect => DisconnectReason::ClientNamespaceDisconnect,
        W::ServerNamespaceDisconnect => DisconnectReason::ServerNamespaceDisconnect,
    };
    H::on_disconnect(&context(ctx), reason);
}

pub fn on_timer<H: Handler>(timer: wit::Timer) {
    install_panic_hook();
    let cx = TimerContext::new(&timer.app, &timer.namespace);
    let key = timer.key.clone();
    let timer = Timer {
        key: timer.key,
        payload: timer.payload,
        due_ms: timer.due_ms,
    };
    if let Err(e) = H::on_timer(&cx, timer) {
        crate::log::error(format!("timer {key:?} failed: {e}"));
    }
}
