//! `echo`: the built-in native handler. It behaves like the reference server
//! of Socket.IO's own protocol tests, plus a few events the integration
//! tests use to exercise rooms and server-to-client acks:
//!
//! | event | effect |
//! |---|---|
//! | connect to `/` or `/custom` | emit `auth` with the handshake auth; other namespaces are refused |
//! | `message` | emit `message-back` with the same arguments |
//! | `message-with-ack` | ack with the same arguments |
//! | `join` `(room)` / `leave` `(room)` | join or leave the room; ack with its size |
//! | `to-room` `(room, …args)` | emit `room-message` with `args` to the room, sender excluded; ack with the count |
//!
//! The same behaviour as the `echo` plugin (`plugins/echo`), natively: the
//! benchmarks compare the two.

use std::sync::Arc;

use eddy_proto::codes::ClientErrorCode;
use serde_json::Value;

use super::{
    Ack, ConnectEvent, ConnectReject, ConnectReply, EventError, Handler, HandlerFuture,
    SocketContext, SocketEvent, Target,
};
use crate::socket::DisconnectReason;

pub(crate) struct EchoHandler;

impl Handler for EchoHandler {
    fn describe(&self) -> String {
        "echo".into()
    }

    fn on_connect<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        event: ConnectEvent<'a>,
    ) -> HandlerFuture<'a, Result<ConnectReply, ConnectReject>> {
        Box::pin(async move {
            if !matches!(event.namespace, "/" | "/custom") {
                return Err(ConnectReject::new("Invalid namespace"));
            }
            let args = format!("[{}]", event.auth);
            cx.emit(Target::Socket(cx.socket_id()), "auth", &args, &[]);
            Ok(ConnectReply::default())
        })
    }

    fn on_event<'a>(
        &'a self,
        cx: &'a Arc<SocketContext>,
        event: SocketEvent<'a>,
    ) -> HandlerFuture<'a, Result<Option<Ack>, EventError>> {
        Box::pin(async move {
            let me = cx.socket_id();
            match event.name {
                "message" => {
                    cx.emit(
                        Target::Socket(me),
                        "message-back",
                        event.args,
                        event.attachments,
                    );
                    Ok(None)
                }
                "message-with-ack" => Ok(Some(Ack {
                    args: event.args.to_owned(),
                    attachments: event.attachments.to_vec(),
                })),
                "join" | "leave" => {
                    let room = first_string(event.args)?;
                    if event.name == "join" {
                        if !cx.join(me, &room) {
                            return Err(EventError::server(
                                ClientErrorCode::RoomLimit,
                                "the app's room limits refused the join (max_rooms_per_socket, max_room_name_bytes)",
                            ));
                        }
                    } else {
                        cx.leave(me, &room);
                    }
                    Ok(Some(json_ack(&serde_json::json!([cx.room_size(&room)]))))
                }
                "to-room" => {
                    let mut args: Vec<Value> = parse_args(event.args)?;
                    if args.is_empty() || !args[0].is_string() {
                        return Err(bad_args("to-room expects (room, …args)"));
                    }
                    let room = args.remove(0);
                    let room = room.as_str().unwrap_or_default();
                    let rest = Value::Array(args).to_string();
                    let n = cx.emit(
                        Target::Rooms {
                            rooms: &[room],
                            except: &[me],
                        },
                        "room-message",
                        &rest,
                        event.attachments,
                    );
                    Ok(Some(json_ack(&serde_json::json!([n]))))
                }
                _ => Ok(None),
            }
        })
    }

    fn on_disconnect<'a>(
        &'a self,
        _cx: &'a Arc<SocketContext>,
        _reason: DisconnectReason,
    ) -> HandlerFuture<'a, ()> {
        Box::pin(async {})
    }
}

fn bad_args(message: &str) -> EventError {
    EventError::server(ClientErrorCode::BadArguments, message)
}

fn parse_args(args: &str) -> Result<Vec<Value>, EventError> {
    serde_json::from_str(args).map_err(|_| bad_args("arguments are not a JSON array"))
}

fn first_string(args: &str) -> Result<String, EventError> {
    match parse_args(args)?.into_iter().next() {
        Some(Value::String(s)) => Ok(s),
        _ => Err(bad_args("expected a room name as the first argument")),
    }
}

fn json_ack(value: &Value) -> Ack {
    Ack {
        args: value.to_string(),
        attachments: Vec::new(),
    }
}
