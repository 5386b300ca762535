//! What the embedder provides to a call: the capabilities of one socket of
//! one app (or, for a timer, of one namespace of one app). Every import a
//! handler makes lands here.

use std::future::Future;
use std::pin::Pin;

use crate::types::{
    ConfigError, DataError, EmitError, KvEntry, KvError, KvOp, KvOpResult, Level, Target,
    TimerError,
};

/// An embedder call in flight that may wait on a database.
pub type HostFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// A key-value operation in flight.
pub type KvFuture<'a, T> = HostFuture<'a, T, KvError>;

/// The calling socket's capabilities, scoped to its app and namespace.
/// `args` are JSON arrays the host has already checked; attachments are raw.
/// Keys, page sizes, batch lengths, timer keys and payloads are checked
/// against the contract's bounds before they get here.
pub trait Capabilities: Send + Sync {
    fn emit(
        &self,
        to: &Target,
        event: &str,
        args: &str,
        attachments: &[Vec<u8>],
    ) -> Result<u32, EmitError>;
    fn join(&self, socket: &str, room: &str) -> bool;
    fn leave(&self, socket: &str, room: &str) -> bool;
    fn disconnect(&self, socket: &str) -> bool;
    fn room_size(&self, room: &str) -> u32;
    fn room_members(&self, room: &str) -> Vec<String>;
    fn kv_get<'a>(&'a self, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>>;
    fn kv_set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_ms: Option<u64>) -> KvFuture<'a, ()>;
    fn kv_delete<'a>(&'a self, key: &'a str) -> KvFuture<'a, bool>;
    fn kv_increment<'a>(&'a self, key: &'a str, delta: i64) -> KvFuture<'a, i64>;
    /// Live entries under `prefix` after `start_after`, in key order: at
    /// most `limit` (already clamped to 1..=1000).
    fn kv_list<'a>(
        &'a self,
        prefix: &'a str,
        start_after: Option<&'a str>,
        limit: u32,
    ) -> KvFuture<'a, Vec<KvEntry>>;
    fn kv_compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> KvFuture<'a, bool>;
    /// All of `ops` (at most 64) or none.
    fn kv_batch<'a>(&'a self, ops: Vec<KvOp>) -> KvFuture<'a, Vec<KvOpResult>>;
    /// Sets the app's timer `key` to fire after `delay_ms` in the calling
    /// namespace.
    fn timer_set<'a>(
        &'a self,
        key: &'a str,
        delay_ms: u64,
        payload: String,
    ) -> HostFuture<'a, (), TimerError>;
    fn timer_cancel<'a>(&'a self, key: &'a str) -> HostFuture<'a, bool, TimerError>;
    /// The app's config value `name` (a secret decrypted).
    fn config_get<'a>(&'a self, name: &'a str) -> HostFuture<'a, Option<String>, ConfigError>;
    /// A socket's data, if it is on this node and has any.
    fn socket_data(&self, socket: &str) -> Option<String>;
    /// Replaces a socket's data (JSON, already checked).
    fn set_socket_data(&self, socket: &str, data: Option<String>) -> Result<(), DataError>;
    /// A log line from the handler (also its stdout/stderr and panic messages).
    fn log(&self, level: Level, message: &str);
}
