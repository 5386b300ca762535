//! HTTP long-polling: the handshake GET, the long-poll GET that drains the
//! outbox, and the POST that carries client packets.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use eddy_proto::engine::ErrorCode;
use eddy_proto::payload::{self, Record};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{Endpoint, TransportError, is_body_timeout};
use crate::session::{self, CloseReason, OutFrame, Session, Transport};

fn payload_response(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

pub(super) fn handshake(endpoint: &Endpoint, handshake: session::HandshakeInfo) -> Response {
    let session = endpoint.open(Transport::Polling, handshake);
    let open = session.open_packet();
    tokio::spawn(session::drive_polling(session));
    payload_response(open)
}

/// The long-poll: waits for something to send, then sends everything queued
/// (up to `max_payload` bytes).
pub(super) async fn poll(session: Arc<Session>) -> Result<Response, TransportError> {
    if session.transport() != Transport::Polling {
        return Err(ErrorCode::BadRequest.into());
    }
    let Ok(_consumer) = session.consumer.try_lock() else {
        // Two GETs at once: the reference server closes the session; the
        // pending GET receives the close packet.
        session.close(CloseReason::TransportError);
        return Err(ErrorCode::BadRequest.into());
    };
    // A GET whose client goes away while it waits (hyper drops this future)
    // ends the session, as the reference server does: the client is gone,
    // or it will open a new session.
    let cancelled = CloseOnDrop(Some(&session));
    // During an upgrade a GET is answered at once (the reference server
    // releases pending GETs with a noop every 100 ms until the switch).
    let released = session.is_upgrading()
        || tokio::select! {
            () = session.outbox.ready() => false,
            () = session.poll_released() => true,
        };
    cancelled.disarm();
    let mut frames = Vec::new();
    session
        .outbox
        .drain(&mut frames, session.settings.max_payload);
    if frames.contains(&OutFrame::PING) {
        session.on_ping_delivered();
    }
    if frames.is_empty() && released && !session.is_closed() {
        // An upgrade released this GET: the client pauses polling.
        frames.push(OutFrame::NOOP);
    }
    if frames.is_empty() {
        // Closed with nothing left to say.
        return Err(match session.close_reason() {
            Some(CloseReason::ServerShuttingDown) => TransportError::ShuttingDown,
            _ => ErrorCode::UnknownSid.into(),
        });
    }
    let mut body = payload::Encoder::with_capacity(
        frames.iter().map(OutFrame::len).sum::<usize>() + frames.len(),
    );
    for frame in &frames {
        match frame {
            OutFrame::Text(text) => body.push_text(text.as_str()),
            OutFrame::Binary(data) => body.push_binary(data),
        }
    }
    let body = body.finish();
    session.traffic.bytes_out.add(body.len() as u64);
    Ok(payload_response(body))
}

/// Closes the session if dropped while armed.
struct CloseOnDrop<'a>(Option<&'a Session>);

impl CloseOnDrop<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.0 {
            session.close(CloseReason::TransportError);
        }
    }
}

/// Client packets. Processed in order while holding the session's inbound
/// token; a second concurrent POST is refused and closes the session.
pub(super) async fn post(
    session: Arc<Session>,
    body: Body,
    announced: Option<u64>,
) -> Result<Response, TransportError> {
    if session.transport() != Transport::Polling {
        return Err(ErrorCode::BadRequest.into());
    }
    let max_payload = session.settings.max_payload;
    // A body announced over the limit is refused before it is read.
    if announced.is_some_and(|n| n > max_payload as u64) {
        session.close(CloseReason::MessageTooLarge);
        return Err(TransportError::PayloadTooLarge { max_payload });
    }
    // The body has `request_body_timeout_ms` to arrive (the server wraps
    // every body), and no longer than its session lives.
    let read = tokio::select! {
        read = Limited::new(body, max_payload).collect() => read,
        () = session.closed() => return Err(ErrorCode::BadRequest.into()),
    };
    let bytes = match read {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            session.close(CloseReason::MessageTooLarge);
            return Err(TransportError::PayloadTooLarge { max_payload });
        }
        Err(error) if is_body_timeout(error.as_ref()) => {
            session.close(CloseReason::TransportError);
            return Err(TransportError::BodyTimeout);
        }
        Err(_) => {
            session.close(CloseReason::TransportError);
            return Err(ErrorCode::BadRequest.into());
        }
    };
    session.traffic.bytes_in.add(bytes.len() as u64);
    let Ok(text) = std::str::from_utf8(&bytes) else {
        session.close(CloseReason::ParseError);
        return Err(ErrorCode::BadRequest.into());
    };
    let Ok(mut inbound) = session.inbound.try_lock() else {
        session.close(CloseReason::TransportError);
        return Err(ErrorCode::BadRequest.into());
    };
    // Decode the whole payload first: a malformed one is refused whole,
    // never half applied.
    let records = match payload::decode(text).collect::<Result<Vec<_>, _>>() {
        Ok(records) => records,
        Err(error) => {
            tracing::debug!(sid = %session.sid, %error, "invalid polling payload");
            session.close(CloseReason::ParseError);
            return Err(ErrorCode::BadRequest.into());
        }
    };
    for record in records {
        let outcome = match record {
            Record::Text(packet) => session::on_packet(&session, &mut inbound, packet).await,
            Record::Binary(data) => session::on_binary(&session, &mut inbound, data).await,
        };
        if let Err(reason) = outcome {
            session.close(reason);
            if reason == CloseReason::ParseError {
                return Err(ErrorCode::BadRequest.into());
            }
            break;
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/html")], "ok").into_response())
}
