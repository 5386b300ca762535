//! A native test kit: run your handler with `cargo test`, no server, no
//! WebAssembly. A [`MockHost`] stands in for Eddy on the current thread and
//! records what the handler did: emits, room changes, key-value writes,
//! log lines, disconnects.
//!
//! ```
//! use eddy_sdk::testing::{MockHost, Recipients};
//! use eddy_sdk::{Context, Event, EventResult, Handler, json};
//!
//! struct Shout;
//! impl Handler for Shout {
//!     fn on_event(cx: &Context, event: Event) -> EventResult {
//!         let text: String = event.args.get(0)?;
//!         cx.emit("loud").to_all().except_me().arg(&text.to_uppercase())?.send()?;
//!         Ok(None)
//!     }
//! }
//!
//! let host = MockHost::new();
//! let alice = host.context("alice");
//! host.context("bob");
//! host.event::<Shout>(&alice, Event::new("say", json!(["hi"]))).unwrap();
//! let sent = host.take_emitted();
//! assert_eq!(sent[0].event, "loud");
//! assert_eq!(sent[0].args, json!(["HI"]));
//! assert_eq!(sent[0].delivered, 1);
//! assert_eq!(sent[0].to, Recipients::Namespace { except: vec!["alice".into()] });
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use serde_json::Value;

use crate::log::Level;
use crate::{
    ConnectReply, Context, DisconnectReason, Event, EventResult, Handler, Handshake, Reject,
};

/// Who an emit was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    /// One socket.
    Socket(String),
    /// Members of `rooms` minus members of `except`.
    Rooms {
        /// The rooms.
        rooms: Vec<String>,
        /// The excluded rooms (socket ids exclude that socket).
        except: Vec<String>,
    },
    /// The whole namespace minus members of `except`.
    Namespace {
        /// The excluded rooms (socket ids exclude that socket).
        except: Vec<String>,
    },
}

/// One recorded emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// Who it was for.
    pub to: Recipients,
    /// The event name.
    pub event: String,
    /// The arguments as a JSON array.
    pub args: Value,
    /// Binary attachments.
    pub attachments: Vec<Vec<u8>>,
    /// How many of the mock host's sockets it reached.
    pub delivered: u32,
}

#[derive(Default)]
struct State {
    sockets: BTreeSet<String>,
    rooms: BTreeMap<String, BTreeSet<String>>,
    emitted: Vec<Emitted>,
    kv: HashMap<String, (Vec<u8>, Option<u64>)>,
    logs: Vec<(Level, String)>,
    disconnected: Vec<String>,
    now_ms: u64,
    seed: u64,
}

thread_local! {
    static HOST: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
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

/// A stand-in for Eddy on the current thread. Creating one replaces the
/// previous one; each test thread has its own.
pub struct MockHost {
    state: Rc<RefCell<State>>,
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHost {
    /// Installs a fresh mock host on this thread (clock at 1,700,000,000,000 ms).
    pub fn new() -> Self {
        let state = Rc::new(RefCell::new(State {
            now_ms: 1_700_000_000_000,
            seed: 0x9E37_79B9_7F4A_7C15,
            ..State::default()
        }));
        HOST.with(|h| *h.borrow_mut() = Some(state.clone()));
        Self { state }
    }

    /// A connected socket `id` in the `/` namespace of app `test`.
    pub fn context(&self, id: &str) -> Context {
        self.context_in("/", id)
    }

    /// A connected socket `id` in `namespace`.
    pub fn context_in(&self, namespace: &str, id: &str) -> Context {
        self.state.borrow_mut().sockets.insert(id.to_owned());
        Context {
            app: "test".into(),
            namespace: namespace.into(),
            socket: id.into(),
            data: None,
        }
    }

    /// Runs `H::on_connect` for socket `id`; on acceptance the socket is
    /// connected, joined to the reply's rooms, and its context returned.
    pub fn connect<H: Handler>(&self, id: &str, handshake: &Handshake) -> Result<Context, Reject> {
        let mut cx = Context {
            app: "test".into(),
            namespace: "/".into(),
            socket: id.into(),
            data: None,
        };
        let ConnectReply { rooms, data } = H::on_connect(&cx, handshake)?;
        self.state.borrow_mut().sockets.insert(id.to_owned());
        for room in rooms {
            host::join(id, &room);
        }
        cx.data = data;
        Ok(cx)
    }

    /// Runs `H::on_event` for the socket of `cx`.
    pub fn event<H: Handler>(&self, cx: &Context, event: Event) -> EventResult {
        H::on_event(cx, event)
    }

    /// Runs `H::on_disconnect` and forgets the socket.
    pub fn disconnect<H: Handler>(&self, cx: &Context, reason: DisconnectReason) {
        H::on_disconnect(cx, reason);
        let mut s = self.state.borrow_mut();
        s.sockets.remove(&cx.socket);
        for members in s.rooms.values_mut() {
            members.remove(&cx.socket);
        }
    }

    /// Everything emitted so far.
    pub fn emitted(&self) -> Vec<Emitted> {
        self.state.borrow().emitted.clone()
    }

    /// Everything emitted so far, clearing the record.
    pub fn take_emitted(&self) -> Vec<Emitted> {
        std::mem::take(&mut self.state.borrow_mut().emitted)
    }

    /// The rooms `socket` is in.
    pub fn rooms_of(&self, socket: &str) -> Vec<String> {
        let s = self.state.borrow();
        s.rooms
            .iter()
            .filter(|(_, m)| m.contains(socket))
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// The value stored at `key`, if any and not expired.
    pub fn kv(&self, key: &str) -> Option<Vec<u8>> {
        let s = self.state.borrow();
        let now = s.now_ms;
        s.kv.get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
            .map(|(v, _)| v.clone())
    }

    /// Log lines written so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.state.borrow().logs.clone()
    }

    /// Sockets a handler disconnected.
    pub fn disconnected(&self) -> Vec<String> {
        self.state.borrow().disconnected.clone()
    }

    /// Sets the clock (to test expiry).
    pub fn set_now_ms(&self, ms: u64) {
        self.state.borrow_mut().now_ms = ms;
    }
}

/// The mock side of [`crate::host`].
pub(crate) mod host {
    use super::*;
    use crate::host::{EmitError, To};
    use crate::kv::KvError;

    fn members(s: &State, room: &str) -> BTreeSet<String> {
        match s.rooms.get(room) {
            Some(m) => m.clone(),
            None if s.sockets.contains(room) => BTreeSet::from([room.to_owned()]),
            None => BTreeSet::new(),
        }
    }

    pub(crate) fn emit(
        to: To,
        event: &str,
        args: &str,
        attachments: &[Vec<u8>],
    ) -> Result<u32, EmitError> {
        let args: Value = serde_json::from_str(args).map_err(|_| EmitError::InvalidArgs)?;
        if !args.is_array() {
            return Err(EmitError::InvalidArgs);
        }
        with_state(|s| {
            let excluded = |except: &[String]| -> BTreeSet<String> {
                except.iter().flat_map(|r| members(s, r)).collect()
            };
            let (recipients, delivered) = match to {
                To::Socket(id) => {
                    let n = u32::from(s.sockets.contains(&id));
                    (Recipients::Socket(id), n)
                }
                To::Rooms { rooms, except } => {
                    let out = excluded(&except);
                    let all: BTreeSet<String> = rooms.iter().flat_map(|r| members(s, r)).collect();
                    let n = all.difference(&out).count() as u32;
                    (Recipients::Rooms { rooms, except }, n)
                }
                To::Namespace { except } => {
                    let out = excluded(&except);
                    let n = s.sockets.difference(&out).count() as u32;
                    (Recipients::Namespace { except }, n)
                }
            };
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
            if !s.sockets.contains(socket) {
                return false;
            }
            if room != socket {
                s.rooms
                    .entry(room.to_owned())
                    .or_default()
                    .insert(socket.to_owned());
            }
            true
        })
    }

    pub(crate) fn leave(socket: &str, room: &str) -> bool {
        with_state(|s| {
            if !s.sockets.contains(socket) {
                return false;
            }
            if let Some(m) = s.rooms.get_mut(room) {
                m.remove(socket);
                if m.is_empty() {
                    s.rooms.remove(room);
                }
            }
            true
        })
    }

    pub(crate) fn disconnect(socket: &str) -> bool {
        with_state(|s| {
            let known = s.sockets.contains(socket);
            if known {
                s.disconnected.push(socket.to_owned());
            }
            known
        })
    }

    pub(crate) fn room_size(room: &str) -> u32 {
        with_state(|s| members(s, room).len() as u32)
    }

    pub(crate) fn room_members(room: &str) -> Vec<String> {
        with_state(|s| members(s, room).into_iter().collect())
    }

    fn check_key(key: &str) -> Result<(), KvError> {
        if key.is_empty() || key.len() > 512 {
            Err(KvError::InvalidKey)
        } else {
            Ok(())
        }
    }

    pub(crate) fn kv_get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        with_state(|s| {
            let now = s.now_ms;
            Ok(s.kv
                .get(key)
                .filter(|(_, exp)| exp.is_none_or(|e| e > now))
                .map(|(v, _)| v.clone()))
        })
    }

    pub(crate) fn kv_set(key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<(), KvError> {
        check_key(key)?;
        with_state(|s| {
            let expiry = ttl_ms.map(|t| s.now_ms + t);
            s.kv.insert(key.to_owned(), (value.to_vec(), expiry));
            Ok(())
        })
    }

    pub(crate) fn kv_delete(key: &str) -> Result<bool, KvError> {
        check_key(key)?;
        with_state(|s| Ok(s.kv.remove(key).is_some()))
    }

    pub(crate) fn kv_increment(key: &str, delta: i64) -> Result<i64, KvError> {
        let current = kv_get(key)?;
        let n: i64 = match current {
            None => 0,
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or(KvError::NotANumber)?,
        };
        let next = n.saturating_add(delta);
        with_state(|s| {
            let expiry = s.kv.get(key).and_then(|(_, e)| *e);
            s.kv.insert(key.to_owned(), (next.to_string().into_bytes(), expiry));
        });
        Ok(next)
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
}
