//! Inbound Engine.IO packets, whatever transport they came on.

use std::sync::Arc;

use bytes::Bytes;
use eddy_proto::engine::{self, PacketType};

use super::{CloseReason, Inbound, Layer, OutFrame, Session};

/// Processes one text frame (a websocket text message, or one record of a
/// polling payload). An `Err` is the reason to close the session.
pub(crate) async fn on_text(
    session: &Arc<Session>,
    inbound: &mut Inbound,
    frame: &str,
) -> Result<(), CloseReason> {
    let packet = engine::decode_text(frame).map_err(|error| {
        tracing::debug!(sid = %session.sid, %error, "invalid Engine.IO packet");
        CloseReason::ParseError
    })?;
    on_packet(session, inbound, packet).await
}

/// Processes one decoded text packet.
pub(crate) async fn on_packet(
    session: &Arc<Session>,
    inbound: &mut Inbound,
    packet: engine::Packet<'_>,
) -> Result<(), CloseReason> {
    match packet.kind {
        PacketType::Message => match (&session.layer, inbound) {
            (Layer::SocketIo(sio), Inbound::SocketIo(assembler)) => {
                sio.on_text(session, assembler, packet.data).await
            }
            (Layer::Echo, _) => {
                let echoed = OutFrame::text(format!("4{}", packet.data));
                push_echo(session, echoed, &[])
            }
            _ => unreachable!("layer and inbound state are created together"),
        },
        PacketType::Pong => {
            session.on_pong();
            Ok(())
        }
        // In Engine.IO v4 the server pings and the client answers. A client
        // ping is a protocol violation (the reference closes the session as
        // "invalid heartbeat direction"); answering it would queue a pong per
        // ping outside the outbox bound, for a client that need never read.
        PacketType::Ping => Err(CloseReason::ParseError),
        PacketType::Close => Err(CloseReason::TransportClose),
        // An upgrade or noop outside an upgrade, or an open from a client: harmless.
        PacketType::Upgrade | PacketType::Noop | PacketType::Open => Ok(()),
    }
}

/// Processes one binary message.
pub(crate) async fn on_binary(
    session: &Arc<Session>,
    inbound: &mut Inbound,
    data: Bytes,
) -> Result<(), CloseReason> {
    match (&session.layer, inbound) {
        (Layer::SocketIo(sio), Inbound::SocketIo(assembler)) => {
            sio.on_binary(session, assembler, data).await
        }
        (Layer::Echo, _) => push_echo(session, OutFrame::Binary(data), &[]),
        _ => unreachable!("layer and inbound state are created together"),
    }
}

fn push_echo(session: &Session, frame: OutFrame, attachments: &[Bytes]) -> Result<(), CloseReason> {
    session
        .outbox
        .push(frame, attachments)
        .map_err(|_| CloseReason::SlowConsumer)
}
