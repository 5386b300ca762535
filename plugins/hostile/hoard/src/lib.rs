//! Hostile: hoards server memory through ordinary calls. It accepts every
//! namespace a client names (the SDK's default), and `hoard(count, bytes)`
//! joins `count` rooms with names of `bytes` bytes each, acking how many
//! joins the host allowed. The host's `max_rooms_per_socket`,
//! `max_room_name_bytes` and `max_namespaces` stop it.

use eddy_sdk::{Ack, Context, Event, EventResult, Handler};

struct Hoard;

#[eddy_sdk::handler]
impl Handler for Hoard {
    fn on_event(cx: &Context, event: Event) -> EventResult {
        if event.name != "hoard" {
            return Ok(Some(Ack::raw(event.args.raw())));
        }
        let (count, bytes): (u32, usize) = event.args.parse()?;
        let mut joined = 0u32;
        for i in 0..count {
            let mut room = format!("room-{i}-");
            room.extend(std::iter::repeat_n('x', bytes.saturating_sub(room.len())));
            if cx.join(&room) {
                joined += 1;
            }
        }
        Ok(Some(Ack::of(&joined)))
    }
}
