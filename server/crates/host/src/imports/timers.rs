//! `eddy:handler/timers`: durable timers, through the embedder (which
//! stores them in the registry and runs `on-timer` when they fall due).

use crate::bindings::eddy::handler::timers::{Host, TimerError};
use crate::state::HostState;

/// Longest timer key.
pub(crate) const MAX_TIMER_KEY: usize = 256;
/// Largest timer payload.
pub(crate) const MAX_TIMER_PAYLOAD: usize = 64 * 1024;
/// Longest delay: 30 days.
pub const MAX_TIMER_DELAY_MS: u64 = 30 * 24 * 3600 * 1000;

fn check_key(key: &str) -> Result<(), TimerError> {
    if key.is_empty() || key.len() > MAX_TIMER_KEY {
        Err(TimerError::InvalidKey)
    } else {
        Ok(())
    }
}

impl HostState {
    fn timer_caps(&self) -> Result<std::sync::Arc<dyn crate::Capabilities>, TimerError> {
        self.call
            .as_ref()
            .map(|scope| scope.caps.clone())
            .ok_or_else(|| {
                TimerError::Unavailable("timers are only available inside a hook".into())
            })
    }
}

impl Host for HostState {
    async fn set(&mut self, key: String, delay_ms: u64, payload: String) -> Result<(), TimerError> {
        check_key(&key)?;
        if payload.len() > MAX_TIMER_PAYLOAD {
            return Err(TimerError::PayloadTooLarge);
        }
        if delay_ms > MAX_TIMER_DELAY_MS {
            return Err(TimerError::DelayTooLong);
        }
        let caps = self.timer_caps()?;
        caps.timer_set(&key, delay_ms, payload).await
    }

    async fn cancel(&mut self, key: String) -> Result<bool, TimerError> {
        check_key(&key)?;
        let caps = self.timer_caps()?;
        caps.timer_cancel(&key).await
    }
}
