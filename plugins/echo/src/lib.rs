//! `echo`: the Socket.IO conformance behaviour, as a WebAssembly handler.
//! Shows the smallest useful handler: accept or refuse namespaces, emit
//! back to the caller, answer acks, and pass binary attachments through.
//!
//! - connect to `/` or `/custom`: emit `auth` with the handshake's auth; any
//!   other namespace is refused with "Invalid namespace"; an auth of
//!   `{"refuse": code}` is refused with that code in its data;
//! - `message` → emit `message-back` with the same arguments;
//! - `message-with-ack` → ack with the same arguments;
//! - `join(room)` / `leave(room)` → ack with the room's size; `to-room(room,
//!   …args)` → `room-message` with `args` to the room except the sender, ack
//!   with how many got it (so the `demo` app shows rooms too);
//! - `fail(code, message)` → an error ack with that code (the server refuses
//!   codes it reserves for itself: see `event-error` in the WIT).

use eddy_sdk::{Ack, ConnectReply, Context, Event, EventResult, Handler, Handshake, Reject};

pub struct Echo;

#[eddy_sdk::handler]
impl Handler for Echo {
    fn on_connect(cx: &Context, handshake: &Handshake) -> Result<ConnectReply, Reject> {
        if !matches!(cx.namespace(), "/" | "/custom") {
            return Err(Reject::new("Invalid namespace"));
        }
        if let Some(code) = handshake.auth::<eddy_sdk::Value>().and_then(|a| a["refuse"].as_str().map(str::to_owned)) {
            return Err(Reject::new("refused on request").with_data(&eddy_sdk::json!({ "code": code })));
        }
        let auth = format!("[{}]", handshake.auth_raw());
        cx.emit("auth").raw_args(&auth, Vec::new()).send().map_err(|e| Reject::new(e.to_string()))?;
        Ok(ConnectReply::accept())
    }

    fn on_event(cx: &Context, event: Event) -> EventResult {
        match event.name.as_str() {
            "message" => {
                cx.emit("message-back").raw_args(event.args.raw(), event.attachments).send()?;
                Ok(None)
            }
            "message-with-ack" => Ok(Some(Ack::raw(event.args.raw()).with_attachments(event.attachments))),
            "join" | "leave" => {
                let room: String = event.args.get(0)?;
                if event.name == "join" {
                    cx.join(&room);
                } else {
                    cx.leave(&room);
                }
                Ok(Some(Ack::of(&cx.room_size(&room))))
            }
            "to-room" => {
                let mut args: Vec<eddy_sdk::Value> = event.args.parse()?;
                let room = match args.first() {
                    Some(eddy_sdk::Value::String(room)) => room.clone(),
                    _ => return Err(eddy_sdk::EventError::bad_args("to-room expects (room, …args)")),
                };
                args.remove(0);
                let rest = eddy_sdk::Value::Array(args).to_string();
                let n = cx.emit("room-message").to_room(&room).except_me().raw_args(&rest, event.attachments).send()?;
                Ok(Some(Ack::of(&n)))
            }
            "fail" => {
                let (code, message): (String, String) = (event.args.get(0)?, event.args.get(1)?);
                Err(eddy_sdk::EventError::new(code, message))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::testing::{MockHost, Recipients};
    use eddy_sdk::json;

    #[test]
    fn echoes_and_acks() {
        let host = MockHost::new();
        let cx = host.connect::<Echo>("s1", &Handshake::with_auth(json!({"token": "t"}))).unwrap();
        let auth = host.take_emitted();
        assert_eq!((auth[0].event.as_str(), &auth[0].args), ("auth", &json!([{"token": "t"}])));
        host.event::<Echo>(&cx, Event::new("message", json!([1, "two"]))).unwrap();
        let back = host.take_emitted();
        assert_eq!(back[0].to, Recipients::Socket("s1".into()));
        assert_eq!(back[0].args, json!([1, "two"]));
        let ack = host.event::<Echo>(&cx, Event::new("message-with-ack", json!([{"a": 1}])).with_ack()).unwrap();
        assert_eq!(ack.unwrap().args(), "[{\"a\":1}]");
    }
}
