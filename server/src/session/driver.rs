//! The driver of a polling session: it runs the heartbeat between requests
//! and tears the session down when it closes. A websocket session is driven
//! by its connection task instead; on upgrade this driver hands over.

use std::sync::Arc;

use tokio::time::Instant;

use super::{Beat, Heartbeat, OutFrame, Session, Transport};

pub(crate) async fn drive_polling(session: Arc<Session>) {
    let mut heartbeat = Heartbeat::start(session.heartbeat_settings(), Instant::now());
    loop {
        tokio::select! {
            _ = session.closed() => {}
            _ = session.woken() => {}
            _ = tokio::time::sleep_until(heartbeat.deadline()) => {}
        }
        if session.transport() == Transport::WebSocket {
            // The websocket task owns the heartbeat and the teardown now.
            return;
        }
        if session.is_closed() {
            break;
        }
        let now = Instant::now();
        if session.take_ping_delivered() {
            heartbeat.ping_delivered(now);
        }
        if session.take_pong() {
            heartbeat.on_pong(now);
        }
        if session.has_joined() {
            heartbeat.on_joined();
        }
        match heartbeat.poll(now) {
            Beat::Wait => {}
            Beat::Ping => session.outbox.push_control(OutFrame::PING),
            Beat::Close(reason) => {
                session.close(reason);
                break;
            }
        }
        session.set_expiry(heartbeat.expires());
    }
    // Wait for an in-flight POST so disconnect hooks run after its events.
    let _inbound = session.inbound.lock().await;
    session.teardown().await;
}
