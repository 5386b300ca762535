//! WebSocket: a session opened directly over websocket, or an upgrade of a
//! polling session (probe ping/pong, then the upgrade packet).
//!
//! One task per connection does everything: reads, writes, heartbeat. It
//! reads whatever frames are already buffered before it writes, so
//! pipelined clients get their replies in one write, and it keeps no big
//! buffers: the read buffer starts at `ws_read_buffer` bytes instead of
//! tungstenite's 128 KiB.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use eddy_proto::engine::PONG_PROBE;
use futures_util::{FutureExt, SinkExt};
use tokio::time::Instant;

use super::{ConnectionPermit, Endpoint, TransportError};
use crate::session::{self, Beat, CloseReason, Heartbeat, Inbound, OutFrame, Session, Transport};

/// Frames read back to back before the task flushes what they produced.
const READ_BATCH: usize = 64;
/// Bytes tungstenite buffers before writing to the socket mid-batch.
const WRITE_BUFFER: usize = 16 * 1024;
/// Time to say goodbye (flush and close frame) to a closing client.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

fn configure(upgrade: WebSocketUpgrade, settings: &session::EngineSettings) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(settings.ws_read_buffer)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(settings.max_payload)
        .max_frame_size(settings.max_payload)
}

/// A session opened over websocket from the start.
pub(super) fn open(
    endpoint: &Endpoint,
    upgrade: WebSocketUpgrade,
    handshake: session::HandshakeInfo,
    permit: Option<ConnectionPermit>,
) -> Response {
    let endpoint = endpoint.clone();
    configure(upgrade, &endpoint.settings).on_upgrade(move |socket| async move {
        let session = endpoint.open(Transport::WebSocket, handshake);
        session
            .outbox
            .push_control(OutFrame::text(session.open_packet()));
        // A task of its own, not axum's upgrade task: that one also holds the
        // handshake and the upgrade machinery, twice the memory per idle socket.
        tokio::spawn(run(socket, session, permit));
    })
}

/// A polling session moving to websocket.
pub(super) fn upgrade(
    session: Arc<Session>,
    upgrade: WebSocketUpgrade,
    permit: Option<ConnectionPermit>,
) -> Result<Response, TransportError> {
    let settings = session.settings.clone();
    if !session.begin_upgrade() {
        // Already upgraded, or another upgrade is under way. The reference
        // server completes this handshake and closes the new websocket,
        // leaving the session on its current transport untouched.
        return Ok(
            configure(upgrade, &settings).on_upgrade(|mut socket| async move {
                let _ = socket.send(Message::Close(None)).await;
            }),
        );
    }
    Ok(configure(upgrade, &settings).on_upgrade(move |mut socket| async move {
        let probed = tokio::select! {
            probed = tokio::time::timeout(settings.upgrade_timeout, probe(&mut socket, &session)) => {
                probed.unwrap_or(false)
            }
            _ = session.closed() => false,
        };
        if !probed {
            session.abort_upgrade();
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        session.complete_upgrade();
        tokio::spawn(run(socket, session, permit));
    }))
}

/// Answers `2probe` with `3probe` until the client sends `5` (upgrade).
async fn probe(socket: &mut WebSocket, session: &Session) -> bool {
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "2probe" => {
                if socket
                    .send(Message::Text(Utf8Bytes::from_static(PONG_PROBE)))
                    .await
                    .is_err()
                {
                    return false;
                }
                // Release a pending GET so the client can pause polling.
                session.release_poll();
            }
            Some(Ok(Message::Text(text))) if text.as_str() == "5" => return true,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            _ => return false,
        }
    }
}

/// Drives the session until it closes, then says goodbye and tears it down.
async fn run(mut socket: WebSocket, session: Arc<Session>, permit: Option<ConnectionPermit>) {
    let _permit = permit;
    // After an upgrade these wait for an in-flight POST and a pending GET.
    let mut inbound = session.inbound.lock().await;
    let _consumer = session.consumer.lock().await;
    let mut out = Vec::new();
    let reason = serve(&mut socket, &session, &mut inbound, &mut out).await;
    session.close(reason);
    let reason = session.close_reason().unwrap_or(reason);
    let farewell = async {
        // Whatever is queued (a DISCONNECT packet, say) goes out before the close frame.
        if flush(&mut socket, &session, &mut out).await.is_ok() {
            let frame = CloseFrame {
                code: reason.ws_close_code(),
                reason: Utf8Bytes::from_static(reason.as_str()),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    };
    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, farewell).await;
    drop(socket);
    session.teardown().await;
}

async fn serve(
    socket: &mut WebSocket,
    session: &Arc<Session>,
    inbound: &mut Inbound,
    out: &mut Vec<OutFrame>,
) -> CloseReason {
    let mut heartbeat = Heartbeat::start(session.heartbeat_settings(), Instant::now());
    let mut deadline = heartbeat.deadline();
    let timer = tokio::time::sleep_until(deadline);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            biased;
            _ = session.closed() => return session.close_reason().unwrap_or(CloseReason::TransportClose),
            _ = session.outbox.ready() => {
                if let Err(reason) = flush(socket, session, out).await {
                    return reason;
                }
            }
            // `receive` is boxed: its future (~1 KiB, the whole Socket.IO and
            // dispatch path) would otherwise sit in every idle connection's
            // task. One short-lived allocation per message measured no
            // throughput change; idle memory per socket dropped by ~600 bytes.
            message = socket.recv() => {
                if let Err(reason) = Box::pin(receive(message, session, inbound)).await {
                    return reason;
                }
                for _ in 0..READ_BATCH {
                    let Some(message) = socket.recv().now_or_never() else { break };
                    if let Err(reason) = Box::pin(receive(message, session, inbound)).await {
                        return reason;
                    }
                }
                if session.take_pong() {
                    heartbeat.on_pong(Instant::now());
                }
                if session.has_joined() {
                    heartbeat.on_joined();
                }
            }
            _ = &mut timer => {
                match heartbeat.poll(Instant::now()) {
                    Beat::Wait => {}
                    Beat::Ping => {
                        // Written on the next turn of this loop: the client
                        // has its whole timeout from now.
                        session.outbox.push_control(OutFrame::PING);
                        heartbeat.ping_delivered(Instant::now());
                    }
                    Beat::Close(reason) => return reason,
                }
            }
        }
        if heartbeat.deadline() != deadline {
            deadline = heartbeat.deadline();
            timer.as_mut().reset(deadline);
        }
    }
}

async fn receive(
    message: Option<Result<Message, axum::Error>>,
    session: &Arc<Session>,
    inbound: &mut Inbound,
) -> Result<(), CloseReason> {
    match message {
        Some(Ok(Message::Text(text))) => {
            session.traffic.bytes_in.add(text.len() as u64);
            session::on_text(session, inbound, text.as_str()).await
        }
        Some(Ok(Message::Binary(data))) => {
            session.traffic.bytes_in.add(data.len() as u64);
            session::on_binary(session, inbound, data).await
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        Some(Ok(Message::Close(_))) | None => Err(CloseReason::TransportClose),
        Some(Err(error)) => Err(classify(error)),
    }
}

fn classify(error: axum::Error) -> CloseReason {
    let inner = error.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => CloseReason::MessageTooLarge,
        Some(tungstenite::Error::Utf8(_)) => CloseReason::InvalidUtf8,
        Some(tungstenite::Error::Protocol(_)) => CloseReason::ParseError,
        Some(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
            CloseReason::TransportClose
        }
        _ => CloseReason::TransportError,
    }
}

/// Writes everything queued in one flush.
async fn flush(
    socket: &mut WebSocket,
    session: &Session,
    out: &mut Vec<OutFrame>,
) -> Result<(), CloseReason> {
    session.outbox.drain(out, usize::MAX);
    if out.is_empty() {
        return Ok(());
    }
    let bytes: usize = out.iter().map(OutFrame::len).sum();
    session.traffic.bytes_out.add(bytes as u64);
    let write = async {
        for frame in out.drain(..) {
            let message = match frame {
                OutFrame::Text(text) => Message::Text(text),
                OutFrame::Binary(data) => Message::Binary(data),
            };
            socket.feed(message).await?;
        }
        socket.flush().await
    };
    match tokio::time::timeout(session.settings.write_timeout(), write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => {
            out.clear();
            Err(CloseReason::TransportError)
        }
    }
}
