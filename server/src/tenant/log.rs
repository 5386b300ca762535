//! An app's log: what its handler writes (log lines, stdout, stderr,
//! panics, faults), rate limited, kept in a small ring for operators and
//! broadcast to live viewers. And the server's warnings about the app that
//! a client could provoke at will, rate limited per app.

use std::collections::VecDeque;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use eddy_host::types::Level;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use super::RateLimiter;

/// Lines kept for a late viewer.
const RING: usize = 500;
/// Sustained lines per second an app may log, and the burst above it.
const RATE_PER_SECOND: f64 = 50.0;
const BURST: f64 = 200.0;
/// Warnings a second per app for handler errors no ack carries (bursts of
/// twice that): one client sending a failing event in a loop must not
/// flood the server's log.
const UNACKED_WARNINGS_PER_SECOND: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub level: &'static str,
    pub message: String,
}

pub struct AppLog {
    app: String,
    state: Mutex<State>,
    live: broadcast::Sender<LogLine>,
    unacked: Mutex<Quiet>,
}

/// A rate-limited warning: whether one is due, and how many were not.
#[derive(Default)]
struct Quiet {
    rate: RateLimiter,
    suppressed: u64,
}

impl Quiet {
    /// Some(the warnings held back since the last one) when one is due now.
    fn due(&mut self, per_second: u64, now: Instant) -> Option<u64> {
        if self.rate.allow(per_second, now) {
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

struct State {
    ring: VecDeque<LogLine>,
    tokens: f64,
    refilled: Instant,
    dropped: u64,
}

pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

impl AppLog {
    pub fn new(app: &str) -> Self {
        Self {
            app: app.to_owned(),
            state: Mutex::new(State {
                ring: VecDeque::new(),
                tokens: BURST,
                refilled: Instant::now(),
                dropped: 0,
            }),
            live: broadcast::channel(256).0,
            unacked: Mutex::default(),
        }
    }

    /// The handler failed an event the client sent without an ack: no one
    /// else hears of it, so the server's log says so (rate limited).
    pub(crate) fn unacked_error(&self, event: &str, code: &str, message: &str) {
        let due = self
            .unacked
            .lock()
            .due(UNACKED_WARNINGS_PER_SECOND, Instant::now());
        if let Some(suppressed) = due {
            // Quoted (Debug): the event name and the message come from
            // outside and may hold line breaks. Codes are checked tokens.
            tracing::warn!(
                app = %self.app,
                event = ?event,
                code = %code,
                detail = ?message,
                suppressed,
                "handler error on an event without an ack"
            );
        }
    }

    pub fn write(&self, level: Level, message: &str) {
        let line = {
            let mut s = self.state.lock();
            let now = Instant::now();
            s.tokens = (s.tokens + now.duration_since(s.refilled).as_secs_f64() * RATE_PER_SECOND)
                .min(BURST);
            s.refilled = now;
            if s.tokens < 1.0 {
                s.dropped += 1;
                return;
            }
            s.tokens -= 1.0;
            let mut message = message.to_owned();
            if s.dropped > 0 {
                message = format!("({} lines dropped by the rate limit) {message}", s.dropped);
                s.dropped = 0;
            }
            let line = LogLine {
                at_ms: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
                level: level_name(level),
                message,
            };
            if s.ring.len() == RING {
                s.ring.pop_front();
            }
            s.ring.push_back(line.clone());
            line
        };
        tracing::info!(target: "eddy::app", app = %self.app, level = line.level, "{}", line.message);
        let _ = self.live.send(line);
    }

    /// The most recent lines, oldest first.
    pub fn recent(&self) -> Vec<LogLine> {
        self.state.lock().ring.iter().cloned().collect()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_and_reports_drops() {
        let log = AppLog::new("t");
        for i in 0..(BURST as usize + 50) {
            log.write(Level::Info, &format!("line {i}"));
        }
        let recent = log.recent();
        assert_eq!(recent.len(), BURST as usize);
        std::thread::sleep(std::time::Duration::from_millis(50));
        log.write(Level::Warn, "after");
        let last = log.recent().pop().unwrap();
        assert!(
            last.message
                .starts_with("(50 lines dropped by the rate limit) after"),
            "{}",
            last.message
        );
        assert_eq!(last.level, "warn");
    }

    #[test]
    fn warnings_are_rate_limited_and_count_what_they_held_back() {
        let mut quiet = Quiet::default();
        let t0 = Instant::now();
        let due: Vec<_> = (0..10).map(|_| quiet.due(1, t0)).collect();
        assert_eq!(due[..3], [Some(0), Some(0), None], "a burst of two");
        assert!(due[3..].iter().all(Option::is_none));
        let later = t0 + std::time::Duration::from_secs(1);
        assert_eq!(quiet.due(1, later), Some(8), "the next one says how many");
        assert_eq!(quiet.due(1, later), None);
    }
}
