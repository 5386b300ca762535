//! Durable timers: set one with a key, a delay and a payload, and the
//! app's [`Handler::on_timer`](crate::Handler::on_timer) runs when it
//! falls due, on one node of the cluster, with whichever version of the
//! app is live then (once, unless that node dies while running it).
//! Timers survive restarts and redeploys.
//!
//! A timer belongs to the app, not to a socket: setting a key again
//! replaces its timer, from any socket or hook. `on_timer` runs in the
//! namespace the timer was set from. To repeat, set the timer again from
//! `on_timer`:
//!
//! ```no_run
//! use std::time::Duration;
//! use eddy_sdk::{Context, Event, EventResult, Handler, Timer, TimerContext, TimerResult};
//!
//! struct Clock;
//!
//! #[eddy_sdk::handler]
//! impl Handler for Clock {
//!     fn on_event(cx: &Context, _event: Event) -> EventResult {
//!         cx.timers().set("tick", Duration::from_secs(1), &0u64)?;
//!         Ok(None)
//!     }
//!
//!     fn on_timer(cx: &TimerContext, timer: Timer) -> TimerResult {
//!         let n: u64 = timer.payload()?;
//!         cx.emit("tick").to_all().arg(&n)?.send()?;
//!         if n < 9 {
//!             cx.timers().set("tick", Duration::from_secs(1), &(n + 1))?;
//!         }
//!         Ok(())
//!     }
//! }
//! ```

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::EventError;
use crate::host;

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// The largest payload, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// The longest delay: 30 days.
pub const MAX_DELAY: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a timer call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerError {
    /// The app has as many timers pending as it may (its `max_timers`
    /// limit, `max`); cancel one first. Replacing a timer with the same
    /// key is never refused.
    TooMany {
        /// The app's limit.
        max: u32,
    },
    /// The key is empty or longer than 256 bytes.
    InvalidKey,
    /// The payload is longer than 64 KiB.
    PayloadTooLarge,
    /// The delay is longer than 30 days.
    DelayTooLong,
    /// The timer store could not be reached; the message says why.
    Unavailable(String),
    /// The payload could not be serialized as JSON, or a fired timer's
    /// payload is not the JSON [`Timer::payload`] expected.
    InvalidPayload(String),
}

impl std::fmt::Display for TimerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooMany { max } => {
                write!(
                    f,
                    "the app already has {max} timers pending (its max_timers)"
                )
            }
            Self::InvalidKey => f.write_str("invalid timer key (empty or over 256 bytes)"),
            Self::PayloadTooLarge => f.write_str("timer payload over 64 KiB"),
            Self::DelayTooLong => f.write_str("timer delay over 30 days"),
            Self::Unavailable(why) => write!(f, "timers unavailable: {why}"),
            Self::InvalidPayload(why) => write!(f, "timer payload is not the expected JSON: {why}"),
        }
    }
}

impl std::error::Error for TimerError {}

impl From<TimerError> for EventError {
    fn from(e: TimerError) -> Self {
        Self::new("timer_failed", e.to_string())
    }
}

fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

/// Sets the app's timer `key` to fire after `delay` with `payload`
/// serialized as JSON, replacing any timer of that key.
pub fn set<T: Serialize + ?Sized>(
    key: &str,
    delay: Duration,
    payload: &T,
) -> Result<(), TimerError> {
    let json =
        serde_json::to_string(payload).map_err(|e| TimerError::InvalidPayload(e.to_string()))?;
    set_raw(key, delay, &json)
}

/// Sets the app's timer `key` with a payload given as text, kept as it is
/// ([`Timer::raw_payload`] reads it back).
pub fn set_raw(key: &str, delay: Duration, payload: &str) -> Result<(), TimerError> {
    host::timer_set(key, millis(delay), payload)
}

/// Cancels the app's timer `key`; true when there was one.
pub fn cancel(key: &str) -> Result<bool, TimerError> {
    host::timer_cancel(key)
}

/// The app's timers as a value: [`set`], [`set_raw`] and [`cancel`] as
/// methods, from [`Context::timers`](crate::Context::timers) or
/// [`TimerContext::timers`](crate::TimerContext::timers).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timers;

impl Timers {
    /// See [`set`].
    pub fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        delay: Duration,
        payload: &T,
    ) -> Result<(), TimerError> {
        set(key, delay, payload)
    }

    /// See [`set_raw`].
    pub fn set_raw(&self, key: &str, delay: Duration, payload: &str) -> Result<(), TimerError> {
        set_raw(key, delay, payload)
    }

    /// See [`cancel`].
    pub fn cancel(&self, key: &str) -> Result<bool, TimerError> {
        cancel(key)
    }
}

/// A timer that fell due, as [`Handler::on_timer`](crate::Handler::on_timer)
/// receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub(crate) key: String,
    pub(crate) payload: String,
    pub(crate) due_ms: u64,
}

impl Timer {
    /// The key it was set with.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The payload parsed as JSON (as [`set`] wrote it).
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, TimerError> {
        serde_json::from_str(&self.payload).map_err(|e| TimerError::InvalidPayload(e.to_string()))
    }

    /// The payload as it was set.
    pub fn raw_payload(&self) -> &str {
        &self.payload
    }

    /// When it was due, in milliseconds since the Unix epoch. It runs a
    /// few milliseconds later on a healthy node; later still when its node
    /// failed and another took it over, so compare with
    /// [`now_ms`](crate::now_ms) if lateness matters.
    pub fn due_ms(&self) -> u64 {
        self.due_ms
    }
}
