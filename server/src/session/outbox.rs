//! The bounded per-session queue of outbound frames.
//!
//! Producers (handlers, broadcasts, the heartbeat) push without waiting; the
//! one consumer at a time (a polling GET or the websocket task) drains
//! everything queued in one go. A producer that finds the queue over its
//! bound gets [`PushError::Full`] and the session is closed as a slow
//! consumer: memory stays bounded no matter how far a client falls behind.

use std::collections::VecDeque;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// One Engine.IO frame, already encoded. Cloning shares the bytes, so a
/// broadcast is encoded once and every recipient queues the same buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutFrame {
    /// A text packet including its Engine.IO type digit (`4…`, `2`, `6`).
    Text(Utf8Bytes),
    /// A binary message packet (raw bytes; base64 only on the polling wire).
    Binary(Bytes),
}

impl OutFrame {
    pub const PING: Self = Self::Text(Utf8Bytes::from_static(eddy_proto::engine::PING));
    pub const PONG: Self = Self::Text(Utf8Bytes::from_static(eddy_proto::engine::PONG));
    pub const NOOP: Self = Self::Text(Utf8Bytes::from_static(eddy_proto::engine::NOOP));
    pub const CLOSE: Self = Self::Text(Utf8Bytes::from_static(eddy_proto::engine::CLOSE));

    pub fn text(s: String) -> Self {
        Self::Text(Utf8Bytes::from(s))
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue is over its frame or byte bound.
    Full,
    /// The session is closed; nothing more will be delivered.
    Closed,
}

#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    pub max_frames: usize,
    pub max_bytes: usize,
}

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    ready: Notify,
    /// Woken when a drain leaves the queue empty (a polling farewell was collected).
    emptied: Notify,
    limits: OutboxLimits,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<OutFrame>,
    bytes: usize,
    closed: bool,
}

/// Capacity kept after a burst; anything above is released once drained so
/// an idle session costs little memory.
const RETAINED_CAPACITY: usize = 16;

impl Outbox {
    pub fn new(limits: OutboxLimits) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            emptied: Notify::new(),
            limits,
        }
    }

    /// Queues one packet: its head frame and its binary attachments, all or
    /// nothing, so a binary packet is never split or interleaved with another.
    pub fn push(&self, head: OutFrame, attachments: &[Bytes]) -> Result<(), PushError> {
        let added = head.len() + attachments.iter().map(Bytes::len).sum::<usize>();
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(PushError::Closed);
            }
            if state.queue.len() + 1 + attachments.len() > self.limits.max_frames
                || state.bytes + added > self.limits.max_bytes
            {
                return Err(PushError::Full);
            }
            state.queue.push_back(head);
            state
                .queue
                .extend(attachments.iter().cloned().map(OutFrame::Binary));
            state.bytes += added;
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Queues a control frame (ping, pong, noop, close) regardless of the bound:
    /// they are tiny and the protocol depends on them.
    pub fn push_control(&self, frame: OutFrame) {
        {
            let mut state = self.state.lock();
            if state.closed {
                return;
            }
            state.bytes += frame.len();
            state.queue.push_back(frame);
        }
        self.ready.notify_one();
    }

    /// Stops accepting frames; what is queued can still be drained.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_one();
    }

    /// Waits until there is something to drain or the outbox is closed.
    pub async fn ready(&self) {
        loop {
            {
                let state = self.state.lock();
                if !state.queue.is_empty() || state.closed {
                    return;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Moves queued frames into `out`, stopping before `max_bytes` would be
    /// exceeded but always taking at least one frame. (A polling response may
    /// end between a binary packet's frames: the client reassembles across
    /// payloads.) Returns true when the outbox is closed and now empty.
    pub fn drain(&self, out: &mut Vec<OutFrame>, max_bytes: usize) -> bool {
        let mut state = self.state.lock();
        let mut taken = 0;
        while let Some(front) = state.queue.front() {
            let len = front.len();
            if !out.is_empty() && taken + len > max_bytes {
                break;
            }
            taken += len;
            out.push(state.queue.pop_front().expect("front exists"));
        }
        state.bytes -= taken;
        if state.queue.is_empty() && state.queue.capacity() > RETAINED_CAPACITY {
            state.queue.shrink_to(RETAINED_CAPACITY);
        }
        let empty = state.queue.is_empty();
        let closed_and_empty = state.closed && empty;
        drop(state);
        if empty && taken > 0 {
            self.emptied.notify_waiters();
        }
        closed_and_empty
    }

    /// Resolves once the queue is empty (immediately if it is).
    pub async fn emptied(&self) {
        super::notified_once(&self.emptied, || self.is_empty()).await;
    }

    pub fn is_empty(&self) -> bool {
        self.state.lock().queue.is_empty()
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(max_frames: usize, max_bytes: usize) -> Outbox {
        Outbox::new(OutboxLimits {
            max_frames,
            max_bytes,
        })
    }

    fn text(s: &'static str) -> OutFrame {
        OutFrame::Text(Utf8Bytes::from_static(s))
    }

    #[test]
    fn bounds_frames_and_bytes_atomically() {
        let o = outbox(3, 10);
        o.push(text("4ab"), &[]).unwrap();
        // A head plus one attachment would exceed the frame bound: nothing is queued.
        assert_eq!(
            o.push(text("5"), &[Bytes::from_static(b"a"), Bytes::new()]),
            Err(PushError::Full)
        );
        assert_eq!(o.push(text("4abcdefgh"), &[]), Err(PushError::Full));
        o.push(text("4c"), &[Bytes::from_static(b"d")]).unwrap();
        // Control frames bypass the bound.
        o.push_control(OutFrame::PING);
        let mut out = Vec::new();
        assert!(!o.drain(&mut out, usize::MAX));
        assert_eq!(
            out,
            vec![
                text("4ab"),
                text("4c"),
                OutFrame::Binary(Bytes::from_static(b"d")),
                OutFrame::PING
            ]
        );
        o.push(text("4abcdefgh"), &[]).unwrap();
    }

    #[test]
    fn drain_respects_a_byte_budget_but_always_progresses() {
        let o = outbox(10, 100);
        for t in ["4aaaa", "4bbbb", "4c"] {
            o.push(text(t), &[]).unwrap();
        }
        let mut out = Vec::new();
        o.drain(&mut out, 3);
        assert_eq!(out.len(), 1);
        out.clear();
        o.drain(&mut out, 7);
        assert_eq!(out, vec![text("4bbbb"), text("4c")]);
    }

    #[test]
    fn closed_outbox_refuses_and_reports_when_drained() {
        let o = outbox(10, 100);
        o.push(text("4a"), &[]).unwrap();
        o.close();
        assert_eq!(o.push(text("4b"), &[]), Err(PushError::Closed));
        let mut out = Vec::new();
        assert!(o.drain(&mut out, usize::MAX));
        assert_eq!(out, vec![text("4a")]);
    }

    #[tokio::test]
    async fn ready_wakes_on_push_and_close() {
        let o = std::sync::Arc::new(outbox(10, 100));
        let waiter = tokio::spawn({
            let o = o.clone();
            async move { o.ready().await }
        });
        tokio::task::yield_now().await;
        o.push(text("4a"), &[]).unwrap();
        waiter.await.unwrap();
        let mut out = Vec::new();
        o.drain(&mut out, usize::MAX);
        let waiter = tokio::spawn({
            let o = o.clone();
            async move { o.ready().await }
        });
        o.close();
        waiter.await.unwrap();
    }

    #[tokio::test]
    async fn emptied_resolves_when_a_drain_takes_the_last_frame_and_not_before() {
        use futures_util::FutureExt as _;
        let o = outbox(10, 100);
        assert!(o.emptied().now_or_never().is_some(), "empty at once");
        o.push(text("4a"), &[]).unwrap();
        o.push(text("4b"), &[]).unwrap();
        let mut emptied = Box::pin(o.emptied());
        assert!((&mut emptied).now_or_never().is_none());
        let mut out = Vec::new();
        o.drain(&mut out, 1);
        assert_eq!(out.len(), 1);
        assert!((&mut emptied).now_or_never().is_none(), "a frame is left");
        o.drain(&mut out, usize::MAX);
        assert!((&mut emptied).now_or_never().is_some());
    }
}
