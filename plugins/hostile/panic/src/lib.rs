//! Hostile: panics on every event (a trap); the message reaches the app's log.

use eddy_sdk::{Context, Event, EventResult, Handler};

struct Panic;

#[eddy_sdk::handler]
impl Handler for Panic {
    fn on_event(_cx: &Context, event: Event) -> EventResult {
        panic!("boom on {}", event.name);
    }
}
