//! `presence`: who is online, per room, kept in the app's key-value store so
//! every instance (and, in a cluster, every node) sees the same list.
//! Shows kv as shared state, the disconnect hook, and JSON values.
//!
//! - `enter(room, name)` → join the room; everyone in it gets
//!   `presence` with `{ room, online: [names…] }`; ack with the list;
//! - `exit(room)` → the same, without the caller;
//! - `who(room)` → ack with the list;
//! - on disconnect the socket leaves every room it entered.

use std::collections::BTreeMap;

use eddy_sdk::{Ack, Context, DisconnectReason, Event, EventResult, Handler, KvError, json, kv};

pub struct Presence;

/// socket id → name, for one room.
type Roster = BTreeMap<String, String>;

fn roster_key(room: &str) -> String {
    format!("presence:{room}")
}

fn rooms_key(socket: &str) -> String {
    format!("rooms-of:{socket}")
}

fn roster(room: &str) -> Result<Roster, KvError> {
    Ok(kv::get_json(&roster_key(room))?.unwrap_or_default())
}

/// The names online, sorted.
fn names(roster: &Roster) -> Vec<&str> {
    let mut names: Vec<&str> = roster.values().map(String::as_str).collect();
    names.sort_unstable();
    names
}

/// Updates a room's roster and tells the room.
fn update(cx: &Context, room: &str, change: impl FnOnce(&mut Roster)) -> Result<Vec<String>, eddy_sdk::EventError> {
    let mut list = roster(room)?;
    change(&mut list);
    if list.is_empty() {
        kv::delete(&roster_key(room))?;
    } else {
        kv::set_json(&roster_key(room), &list, None)?;
    }
    let online: Vec<String> = names(&list).into_iter().map(str::to_owned).collect();
    cx.emit("presence").to_room(room).arg(&json!({ "room": room, "online": online }))?.send()?;
    Ok(online)
}

fn remember(socket: &str, room: &str, entered: bool) -> Result<(), KvError> {
    let mut rooms: Vec<String> = kv::get_json(&rooms_key(socket))?.unwrap_or_default();
    rooms.retain(|r| r != room);
    if entered {
        rooms.push(room.to_owned());
    }
    if rooms.is_empty() { kv::delete(&rooms_key(socket)).map(|_| ()) } else { kv::set_json(&rooms_key(socket), &rooms, None) }
}

#[eddy_sdk::handler]
impl Handler for Presence {
    fn on_event(cx: &Context, event: Event) -> EventResult {
        let me = cx.socket_id().to_owned();
        match event.name.as_str() {
            "enter" => {
                let (room, name): (String, String) = event.args.parse()?;
                cx.join(&room);
                remember(&me, &room, true)?;
                let online = update(cx, &room, |r| {
                    r.insert(me.clone(), name);
                })?;
                Ok(Some(Ack::of(&online)))
            }
            "exit" => {
                let room: String = event.args.get(0)?;
                cx.leave(&room);
                remember(&me, &room, false)?;
                let online = update(cx, &room, |r| {
                    r.remove(&me);
                })?;
                Ok(Some(Ack::of(&online)))
            }
            "who" => {
                let room: String = event.args.get(0)?;
                Ok(Some(Ack::of(&names(&roster(&room)?))))
            }
            _ => Ok(None),
        }
    }

    fn on_disconnect(cx: &Context, _reason: DisconnectReason) {
        let me = cx.socket_id().to_owned();
        let rooms: Vec<String> = kv::get_json(&rooms_key(&me)).ok().flatten().unwrap_or_default();
        for room in rooms {
            if let Err(e) = update(cx, &room, |r| {
                r.remove(&me);
            }) {
                eddy_sdk::log::warn(format!("presence cleanup of {room} failed: {e}"));
            }
        }
        let _ = kv::delete(&rooms_key(&me));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::testing::MockHost;

    #[test]
    fn rosters_follow_enter_exit_and_disconnect() {
        let host = MockHost::new();
        let a = host.context("a");
        let b = host.context("b");
        host.event::<Presence>(&a, Event::new("enter", json!(["r", "Ada"]))).unwrap();
        let ack = host.event::<Presence>(&b, Event::new("enter", json!(["r", "Bob"]))).unwrap();
        assert_eq!(ack.unwrap().args(), r#"[["Ada","Bob"]]"#);
        host.disconnect::<Presence>(&a, DisconnectReason::TransportClose);
        let who = host.event::<Presence>(&b, Event::new("who", json!(["r"]))).unwrap();
        assert_eq!(who.unwrap().args(), r#"[["Bob"]]"#);
        host.event::<Presence>(&b, Event::new("exit", json!(["r"]))).unwrap();
        assert_eq!(host.kv("presence:r"), None);
    }
}
