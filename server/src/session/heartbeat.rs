//! The Engine.IO v4 heartbeat as a pure state machine: the server pings
//! every `ping_interval`; a client that has not answered within
//! `ping_timeout` is gone. Both transports' drivers feed it the time and
//! pongs and act on what it says, so the timing rules live in one place.

use std::time::Duration;

use tokio::time::Instant;

use super::CloseReason;

#[derive(Debug, Clone, Copy)]
pub struct HeartbeatSettings {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Time to join a namespace after the session opened; `None` when the
    /// session carries no namespaces (the Engine.IO echo endpoint).
    pub connect_timeout: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct Heartbeat {
    settings: HeartbeatSettings,
    next_ping: Instant,
    /// When the last ping was due.
    last_ping: Instant,
    pong_deadline: Option<Instant>,
    connect_deadline: Option<Instant>,
}

/// What the driver must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Nothing yet: sleep until [`Heartbeat::deadline`].
    Wait,
    /// Send a ping packet now.
    Ping,
    /// Close the session.
    Close(CloseReason),
}

impl Heartbeat {
    pub(crate) fn start(settings: HeartbeatSettings, now: Instant) -> Self {
        Self {
            settings,
            next_ping: now + settings.ping_interval,
            last_ping: now,
            pong_deadline: None,
            connect_deadline: settings.connect_timeout.map(|t| now + t),
        }
    }

    /// When the client is gone unless a pong arrives first: the current
    /// ping's deadline, or the next one's. Requests check it on arrival, so a
    /// late driver on a busy machine never keeps a dead session answering.
    pub(crate) fn expires(&self) -> Instant {
        self.pong_deadline
            .unwrap_or(self.next_ping + self.settings.ping_timeout)
    }

    /// The next instant at which [`Heartbeat::poll`] has something to say.
    pub(crate) fn deadline(&self) -> Instant {
        let beat = self.pong_deadline.unwrap_or(self.next_ping);
        match self.connect_deadline {
            Some(c) => beat.min(c),
            None => beat,
        }
    }

    /// The client answered: the next ping is one interval after the last
    /// was due (not after the pong: a slow round trip would otherwise push
    /// every later ping back, and a session that has not joined a namespace
    /// would meet its connect timeout pings early), or now if that is past.
    pub(crate) fn on_pong(&mut self, now: Instant) {
        if self.pong_deadline.take().is_some() {
            self.next_ping = (self.last_ping + self.settings.ping_interval).max(now);
        }
    }

    /// The pending ping reached the client at `now` (a long-poll collected
    /// it, or it was written to the websocket): the client has a whole
    /// `ping_timeout` from then to answer.
    pub(crate) fn ping_delivered(&mut self, now: Instant) {
        if let Some(deadline) = &mut self.pong_deadline {
            *deadline = (*deadline).max(now + self.settings.ping_timeout);
        }
    }

    /// The session joined a namespace: the connect timeout no longer applies.
    pub(crate) fn on_joined(&mut self) {
        self.connect_deadline = None;
    }

    pub(crate) fn poll(&mut self, now: Instant) -> Beat {
        if self.connect_deadline.is_some_and(|d| now >= d) {
            return Beat::Close(CloseReason::ConnectTimeout);
        }
        match self.pong_deadline {
            Some(d) if now >= d => Beat::Close(CloseReason::PingTimeout),
            Some(_) => Beat::Wait,
            // The deadline counts from when the ping was due, not from when a
            // busy driver got round to it, so a client that is not there is
            // gone on time; a client that receives the ping late gets its
            // full timeout from then (`ping_delivered`).
            None if now >= self.next_ping => {
                self.last_ping = self.next_ping;
                self.pong_deadline = Some(self.next_ping + self.settings.ping_timeout);
                Beat::Ping
            }
            None => Beat::Wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn settings(connect: Option<u64>) -> HeartbeatSettings {
        HeartbeatSettings {
            ping_interval: 300 * MS,
            ping_timeout: 200 * MS,
            connect_timeout: connect.map(Duration::from_millis),
        }
    }

    #[test]
    fn pings_on_interval_and_times_out_without_pong() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(settings(None), t0);
        assert_eq!(hb.deadline(), t0 + 300 * MS);
        assert_eq!(hb.poll(t0 + 299 * MS), Beat::Wait);
        assert_eq!(hb.poll(t0 + 300 * MS), Beat::Ping);
        assert_eq!(hb.deadline(), t0 + 500 * MS);
        assert_eq!(hb.poll(t0 + 499 * MS), Beat::Wait);
        assert_eq!(
            hb.poll(t0 + 500 * MS),
            Beat::Close(CloseReason::PingTimeout)
        );
        // Delivered late, the ping gives the client its whole timeout.
        let mut late = Heartbeat::start(settings(None), t0);
        assert_eq!(late.poll(t0 + 450 * MS), Beat::Ping);
        late.ping_delivered(t0 + 460 * MS);
        assert_eq!(late.expires(), t0 + 660 * MS);
        assert_eq!(late.poll(t0 + 659 * MS), Beat::Wait);
    }

    #[test]
    fn a_late_ping_keeps_the_scheduled_deadline() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(settings(None), t0);
        assert_eq!(hb.expires(), t0 + 500 * MS);
        // The driver wakes 150 ms late: the client still has until t0 + 500 ms.
        assert_eq!(hb.poll(t0 + 450 * MS), Beat::Ping);
        assert_eq!(hb.expires(), t0 + 500 * MS);
        assert_eq!(
            hb.poll(t0 + 500 * MS),
            Beat::Close(CloseReason::PingTimeout)
        );
    }

    #[test]
    fn pings_keep_their_cadence_whatever_the_round_trip() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(settings(None), t0);
        assert_eq!(hb.poll(t0 + 300 * MS), Beat::Ping);
        hb.on_pong(t0 + 350 * MS);
        assert_eq!(hb.deadline(), t0 + 600 * MS);
        assert_eq!(hb.poll(t0 + 599 * MS), Beat::Wait);
        assert_eq!(hb.poll(t0 + 600 * MS), Beat::Ping);
        // A late pong does not push the next ping back.
        hb.on_pong(t0 + 790 * MS);
        assert_eq!(hb.deadline(), t0 + 900 * MS);
        // A pong nobody asked for changes nothing.
        let mut idle = Heartbeat::start(settings(None), t0);
        idle.on_pong(t0 + 100 * MS);
        assert_eq!(idle.deadline(), t0 + 300 * MS);
    }

    #[test]
    fn connect_timeout_applies_until_joined() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(settings(Some(100)), t0);
        assert_eq!(hb.deadline(), t0 + 100 * MS);
        assert_eq!(
            hb.poll(t0 + 100 * MS),
            Beat::Close(CloseReason::ConnectTimeout)
        );
        let mut joined = Heartbeat::start(settings(Some(100)), t0);
        joined.on_joined();
        assert_eq!(joined.poll(t0 + 100 * MS), Beat::Wait);
        assert_eq!(joined.deadline(), t0 + 300 * MS);
    }
}
