//! Hostile: `spin` loops forever (the host stops it at the app's deadline);
//! any other event is acked with its arguments, to show the next event works.

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

struct Spin;

#[eddy_sdk::handler]
impl Handler for Spin {
    fn on_event(_cx: &Context, event: Event) -> EventResult {
        if event.name == "spin" {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Ok(Some(Ack::raw(event.args.raw())))
    }
}
