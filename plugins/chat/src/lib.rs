//! `chat`: rooms. Shows joining and leaving rooms, broadcasting to a room
//! except the sender, member counts, and per-socket data set at connect.
//!
//! - connect with `auth: { name }` (default "anonymous"): the name is kept
//!   as the socket's data;
//! - `join(room)` / `leave(room)` → ack with the room's member count; the
//!   room's other members get `joined` / `left` with `{ name, count }`;
//! - `say(room, text)` → everyone else in the room gets
//!   `message` with `{ from, text, at }`; ack with how many got it;
//! - `members(room)` → ack with the member count.

use eddy_sdk::{Ack, ConnectReply, Context, Event, EventError, EventResult, Handler, Handshake, Reject, json};

pub struct Chat;

fn name(cx: &Context) -> String {
    cx.data().unwrap_or_else(|| "anonymous".to_owned())
}

fn room_arg(event: &Event) -> Result<String, EventError> {
    let room: String = event.args.get(0)?;
    if room.is_empty() || room.len() > 64 {
        return Err(EventError::bad_args("room names are 1 to 64 characters"));
    }
    Ok(room)
}

#[eddy_sdk::handler]
impl Handler for Chat {
    fn on_connect(_cx: &Context, handshake: &Handshake) -> Result<ConnectReply, Reject> {
        let name = handshake
            .auth::<serde_json::Value>()
            .and_then(|a| a["name"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "anonymous".to_owned());
        Ok(ConnectReply::accept().data(&name))
    }

    fn on_event(cx: &Context, event: Event) -> EventResult {
        match event.name.as_str() {
            "join" | "leave" => {
                let room = room_arg(&event)?;
                let joining = event.name == "join";
                if joining {
                    cx.join(&room);
                } else {
                    cx.leave(&room);
                }
                let count = cx.room_size(&room);
                let notice = if joining { "joined" } else { "left" };
                eddy_sdk::log::info(format!("{} {notice} {room} ({count} there)", name(cx)));
                cx.emit(notice)
                    .to_room(&room)
                    .except_me()
                    .arg(&json!({ "name": name(cx), "count": count }))?
                    .send()?;
                Ok(Some(Ack::of(&count)))
            }
            "say" => {
                let (room, text): (String, String) = event.args.parse()?;
                if text.len() > 4096 {
                    return Err(EventError::bad_args("messages are at most 4096 bytes"));
                }
                let message = json!({ "from": name(cx), "text": text, "at": eddy_sdk::now_ms() });
                let delivered = cx.emit("message").to_room(&room).except_me().arg(&message)?.send()?;
                Ok(Some(Ack::of(&delivered)))
            }
            "members" => Ok(Some(Ack::of(&cx.room_size(&room_arg(&event)?)))),
            other => Err(EventError::new("unknown_event", format!("chat has no event {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::testing::MockHost;

    #[test]
    fn room_messages_reach_the_others() {
        let host = MockHost::new();
        let ada = host.connect::<Chat>("ada", &Handshake::with_auth(json!({"name": "Ada"}))).unwrap();
        let bob = host.connect::<Chat>("bob", &Handshake::default()).unwrap();
        let joined = host.event::<Chat>(&ada, Event::new("join", json!(["r"])).with_ack()).unwrap();
        assert_eq!(joined.unwrap().args(), "[1]");
        host.event::<Chat>(&bob, Event::new("join", json!(["r"])).with_ack()).unwrap();
        host.take_emitted();
        let ack = host.event::<Chat>(&bob, Event::new("say", json!(["r", "hi"])).with_ack()).unwrap();
        assert_eq!(ack.unwrap().args(), "[1]");
        let sent = host.take_emitted();
        assert_eq!(sent[0].args[0]["from"], "anonymous");
        assert_eq!(sent[0].args[0]["text"], "hi");
        assert!(host.event::<Chat>(&bob, Event::new("say", json!([1]))).is_err());
    }
}
