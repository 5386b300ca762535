//! Hostile: `grow` allocates until memory runs out (the host stops it at the
//! app's memory limit); any other event is acked with its arguments.

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

struct Grow;

#[eddy_sdk::handler]
impl Handler for Grow {
    fn on_event(_cx: &Context, event: Event) -> EventResult {
        if event.name == "grow" {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
            }
        }
        Ok(Some(Ack::raw(event.args.raw())))
    }
}
