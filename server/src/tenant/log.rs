//! An app's log: what its handler writes (log lines, stdout, stderr,
//! panics, faults), rate limited, kept in a small ring for operators and
//! broadcast to live viewers.

use std::collections::VecDeque;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use eddy_host::types::Level;
use parking_lot::Mutex;
use tokio::sync::broadcast;

/// Lines kept for a late viewer.
const RING: usize = 500;
/// Sustained lines per second an app may log, and the burst above it.
const RATE_PER_SECOND: f64 = 50.0;
const BURST: f64 = 200.0;

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
}
