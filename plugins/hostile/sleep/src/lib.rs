//! Hostile: `sleep` sleeps 5 s. `std::thread::sleep` compiles to a
//! `wasi:clocks` subscription and `pollable.block`: the guest waits inside a
//! host call, where no wasm runs and epochs never fire, so only a
//! wall-clock bound on the whole call stops it at the app's deadline. Any
//! other event is acked with its arguments.

use std::time::Duration;

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

struct Sleep;

#[eddy_sdk::handler]
impl Handler for Sleep {
    fn on_event(_cx: &Context, event: Event) -> EventResult {
        if event.name == "sleep" {
            std::thread::sleep(Duration::from_secs(5));
        }
        Ok(Some(Ack::raw(event.args.raw())))
    }
}
