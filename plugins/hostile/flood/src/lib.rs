//! Hostile: `flood(n)` emits `n` events to the caller in one call (the host
//! caps emits per call and the caller's outbox is bounded); any other event
//! is acked with its arguments.

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

struct Flood;

#[eddy_sdk::handler]
impl Handler for Flood {
    fn on_event(cx: &Context, event: Event) -> EventResult {
        if event.name == "flood" {
            let n: u64 = event.args.get(0)?;
            let mut sent = 0u64;
            for i in 0..n {
                match cx.emit("drop").arg(&i)?.send() {
                    Ok(_) => sent += 1,
                    Err(_) => break,
                }
            }
            return Ok(Some(Ack::of(&sent)));
        }
        Ok(Some(Ack::raw(event.args.raw())))
    }
}
