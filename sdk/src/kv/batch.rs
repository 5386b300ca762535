//! Several writes applied together, all or none.

use serde::Serialize;

use super::KvError;
use crate::host;

/// One write of a batch, as the host takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    Set(String, Vec<u8>),
    Delete(String),
    Increment(String, i64),
}

/// What one write of a batch did, in the order of the writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpResult {
    /// The key was set.
    Set,
    /// The key was removed: true when it existed.
    Deleted(bool),
    /// The key's new value.
    Incremented(i64),
}

/// Up to 64 writes applied in order by [`Batch::commit`], all of them or
/// none: one that is refused (quota, key, number) undoes the ones before
/// it. From [`kv::batch`](super::batch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a batch writes nothing until committed"]
pub struct Batch {
    ops: Vec<Op>,
    /// A value that could not be serialized: reported by `commit`, so the
    /// builder chain stays free of `?`.
    invalid: Option<String>,
}

impl Batch {
    /// Sets `key` to `value` (without expiry).
    pub fn set(mut self, key: &str, value: impl AsRef<[u8]>) -> Self {
        self.ops
            .push(Op::Set(key.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Sets `key` to `value` serialized as JSON.
    pub fn set_json<T: Serialize + ?Sized>(mut self, key: &str, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.ops.push(Op::Set(key.to_owned(), bytes)),
            Err(e) => self.invalid = Some(e.to_string()),
        }
        self
    }

    /// Removes `key`.
    pub fn delete(mut self, key: &str) -> Self {
        self.ops.push(Op::Delete(key.to_owned()));
        self
    }

    /// Adds `by` to the integer at `key` (missing counts as 0).
    pub fn increment(mut self, key: &str, by: i64) -> Self {
        self.ops.push(Op::Increment(key.to_owned(), by));
        self
    }

    /// How many writes the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Applies the writes; their results are in the order they were added.
    /// More than 64 writes is [`KvError::TooLarge`], and nothing is written.
    pub fn commit(self) -> Result<Vec<OpResult>, KvError> {
        if let Some(why) = self.invalid {
            return Err(KvError::InvalidJson(why));
        }
        host::kv_batch(self.ops)
    }
}
