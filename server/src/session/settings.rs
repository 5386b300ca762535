//! The engine-level settings every session of the server shares, built once
//! from the configuration (and narrowed per app).

use std::time::Duration;

use super::OutboxLimits;
use crate::config::Config;

/// Engine-level settings shared by every session of the server.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub connect_timeout: Duration,
    pub upgrade_timeout: Duration,
    pub max_payload: usize,
    pub outbox: OutboxLimits,
    pub ws_read_buffer: usize,
    pub max_attachments: usize,
}

impl EngineSettings {
    pub fn from_config(c: &Config) -> Self {
        Self {
            ping_interval: Duration::from_millis(c.ping_interval_ms),
            ping_timeout: Duration::from_millis(c.ping_timeout_ms),
            connect_timeout: Duration::from_millis(c.connect_timeout_ms),
            upgrade_timeout: Duration::from_millis(c.upgrade_timeout_ms),
            max_payload: usize::try_from(c.max_payload).unwrap_or(usize::MAX),
            outbox: OutboxLimits {
                max_frames: c.outbox_max_frames,
                max_bytes: c.outbox_max_bytes,
            },
            ws_read_buffer: c.ws_read_buffer,
            max_attachments: c.max_attachments,
        }
    }

    /// The settings of one app's sessions: its payload limit, never above the server's.
    pub fn for_app(&self, limits: &eddy_store::AppLimits) -> Self {
        Self {
            max_payload: self
                .max_payload
                .min(usize::try_from(limits.max_payload).unwrap_or(usize::MAX)),
            ..self.clone()
        }
    }

    /// A writer that cannot flush within a full heartbeat cycle is stuck.
    pub fn write_timeout(&self) -> Duration {
        self.ping_interval + self.ping_timeout
    }
}
