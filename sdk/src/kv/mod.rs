//! The app's key-value store: shared by every instance and socket of the
//! app, limited by its quota. Keys are 1 to 512 bytes and sort by their
//! bytes.
//!
//! Reach it through these functions or through [`Context::kv`](crate::Context::kv)
//! (the same calls, for code that already holds a context):
//!
//! ```no_run
//! let visits = eddy_sdk::kv::increment("visits", 1)?;
//! eddy_sdk::kv::set_json("last-visit", &serde_json::json!({ "n": visits }), None)?;
//! // Every key under a prefix, page after page:
//! for entry in eddy_sdk::kv::list("visit/") {
//!     let entry = entry?;
//!     eddy_sdk::log::info(format!("{} = {}", entry.key, entry.value_str()));
//! }
//! # Ok::<(), eddy_sdk::KvError>(())
//! ```
//!
//! For writes that must not interleave with others, use
//! [`compare_and_swap`] (one key) or [`batch`] (several keys, all or none).

mod batch;
mod list;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::host;

pub(crate) use batch::Op;
pub use batch::{Batch, OpResult};
pub use list::{Entries, Entry, List};

/// Why a key-value operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The write would take the app over its key-value quota. In a batch,
    /// nothing of the batch was written.
    QuotaExceeded,
    /// The key is empty or longer than 512 bytes.
    InvalidKey,
    /// `increment` found a value that is not a decimal integer.
    NotANumber,
    /// The store could not be reached.
    Unavailable(String),
    /// The stored value is not the JSON the caller expected.
    InvalidJson(String),
    /// The request is over a bound (a batch of more than 64 operations);
    /// the message says which.
    TooLarge(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::QuotaExceeded => f.write_str("key-value quota exceeded"),
            Self::InvalidKey => f.write_str("invalid key (empty or over 512 bytes)"),
            Self::NotANumber => f.write_str("the value is not a decimal integer"),
            Self::Unavailable(why) => write!(f, "key-value store unavailable: {why}"),
            Self::InvalidJson(why) => write!(f, "stored value is not the expected JSON: {why}"),
            Self::TooLarge(why) => write!(f, "key-value request too large: {why}"),
        }
    }
}

impl std::error::Error for KvError {}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, KvError> {
    serde_json::to_vec(value).map_err(|e| KvError::InvalidJson(e.to_string()))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, KvError> {
    serde_json::from_slice(bytes).map_err(|e| KvError::InvalidJson(e.to_string()))
}

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
    get(key)?.map(|bytes| from_json(&bytes)).transpose()
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
    set(key, to_json(value)?, ttl_ms)
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

/// The keys starting with `prefix` (`""` for all), in key order: a
/// [`List`] to narrow (`start_after`, `limit`), then read one
/// [`page`](List::page) or iterate over every entry.
///
/// ```no_run
/// let first_ten = eddy_sdk::kv::list("poll/7/").limit(10).page()?;
/// let keys: Vec<String> = eddy_sdk::kv::list("poll/7/").keys().collect::<Result<_, _>>()?;
/// # Ok::<(), eddy_sdk::KvError>(())
/// ```
pub fn list(prefix: &str) -> List {
    List::new(prefix)
}

/// Writes `new` at `key` (removes it when `new` is `None`) only if its
/// value is `expected` (`None`: only if the key is absent). True when it
/// wrote. No other write comes between the read and the write, on any node.
///
/// ```no_run
/// use eddy_sdk::kv;
/// // Claim a name once: only the first caller wins.
/// let mine = kv::compare_and_swap("owner/lobby", None, Some(b"ada"))?;
/// # Ok::<(), eddy_sdk::KvError>(())
/// ```
pub fn compare_and_swap(
    key: &str,
    expected: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Result<bool, KvError> {
    host::kv_compare_and_swap(key, expected, new)
}

/// [`compare_and_swap`] with values serialized as JSON. The comparison is
/// of bytes: it matches a value written by the same serialization of an
/// equal value (what [`set_json`] and this function write).
pub fn compare_and_swap_json<T: Serialize + ?Sized>(
    key: &str,
    expected: Option<&T>,
    new: Option<&T>,
) -> Result<bool, KvError> {
    let expected = expected.map(to_json).transpose()?;
    let new = new.map(to_json).transpose()?;
    compare_and_swap(key, expected.as_deref(), new.as_deref())
}

/// Reads the JSON at `key`, lets `change` compute the next value (`None`
/// removes the key), and writes it with [`compare_and_swap`], reading
/// again and retrying when another write came first (up to 16 tries, then
/// [`KvError::Unavailable`]). Returns what was written.
///
/// ```no_run
/// use eddy_sdk::kv;
/// let names: Option<Vec<String>> = kv::update_json("roster", |names: Option<Vec<String>>| {
///     let mut names = names.unwrap_or_default();
///     names.push("ada".into());
///     Some(names)
/// })?;
/// # Ok::<(), eddy_sdk::KvError>(())
/// ```
pub fn update_json<T, F>(key: &str, mut change: F) -> Result<Option<T>, KvError>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(Option<T>) -> Option<T>,
{
    const TRIES: usize = 16;
    for _ in 0..TRIES {
        let current = get(key)?;
        let value = current.as_deref().map(from_json).transpose()?;
        let next = change(value);
        let bytes = next.as_ref().map(to_json).transpose()?;
        if compare_and_swap(key, current.as_deref(), bytes.as_deref())? {
            return Ok(next);
        }
    }
    Err(KvError::Unavailable(format!(
        "{key:?} changed under {TRIES} tries in a row"
    )))
}

/// Starts a [`Batch`]: up to 64 writes applied in order, all or none.
///
/// ```no_run
/// use eddy_sdk::kv::{self, OpResult};
/// let done = kv::batch()
///     .set("poll/1/title", "Lunch?")
///     .increment("polls", 1)
///     .delete("draft/1")
///     .commit()?;
/// assert_eq!(done[0], OpResult::Set);
/// # Ok::<(), eddy_sdk::KvError>(())
/// ```
pub fn batch() -> Batch {
    Batch::default()
}

/// The app's key-value store as a value: the functions of [`crate::kv`]
/// as methods, from [`Context::kv`](crate::Context::kv) or
/// [`TimerContext::kv`](crate::TimerContext::kv).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

impl Kv {
    /// See [`get`].
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        get(key)
    }

    /// See [`get_string`].
    pub fn get_string(&self, key: &str) -> Result<Option<String>, KvError> {
        get_string(key)
    }

    /// See [`get_json`].
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, KvError> {
        get_json(key)
    }

    /// See [`set`].
    pub fn set(
        &self,
        key: &str,
        value: impl AsRef<[u8]>,
        ttl_ms: Option<u64>,
    ) -> Result<(), KvError> {
        set(key, value, ttl_ms)
    }

    /// See [`set_json`].
    pub fn set_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl_ms: Option<u64>,
    ) -> Result<(), KvError> {
        set_json(key, value, ttl_ms)
    }

    /// See [`delete`].
    pub fn delete(&self, key: &str) -> Result<bool, KvError> {
        delete(key)
    }

    /// See [`increment`].
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        increment(key, delta)
    }

    /// See [`list`].
    pub fn list(&self, prefix: &str) -> List {
        list(prefix)
    }

    /// See [`compare_and_swap`].
    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, KvError> {
        compare_and_swap(key, expected, new)
    }

    /// See [`batch`].
    pub fn batch(&self) -> Batch {
        batch()
    }
}
