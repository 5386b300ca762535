//! Hostile: start-up code that loops only sometimes, as a coin flip would,
//! but on a schedule a test can rely on: it spins forever when started in
//! the second half of each [`PERIOD_MS`] of wall-clock time ("unlucky"),
//! and returns at once in the first half. A deploy's trial start in a lucky
//! half passes; a later instance started in an unlucky half spins.
//!
//! Events: `crash` panics (the instance is discarded, so the next event
//! needs a new one); anything else is acked with its arguments.

use std::time::{SystemTime, UNIX_EPOCH};

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

/// One lucky half and one unlucky half. Tests share this number.
pub const PERIOD_MS: u128 = 8_000;

/// The reactor start-up entry point: the component runs it at instantiation.
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    if now % PERIOD_MS >= PERIOD_MS / 2 {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

struct StartFlaky;

#[eddy_sdk::handler]
impl Handler for StartFlaky {
    fn on_event(_cx: &Context, event: Event) -> EventResult {
        if event.name == "crash" {
            panic!("crash on request");
        }
        Ok(Some(Ack::raw(event.args.raw())))
    }
}
