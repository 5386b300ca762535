//! The app's key-value store: shared by every instance and socket of the
//! app, limited by its quota. Keys are at most 512 bytes.
//!
//! ```no_run
//! let visits = eddy_sdk::kv::increment("visits", 1)?;
//! eddy_sdk::kv::set_json("last-visit", &serde_json::json!({ "n": visits }), None)?;
//! # Ok::<(), eddy_sdk::KvError>(())
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::host;

/// Why a key-value operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The write would take the app over its key-value quota.
    QuotaExceeded,
    /// The key is empty or longer than 512 bytes.
    InvalidKey,
    /// `increment` found a value that is not a decimal integer.
    NotANumber,
    /// The store could not be reached.
    Unavailable(String),
    /// The stored value is not the JSON the caller expected.
    InvalidJson(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::QuotaExceeded => f.write_str("key-value quota exceeded"),
            Self::InvalidKey => f.write_str("invalid key (empty or over 512 bytes)"),
            Self::NotANumber => f.write_str("the value is not a decimal integer"),
            Self::Unavailable(why) => write!(f, "key-value store unavailable: {why}"),
            Self::InvalidJson(why) => write!(f, "stored value is not the expected JSON: {why}"),
        }
    }
}

impl std::error::Error for KvError {}

/// The bytes stored at `key`, if set and not expired.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    host::kv_get(key)
}

/// The value at `key` as UTF-8 text.
pub fn get_string(key: &str) -> Result<Option<String>, KvError> {
    Ok(get(key)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// The value at `key` parsed as JSON.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, KvError> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| KvError::InvalidJson(e.to_string())),
    }
}

/// Stores `value` at `key`, expiring after `ttl_ms` milliseconds if given.
pub fn set(key: &str, value: impl AsRef<[u8]>, ttl_ms: Option<u64>) -> Result<(), KvError> {
    host::kv_set(key, value.as_ref(), ttl_ms)
}

/// Stores `value` as JSON at `key`.
pub fn set_json<T: Serialize + ?Sized>(
    key: &str,
    value: &T,
    ttl_ms: Option<u64>,
) -> Result<(), KvError> {
    let bytes = serde_json::to_vec(value).map_err(|e| KvError::InvalidJson(e.to_string()))?;
    set(key, bytes, ttl_ms)
}

/// Removes `key`; true when it existed.
pub fn delete(key: &str) -> Result<bool, KvError> {
    host::kv_delete(key)
}

/// Atomically adds `delta` to the integer at `key` (missing counts as 0) and
/// returns the new value.
pub fn increment(key: &str, delta: i64) -> Result<i64, KvError> {
    host::kv_increment(key, delta)
}
