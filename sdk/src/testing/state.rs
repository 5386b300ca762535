//! The mock host's state and its side of [`crate::host`]: every import of
//! the contract, with the server's bounds, over in-memory maps.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::rc::Rc;

use serde_json::Value;

use super::{Emitted, Received, Recipients};
use crate::config::ConfigError;
use crate::data::{DataError, MAX_DATA_BYTES};
use crate::host::{EmitError, To};
use crate::kv::{Entry, KvError, Op, OpResult};
use crate::log::Level;
use crate::timers::{MAX_DELAY, MAX_KEY_BYTES as MAX_TIMER_KEY, MAX_PAYLOAD_BYTES, TimerError};

/// The server's bounds that the mock keeps too.
const MAX_KV_KEY: usize = 512;
const MAX_KV_PAGE: u32 = 1000;
const MAX_BATCH_OPS: usize = 64;
/// Event names Socket.IO keeps for itself.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

pub(super) struct Socket {
    pub(super) namespace: String,
    pub(super) data: Option<String>,
    pub(super) inbox: Vec<Received>,
}

/// A timer waiting for the fake clock.
#[derive(Clone)]
pub(super) struct Pending {
    pub(super) namespace: String,
    pub(super) payload: String,
    pub(super) due_ms: u64,
    /// Set order: timers due at the same millisecond fire in it.
    pub(super) seq: u64,
}

type KvMap = BTreeMap<String, (Vec<u8>, Option<u64>)>;

pub(super) struct State {
    pub(super) sockets: BTreeMap<String, Socket>,
    /// (namespace, room) → members.
    pub(super) rooms: BTreeMap<(String, String), BTreeSet<String>>,
    pub(super) emitted: Vec<Emitted>,
    /// Ordered by key bytes (`String`'s order), as the server lists.
    pub(super) kv: KvMap,
    pub(super) kv_quota: Option<usize>,
    pub(super) max_payload: usize,
    pub(super) logs: Vec<(Level, String)>,
    pub(super) disconnected: Vec<String>,
    pub(super) now_ms: u64,
    pub(super) seed: u64,
    /// The namespace of the hook running (or that ran last): emits, rooms
    /// and timers are scoped to it, as the server scopes them to the
    /// calling namespace.
    pub(super) namespace: String,
    pub(super) timers: BTreeMap<String, Pending>,
    pub(super) timer_seq: u64,
    pub(super) max_timers: u32,
    pub(super) config: BTreeMap<String, String>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            sockets: BTreeMap::new(),
            rooms: BTreeMap::new(),
            emitted: Vec::new(),
            kv: BTreeMap::new(),
            kv_quota: None,
            // The server's defaults for an app.
            max_payload: 1_000_000,
            logs: Vec::new(),
            disconnected: Vec::new(),
            now_ms: 1_700_000_000_000,
            seed: 0x9E37_79B9_7F4A_7C15,
            namespace: "/".into(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            max_timers: 100,
            config: BTreeMap::new(),
        }
    }
}

impl State {
    /// The members of `room` in the calling namespace; a socket id is a
    /// room of that one socket.
    fn members(&self, room: &str) -> BTreeSet<String> {
        match self.rooms.get(&(self.namespace.clone(), room.to_owned())) {
            Some(m) => m.clone(),
            None if self.here(room) => BTreeSet::from([room.to_owned()]),
            None => BTreeSet::new(),
        }
    }

    /// True when `socket` is connected to the calling namespace.
    fn here(&self, socket: &str) -> bool {
        self.sockets
            .get(socket)
            .is_some_and(|s| s.namespace == self.namespace)
    }

    /// Removes a socket from every room (it left).
    pub(super) fn detach(&mut self, socket: &str) {
        for members in self.rooms.values_mut() {
            members.remove(socket);
        }
        self.rooms.retain(|_, m| !m.is_empty());
    }
}

thread_local! {
    pub(super) static HOST: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    HOST.with(|h| {
        let h = h.borrow();
        let state = h
            .as_ref()
            .expect("no mock host on this thread: create an eddy_sdk::testing::MockHost first");
        let mut state = state.borrow_mut();
        f(&mut state)
    })
}

pub(crate) fn emit(
    to: To,
    event: &str,
    args: &str,
    attachments: &[Vec<u8>],
) -> Result<u32, EmitError> {
    if event.is_empty() || RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::InvalidEvent);
    }
    let args: Value = serde_json::from_str(args).map_err(|_| EmitError::InvalidArgs)?;
    if !args.is_array() {
        return Err(EmitError::InvalidArgs);
    }
    with_state(|s| {
        let excluded = |s: &State, except: &[String]| -> BTreeSet<String> {
            except.iter().flat_map(|r| s.members(r)).collect()
        };
        let (recipients, reached): (Recipients, BTreeSet<String>) = match to {
            To::Socket(id) => {
                let reached = if s.here(&id) {
                    BTreeSet::from([id.clone()])
                } else {
                    BTreeSet::new()
                };
                (Recipients::Socket(id), reached)
            }
            To::Rooms { rooms, except } => {
                let out = excluded(s, &except);
                let all: BTreeSet<String> = rooms.iter().flat_map(|r| s.members(r)).collect();
                let reached = all.difference(&out).cloned().collect();
                (Recipients::Rooms { rooms, except }, reached)
            }
            To::Namespace { except } => {
                let out = excluded(s, &except);
                let reached = s
                    .sockets
                    .iter()
                    .filter(|(id, sock)| sock.namespace == s.namespace && !out.contains(*id))
                    .map(|(id, _)| id.clone())
                    .collect();
                (Recipients::Namespace { except }, reached)
            }
        };
        let received = Received {
            event: event.to_owned(),
            args: args.clone(),
            attachments: attachments.to_vec(),
        };
        for id in &reached {
            if let Some(socket) = s.sockets.get_mut(id) {
                socket.inbox.push(received.clone());
            }
        }
        let delivered = reached.len() as u32;
        s.emitted.push(Emitted {
            to: recipients,
            event: event.to_owned(),
            args,
            attachments: attachments.to_vec(),
            delivered,
        });
        Ok(delivered)
    })
}

pub(crate) fn join(socket: &str, room: &str) -> bool {
    with_state(|s| {
        if !s.here(socket) {
            return false;
        }
        if room != socket {
            s.rooms
                .entry((s.namespace.clone(), room.to_owned()))
                .or_default()
                .insert(socket.to_owned());
        }
        true
    })
}

pub(crate) fn leave(socket: &str, room: &str) -> bool {
    with_state(|s| {
        if !s.here(socket) {
            return false;
        }
        let key = (s.namespace.clone(), room.to_owned());
        if let Some(m) = s.rooms.get_mut(&key) {
            m.remove(socket);
            if m.is_empty() {
                s.rooms.remove(&key);
            }
        }
        true
    })
}

pub(crate) fn disconnect(socket: &str) -> bool {
    with_state(|s| {
        let known = s.here(socket);
        if known {
            s.disconnected.push(socket.to_owned());
        }
        known
    })
}

pub(crate) fn room_size(room: &str) -> u32 {
    with_state(|s| s.members(room).len() as u32)
}

pub(crate) fn room_members(room: &str) -> Vec<String> {
    with_state(|s| s.members(room).into_iter().collect())
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KV_KEY {
        Err(KvError::InvalidKey)
    } else {
        Ok(())
    }
}

fn live(kv: &KvMap, key: &str, now: u64) -> Option<Vec<u8>> {
    kv.get(key)
        .filter(|(_, exp)| exp.is_none_or(|e| e > now))
        .map(|(v, _)| v.clone())
}

/// Bytes the app stores (keys and live values), as the quota counts them.
fn usage(kv: &KvMap, now: u64) -> usize {
    kv.iter()
        .filter(|(_, (_, exp))| exp.is_none_or(|e| e > now))
        .map(|(k, (v, _))| k.len() + v.len())
        .sum()
}

/// Runs `write` on a copy of the store and keeps the copy only if it
/// succeeded within the quota: every write is all or nothing, as a
/// batch is on the server.
fn transact<T>(write: impl FnOnce(&mut KvMap, u64) -> Result<T, KvError>) -> Result<T, KvError> {
    with_state(|s| {
        let mut next = s.kv.clone();
        let out = write(&mut next, s.now_ms)?;
        if let Some(quota) = s.kv_quota {
            let (before, after) = (usage(&s.kv, s.now_ms), usage(&next, s.now_ms));
            if after > quota && after > before {
                return Err(KvError::QuotaExceeded);
            }
        }
        s.kv = next;
        Ok(out)
    })
}

fn increment_in(kv: &mut KvMap, now: u64, key: &str, delta: i64) -> Result<i64, KvError> {
    let n: i64 = match live(kv, key, now) {
        None => 0,
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or(KvError::NotANumber)?,
    };
    // As the server: an overflow is not a number it can store.
    let next = n.checked_add(delta).ok_or(KvError::NotANumber)?;
    let expiry = kv.get(key).and_then(|(_, e)| *e).filter(|&e| e > now);
    kv.insert(key.to_owned(), (next.to_string().into_bytes(), expiry));
    Ok(next)
}

fn delete_in(kv: &mut KvMap, now: u64, key: &str) -> bool {
    let existed = live(kv, key, now).is_some();
    kv.remove(key);
    existed
}

pub(crate) fn kv_get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    check_key(key)?;
    with_state(|s| Ok(live(&s.kv, key, s.now_ms)))
}

pub(crate) fn kv_set(key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<(), KvError> {
    check_key(key)?;
    transact(|kv, now| {
        kv.insert(key.to_owned(), (value.to_vec(), ttl_ms.map(|t| now + t)));
        Ok(())
    })
}

pub(crate) fn kv_delete(key: &str) -> Result<bool, KvError> {
    check_key(key)?;
    transact(|kv, now| Ok(delete_in(kv, now, key)))
}

pub(crate) fn kv_increment(key: &str, delta: i64) -> Result<i64, KvError> {
    check_key(key)?;
    transact(|kv, now| increment_in(kv, now, key, delta))
}

pub(crate) fn kv_list(
    prefix: &str,
    start_after: Option<&str>,
    limit: u32,
) -> Result<Vec<Entry>, KvError> {
    if prefix.len() > MAX_KV_KEY || start_after.is_some_and(|s| s.len() > MAX_KV_KEY) {
        return Err(KvError::InvalidKey);
    }
    with_state(|s| {
        let limit = limit.clamp(1, MAX_KV_PAGE) as usize;
        let now = s.now_ms;
        let mut page: Vec<Entry> =
            s.kv.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(prefix))
                .filter(|(k, _)| start_after.is_none_or(|after| k.as_str() > after))
                .filter(|(_, (_, exp))| exp.is_none_or(|e| e > now))
                .take(limit)
                .map(|(k, (v, _))| Entry {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect();
        // The server stops a page before the entry that would cross the
        // app's maximum payload, keeping at least one.
        let mut bytes = 0usize;
        let keep = page
            .iter()
            .position(|e| {
                bytes += e.key.len() + e.value.len();
                bytes > s.max_payload
            })
            .map_or(page.len(), |cut| cut.max(1));
        page.truncate(keep);
        Ok(page)
    })
}

pub(crate) fn kv_compare_and_swap(
    key: &str,
    expected: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Result<bool, KvError> {
    check_key(key)?;
    transact(|kv, now| {
        if live(kv, key, now).as_deref() != expected {
            return Ok(false);
        }
        match new {
            Some(value) => kv.insert(key.to_owned(), (value.to_vec(), None)),
            None => kv.remove(key),
        };
        Ok(true)
    })
}

pub(crate) fn kv_batch(ops: Vec<Op>) -> Result<Vec<OpResult>, KvError> {
    if ops.len() > MAX_BATCH_OPS {
        return Err(KvError::TooLarge(format!(
            "a batch has at most {MAX_BATCH_OPS} operations; this one has {}",
            ops.len()
        )));
    }
    for op in &ops {
        match op {
            Op::Set(key, _) | Op::Delete(key) | Op::Increment(key, _) => check_key(key)?,
        }
    }
    transact(|kv, now| {
        ops.into_iter()
            .map(|op| match op {
                Op::Set(key, value) => {
                    kv.insert(key, (value, None));
                    Ok(OpResult::Set)
                }
                Op::Delete(key) => Ok(OpResult::Deleted(delete_in(kv, now, &key))),
                Op::Increment(key, by) => {
                    increment_in(kv, now, &key, by).map(OpResult::Incremented)
                }
            })
            .collect()
    })
}

pub(crate) fn timer_set(key: &str, delay_ms: u64, payload: &str) -> Result<(), TimerError> {
    if key.is_empty() || key.len() > MAX_TIMER_KEY {
        return Err(TimerError::InvalidKey);
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(TimerError::PayloadTooLarge);
    }
    if u128::from(delay_ms) > MAX_DELAY.as_millis() {
        return Err(TimerError::DelayTooLong);
    }
    with_state(|s| {
        if !s.timers.contains_key(key) && s.timers.len() >= s.max_timers as usize {
            return Err(TimerError::TooMany { max: s.max_timers });
        }
        s.timer_seq += 1;
        let pending = Pending {
            namespace: s.namespace.clone(),
            payload: payload.to_owned(),
            due_ms: s.now_ms.saturating_add(delay_ms),
            seq: s.timer_seq,
        };
        s.timers.insert(key.to_owned(), pending);
        Ok(())
    })
}

pub(crate) fn timer_cancel(key: &str) -> Result<bool, TimerError> {
    if key.is_empty() || key.len() > MAX_TIMER_KEY {
        return Err(TimerError::InvalidKey);
    }
    with_state(|s| Ok(s.timers.remove(key).is_some()))
}

pub(crate) fn config_get(name: &str) -> Result<Option<String>, ConfigError> {
    with_state(|s| Ok(s.config.get(name).cloned()))
}

pub(crate) fn data_get(socket: &str) -> Option<String> {
    with_state(|s| s.sockets.get(socket).and_then(|sock| sock.data.clone()))
}

pub(crate) fn data_set(socket: &str, data: Option<&str>) -> Result<(), DataError> {
    if let Some(data) = data {
        if data.len() > MAX_DATA_BYTES {
            return Err(DataError::TooLarge);
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(data).is_err() {
            return Err(DataError::NotJson);
        }
    }
    with_state(|s| {
        let socket = s.sockets.get_mut(socket).ok_or(DataError::NoSuchSocket)?;
        socket.data = data.map(str::to_owned);
        Ok(())
    })
}

pub(crate) fn log(level: Level, message: &str) {
    with_state(|s| s.logs.push((level, message.to_owned())));
}

pub(crate) fn now_ms() -> u64 {
    with_state(|s| s.now_ms)
}

pub(crate) fn random_u64() -> u64 {
    // splitmix64: deterministic, so tests are repeatable.
    with_state(|s| {
        s.seed = s.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

pub(crate) fn random_bytes(len: u32) -> Vec<u8> {
    (0..len).map(|_| random_u64() as u8).collect()
}
