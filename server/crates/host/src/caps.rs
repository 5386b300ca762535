//! What the embedder provides to a call: the capabilities of one socket of
//! one app. Every import a handler makes lands here.

use std::future::Future;
use std::pin::Pin;

use crate::types::{EmitError, KvError, Level, Target};

/// A key-value operation in flight (it may wait on a database).
pub type KvFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KvError>> + Send + 'a>>;

/// The calling socket's capabilities, scoped to its app and namespace.
/// `args` are JSON arrays the host has already checked; attachments are raw.
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
    /// A log line from the handler (also its stdout/stderr and panic messages).
    fn log(&self, level: Level, message: &str);
}
