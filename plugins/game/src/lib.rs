//! `game`: a room with a 20 Hz tick. Shows timers (a 50 ms timer that
//! re-arms itself from `on_timer`, and stops when the room empties), socket
//! data as per-player state, and emitting to a room from a hook that has no
//! calling socket.
//!
//! - connect with `auth: { name }` (default "player");
//! - `join(room)` → the socket joins game room `room` (leaving the one it
//!   was in); ack with `{ room, players }`. The first player starts the
//!   room's tick;
//! - `move(dx, dy)` → moves the player (each step at most 10, the board is
//!   100 × 100); no ack needed;
//! - every 50 ms while the room has players, each of them gets `state`
//!   with `{ room, tick, players: [{ id, name, x, y }] }`, sorted by id;
//! - `leave()` → leaves the room; ack with the players left. When the last
//!   player leaves or disconnects, the tick stops.

use std::time::Duration;

use eddy_sdk::{
    Ack, ConnectReply, Context, DisconnectReason, Event, EventError, EventResult, Handler,
    Handshake, Reject, Timer, TimerContext, TimerResult, json, log,
};
use serde::{Deserialize, Serialize};

pub struct Game;

/// The tick period: 20 Hz.
pub const TICK: Duration = Duration::from_millis(50);
/// The board's size along each axis.
const BOARD: i32 = 100;
/// The longest step one `move` may take along each axis.
const MAX_STEP: i32 = 10;

/// A player's state, kept as the socket's data: it lives and dies with the
/// connection, and the tick reads every player's from the room's members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Player {
    name: String,
    room: Option<String>,
    x: i32,
    y: i32,
}

/// What a tick timer carries from one tick to the next.
#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    room: String,
    tick: u64,
}

/// The Socket.IO room of game room `room` (apart from any other use of rooms).
fn room_of(room: &str) -> String {
    format!("game/{room}")
}

/// The timer key of a room's tick: one per room, so setting it again
/// replaces it rather than starting a second tick.
fn tick_key(room: &str) -> String {
    format!("tick/{room}")
}

fn player(cx: &Context) -> Player {
    cx.data().unwrap_or_default()
}

/// Leaves the player's room, if any; stops the room's tick if it emptied.
fn leave_room(cx: &Context, player: &mut Player) -> Result<u32, EventError> {
    let Some(room) = player.room.take() else {
        return Ok(0);
    };
    cx.leave(&room_of(&room));
    let left = cx.room_size(&room_of(&room));
    if left == 0 {
        stop(&room)?;
    }
    Ok(left)
}

fn stop(room: &str) -> Result<(), EventError> {
    if eddy_sdk::timers::cancel(&tick_key(room))? {
        log::info(format!("room {room} is empty: tick stopped"));
    }
    Ok(())
}

#[eddy_sdk::handler]
impl Handler for Game {
    fn on_connect(_cx: &Context, handshake: &Handshake) -> Result<ConnectReply, Reject> {
        let name = handshake
            .auth::<serde_json::Value>()
            .and_then(|a| a["name"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "player".to_owned());
        Ok(ConnectReply::accept().data(&Player {
            name,
            ..Player::default()
        }))
    }

    fn on_event(cx: &Context, event: Event) -> EventResult {
        let mut me = player(cx);
        match event.name.as_str() {
            "join" => {
                let room: String = event.args.get(0)?;
                if room.is_empty() || room.len() > 64 {
                    return Err(EventError::bad_args("room names are 1 to 64 characters"));
                }
                leave_room(cx, &mut me)?;
                if !cx.join(&room_of(&room)) {
                    return Err(EventError::new(
                        "join_refused",
                        "the app's room limits refuse the join",
                    ));
                }
                me.room = Some(room.clone());
                cx.set_data(&me)?;
                let players = cx.room_size(&room_of(&room));
                if players == 1 {
                    cx.timers().set(
                        &tick_key(&room),
                        TICK,
                        &Tick {
                            room: room.clone(),
                            tick: 0,
                        },
                    )?;
                    log::info(format!("room {room} started"));
                }
                Ok(Some(Ack::of(&json!({ "room": room, "players": players }))))
            }
            "move" => {
                let (dx, dy): (i32, i32) = event.args.parse()?;
                if me.room.is_none() {
                    return Err(EventError::new("not_in_a_room", "join a room first"));
                }
                me.x = (me.x + dx.clamp(-MAX_STEP, MAX_STEP)).clamp(0, BOARD);
                me.y = (me.y + dy.clamp(-MAX_STEP, MAX_STEP)).clamp(0, BOARD);
                cx.set_data(&me)?;
                Ok(Some(Ack::of(&json!({ "x": me.x, "y": me.y }))))
            }
            "leave" => {
                let left = leave_room(cx, &mut me)?;
                cx.set_data(&me)?;
                Ok(Some(Ack::of(&left)))
            }
            other => Err(EventError::new(
                "unknown_event",
                format!("game has no event {other:?}"),
            )),
        }
    }

    fn on_disconnect(cx: &Context, _reason: DisconnectReason) {
        // The socket has already left its rooms: an empty room means it
        // was the last player.
        if let Some(room) = player(cx).room {
            if cx.room_size(&room_of(&room)) == 0 {
                if let Err(e) = stop(&room) {
                    log::warn(format!("stopping room {room}: {e}"));
                }
            }
        }
    }

    fn on_timer(cx: &TimerContext, timer: Timer) -> TimerResult {
        let Tick { room, tick } = timer.payload()?;
        let members = cx.room_members(&room_of(&room));
        if members.is_empty() {
            // The last player left between ticks: do not re-arm.
            log::info(format!("room {room} is empty: tick stopped"));
            return Ok(());
        }
        let players: Vec<_> = members
            .iter()
            .filter_map(|id| {
                let p: Player = cx.socket_data(id)?;
                Some(json!({ "id": id, "name": p.name, "x": p.x, "y": p.y }))
            })
            .collect();
        cx.emit("state")
            .to_room(&room_of(&room))
            .arg(&json!({ "room": room, "tick": tick, "players": players }))?
            .send()?;
        cx.timers().set(
            timer.key(),
            TICK,
            &Tick {
                room,
                tick: tick + 1,
            },
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::testing::MockHost;

    fn player(host: &MockHost, name: &str, room: &str, players: u32) -> Context {
        let cx = host
            .connect::<Game>(name, &Handshake::with_auth(json!({ "name": name })))
            .unwrap();
        let ack = host
            .event::<Game>(&cx, Event::new("join", json!([room])).with_ack())
            .unwrap();
        assert_eq!(
            ack.unwrap().args(),
            json!([{ "room": room, "players": players }]).to_string()
        );
        cx
    }

    /// The `state` broadcasts a socket received, clearing its inbox.
    fn states(host: &MockHost, cx: &Context) -> Vec<serde_json::Value> {
        host.take_received(cx)
            .into_iter()
            .filter(|r| r.event == "state")
            .map(|r| r.args[0].clone())
            .collect()
    }

    #[test]
    fn the_tick_runs_at_20_hz_while_the_room_has_players() {
        let host = MockHost::new();
        let ada = player(&host, "ada", "r", 1);
        assert_eq!(host.timers()[0].key, "tick/r");
        assert!(host.advance::<Game>(Duration::from_millis(49)).is_empty());
        host.event::<Game>(&ada, Event::new("move", json!([3, 40])))
            .unwrap();
        assert_eq!(
            host.advance::<Game>(Duration::from_millis(951)).len(),
            20,
            "20 ticks in a second"
        );
        let seen = states(&host, &ada);
        assert_eq!(seen.len(), 20);
        assert_eq!(
            seen[0],
            json!({ "room": "r", "tick": 0, "players": [{ "id": "ada", "name": "ada", "x": 3, "y": 10 }] })
        );
        assert_eq!(seen[19]["tick"], 19);

        // A second player joins the running tick: no second timer.
        let bob = player(&host, "bob", "r", 2);
        assert_eq!(host.timers().len(), 1);
        host.advance::<Game>(TICK);
        let both = states(&host, &bob);
        assert_eq!(both[0]["players"].as_array().unwrap().len(), 2);
        assert_eq!(states(&host, &ada).len(), 1);

        // Another room ticks on its own.
        let cyd = player(&host, "cyd", "other", 1);
        host.advance::<Game>(TICK);
        assert_eq!(states(&host, &cyd)[0]["players"][0]["id"], "cyd");
        assert_eq!(
            states(&host, &ada)[0]["players"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn the_tick_stops_when_the_room_empties() {
        let host = MockHost::new();
        let ada = player(&host, "ada", "r", 1);
        let bob = player(&host, "bob", "r", 2);
        host.advance::<Game>(TICK * 2);
        let left = host
            .event::<Game>(&ada, Event::new("leave", json!([])).with_ack())
            .unwrap();
        assert_eq!(left.unwrap().args(), "[1]");
        assert_eq!(host.timers().len(), 1, "bob is still playing");
        host.disconnect::<Game>(&bob, DisconnectReason::TransportClose);
        assert!(
            host.timers().is_empty(),
            "the last player's disconnect cancels the tick"
        );
        assert!(host.advance::<Game>(Duration::from_secs(1)).is_empty());
        assert!(
            states(&host, &ada).len() == 2
                && host
                    .logs()
                    .iter()
                    .any(|(_, l)| l == "room r is empty: tick stopped")
        );

        // A tick that finds the room empty (its players left on another
        // node, say) does not re-arm.
        eddy_sdk::timers::set("tick/gone", TICK, &json!({ "room": "gone", "tick": 7 })).unwrap();
        assert_eq!(host.advance::<Game>(Duration::from_secs(1)), ["tick/gone"]);
        assert!(host.timers().is_empty());
    }

    #[test]
    fn moves_are_bounded_and_need_a_room() {
        let host = MockHost::new();
        let ada = host.connect::<Game>("ada", &Handshake::default()).unwrap();
        let refused = host
            .event::<Game>(&ada, Event::new("move", json!([1, 1])))
            .unwrap_err();
        assert_eq!(refused.code, "not_in_a_room");
        host.event::<Game>(&ada, Event::new("join", json!(["r"])))
            .unwrap();
        let ack = host
            .event::<Game>(&ada, Event::new("move", json!([-50, 9])))
            .unwrap();
        assert_eq!(ack.unwrap().args(), r#"[{"x":0,"y":9}]"#);
        assert_eq!(
            host.event::<Game>(&ada, Event::new("join", json!([""])))
                .unwrap_err()
                .code,
            "bad_arguments"
        );
    }
}
