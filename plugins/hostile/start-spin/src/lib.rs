//! Hostile: start-up code that never returns. `_initialize` is run when the
//! component is instantiated (before any hook), so this loops inside the
//! host's instantiation; the host must stop it at its start deadline, and a
//! deploy must refuse it naming the step. Its hooks would echo, if reached.

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

/// The reactor start-up entry point: the component runs it at instantiation.
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

struct StartSpin;

#[eddy_sdk::handler]
impl Handler for StartSpin {
    fn on_event(_cx: &Context, event: Event) -> EventResult {
        Ok(Some(Ack::raw(event.args.raw())))
    }
}
