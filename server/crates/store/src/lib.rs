#![doc = include_str!("../README.md")]

mod apps;
mod audit;
mod config;
mod db;
mod deployments;
mod error;
mod kv;
mod migrations;
mod secret;
mod tenants;
mod timers;
mod tokens;

pub use apps::{App, AppLimits, Credentials, NewApp, validate_slug};
pub use audit::AuditEntry;
pub use config::{
    ConfigEntry, MAX_CONFIG_ENTRIES, MAX_CONFIG_NAME, MAX_CONFIG_VALUE, MAX_SEALING_OVERHEAD,
    StoredConfig,
};
pub use db::{Backend, Store};
pub use deployments::{BuildInfo, Deployment, DeploymentStatus};
pub use error::StoreError;
pub use kv::{KvEntry, KvError, KvOp, KvOpResult, MAX_BATCH_OPS, MAX_PAGE};
pub use secret::{Secret, hash_secret};
pub use tenants::{DEFAULT_TENANT, Tenant, TenantQuota, TenantUsage};
pub use timers::{DueTimer, MAX_TIMER_KEY, MAX_TIMER_PAYLOAD, TimerError};
pub use tokens::{AdminToken, MAX_ACTIVE_TOKENS_PER_TENANT, NewToken, Role};

/// Milliseconds since the Unix epoch: every time the store records.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod conformance;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
