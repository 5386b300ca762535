//! A native test kit: run your handler with `cargo test`, no server, no
//! WebAssembly. A [`MockHost`] stands in for Eddy on the current thread,
//! implements every import of the contract with the server's rules and
//! bounds, and records what the handler did: emits (and what each socket
//! received), room changes, key-value writes, timers, log lines,
//! disconnects. Its clock is fake: [`MockHost::advance`] moves it and
//! fires the timers that fall due.
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
//! let bob = host.context("bob");
//! host.event::<Shout>(&alice, Event::new("say", json!(["hi"]))).unwrap();
//! let sent = host.take_emitted();
//! assert_eq!(sent[0].event, "loud");
//! assert_eq!(sent[0].args, json!(["HI"]));
//! assert_eq!(sent[0].delivered, 1);
//! assert_eq!(sent[0].to, Recipients::Namespace { except: vec!["alice".into()] });
//! assert_eq!(host.received(&bob)[0].args, json!(["HI"]));
//! assert!(host.received(&alice).is_empty());
//! ```
//!
//! Timers, with the fake clock:
//!
//! ```
//! use std::time::Duration;
//! use eddy_sdk::testing::MockHost;
//! use eddy_sdk::{Context, Event, EventResult, Handler, Timer, TimerContext, TimerResult, json};
//!
//! struct Reminder;
//! impl Handler for Reminder {
//!     fn on_event(cx: &Context, event: Event) -> EventResult {
//!         let text: String = event.args.get(0)?;
//!         cx.join("me");
//!         cx.timers().set("remind", Duration::from_secs(60), &text)?;
//!         Ok(None)
//!     }
//!     fn on_timer(cx: &TimerContext, timer: Timer) -> TimerResult {
//!         let text: String = timer.payload()?;
//!         cx.emit("reminder").to_room("me").arg(&text)?.send()?;
//!         Ok(())
//!     }
//! }
//!
//! let host = MockHost::new();
//! let ada = host.context("ada");
//! host.event::<Reminder>(&ada, Event::new("remind-me", json!(["tea"]))).unwrap();
//! assert!(host.advance::<Reminder>(Duration::from_secs(59)).is_empty());
//! assert_eq!(host.advance::<Reminder>(Duration::from_secs(1)), ["remind"]);
//! assert_eq!(host.take_received(&ada)[0].args, json!(["tea"]));
//! ```

mod state;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;

use crate::log::Level;
use crate::{
    ConnectReply, Context, DisconnectReason, Event, EventResult, Handler, Handshake, Reject, Timer,
    TimerContext,
};
use state::{HOST, Socket, State};

pub(crate) use state::{
    config_get, data_get, data_set, disconnect, emit, join, kv_batch, kv_compare_and_swap,
    kv_delete, kv_get, kv_increment, kv_list, kv_set, leave, log, now_ms, random_bytes, random_u64,
    room_members, room_size, timer_cancel, timer_set,
};

/// The app every mock socket belongs to.
const APP: &str = "test";
/// Timers one [`MockHost::advance`] fires at most: a timer that re-arms
/// itself with no delay would otherwise never let the clock move.
const MAX_FIRED_PER_ADVANCE: usize = 1_000_000;

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

/// One event a socket received (from any emit that reached it).
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The event name.
    pub event: String,
    /// The arguments as a JSON array.
    pub args: Value,
    /// Binary attachments.
    pub attachments: Vec<Vec<u8>>,
}

/// A timer the mock host holds until its clock reaches `due_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledTimer {
    /// Its key.
    pub key: String,
    /// The namespace it was set from (where `on_timer` will run).
    pub namespace: String,
    /// Its payload, as set.
    pub payload: String,
    /// When it falls due, in the mock's milliseconds.
    pub due_ms: u64,
}

/// A stand-in for Eddy on the current thread. Creating one replaces the
/// previous one; each test thread has its own.
///
/// Sockets belong to app `test` and to the namespace they were made in.
/// Like the server, emits, rooms and timers are scoped to the namespace
/// of the hook running (the last one run, between hooks; `/` at first).
pub struct MockHost {
    state: Rc<RefCell<State>>,
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHost {
    /// Installs a fresh mock host on this thread (clock at 1,700,000,000,000 ms,
    /// 100 timers at most, no key-value quota, a 1 MB maximum payload).
    pub fn new() -> Self {
        let state = Rc::new(RefCell::new(State::default()));
        HOST.with(|h| *h.borrow_mut() = Some(state.clone()));
        Self { state }
    }

    /// A connected socket `id` in the `/` namespace, without running
    /// `on_connect`.
    pub fn context(&self, id: &str) -> Context {
        self.context_in("/", id)
    }

    /// A connected socket `id` in `namespace`, without running `on_connect`
    /// (the socket keeps its data if it was already connected).
    pub fn context_in(&self, namespace: &str, id: &str) -> Context {
        let mut s = self.state.borrow_mut();
        let socket = s.sockets.entry(id.to_owned()).or_insert_with(|| Socket {
            namespace: namespace.to_owned(),
            data: None,
            inbox: Vec::new(),
        });
        socket.namespace = namespace.to_owned();
        Context::new(APP, namespace, id, socket.data.clone())
    }

    /// Runs `H::on_connect` for socket `id` in `/`; on acceptance the
    /// socket is connected, joined to the reply's rooms, and its context
    /// returned.
    pub fn connect<H: Handler>(&self, id: &str, handshake: &Handshake) -> Result<Context, Reject> {
        self.connect_to::<H>("/", id, handshake)
    }

    /// Runs `H::on_connect` for socket `id` joining `namespace` (`/chat`).
    ///
    /// ```
    /// use eddy_sdk::testing::MockHost;
    /// use eddy_sdk::{ConnectReply, Context, Event, EventResult, Handler, Handshake, Reject, json};
    ///
    /// struct OnlyChat;
    /// impl Handler for OnlyChat {
    ///     fn on_connect(cx: &Context, hs: &Handshake) -> Result<ConnectReply, Reject> {
    ///         if cx.namespace() != "/chat" {
    ///             return Err(Reject::new("try /chat"));
    ///         }
    ///         let from = hs.address().unwrap_or("?").to_owned();
    ///         Ok(ConnectReply::accept().join("lobby").data(&from))
    ///     }
    ///     fn on_event(_cx: &Context, _event: Event) -> EventResult { Ok(None) }
    /// }
    ///
    /// let host = MockHost::new();
    /// let hs = Handshake::default().with_address("198.51.100.7:4000");
    /// assert!(host.connect::<OnlyChat>("a", &hs).is_err());
    /// let cx = host.connect_to::<OnlyChat>("/chat", "b", &hs).unwrap();
    /// assert_eq!(cx.data::<String>().as_deref(), Some("198.51.100.7:4000"));
    /// assert_eq!(host.rooms_of("b"), ["lobby"]);
    /// ```
    pub fn connect_to<H: Handler>(
        &self,
        namespace: &str,
        id: &str,
        handshake: &Handshake,
    ) -> Result<Context, Reject> {
        let cx = Context::new(APP, namespace, id, None);
        {
            // The socket is there while `on_connect` runs, as on the
            // server: what it emits to itself reaches its inbox.
            let mut s = self.state.borrow_mut();
            s.namespace = namespace.to_owned();
            s.sockets.insert(
                id.to_owned(),
                Socket {
                    namespace: namespace.to_owned(),
                    data: None,
                    inbox: Vec::new(),
                },
            );
        }
        let reply = H::on_connect(&cx, handshake);
        let ConnectReply { rooms, data } = reply.inspect_err(|_| {
            let mut s = self.state.borrow_mut();
            s.detach(id);
            s.sockets.remove(id);
        })?;
        if let Some(socket) = self.state.borrow_mut().sockets.get_mut(id) {
            socket.data = data.clone();
        }
        for room in rooms {
            join(id, &room);
        }
        *cx.data.borrow_mut() = data;
        Ok(cx)
    }

    /// The context a hook of `socket` sees now: its data as last set.
    fn current(&self, cx: &Context) -> Context {
        let mut s = self.state.borrow_mut();
        s.namespace = cx.namespace.clone();
        let data = match s.sockets.get(&cx.socket) {
            Some(socket) => socket.data.clone(),
            None => cx.data.borrow().clone(),
        };
        Context::new(APP, &cx.namespace, &cx.socket, data)
    }

    /// Runs `H::on_event` for the socket of `cx` (with its data as last
    /// set, by `on_connect` or `set_data`).
    pub fn event<H: Handler>(&self, cx: &Context, event: Event) -> EventResult {
        H::on_event(&self.current(cx), event)
    }

    /// Takes the socket out of its rooms (as the server detaches it), runs
    /// `H::on_disconnect`, and forgets the socket.
    pub fn disconnect<H: Handler>(&self, cx: &Context, reason: DisconnectReason) {
        let hook = self.current(cx);
        self.state.borrow_mut().detach(&cx.socket);
        H::on_disconnect(&hook, reason);
        self.state.borrow_mut().sockets.remove(&cx.socket);
    }

    /// Moves the fake clock forward by `by`, firing every timer that falls
    /// due on the way, in due order (ties in the order they were set), each
    /// with the clock at its due time. Timers set by `on_timer` fire too if
    /// they fall due within `by`. Returns the keys fired; an `on_timer`
    /// error is logged, as the server logs it.
    pub fn advance<H: Handler>(&self, by: Duration) -> Vec<String> {
        let until = {
            let s = self.state.borrow();
            s.now_ms
                .saturating_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX))
        };
        let mut fired = Vec::new();
        loop {
            let next = {
                let mut s = self.state.borrow_mut();
                let due = s
                    .timers
                    .iter()
                    .filter(|(_, t)| t.due_ms <= until)
                    .min_by_key(|(_, t)| (t.due_ms, t.seq))
                    .map(|(k, _)| k.clone());
                // As on the server, the firing timer stays pending while
                // its hook runs (it counts toward max_timers; cancelling
                // it finds it), and is deleted after unless the hook set
                // it again.
                due.and_then(|key| {
                    let timer = s.timers.get(&key)?.clone();
                    s.now_ms = s.now_ms.max(timer.due_ms);
                    s.namespace = timer.namespace.clone();
                    Some((key, timer))
                })
            };
            let Some((key, timer)) = next else { break };
            assert!(
                fired.len() < MAX_FIRED_PER_ADVANCE,
                "timers fired {MAX_FIRED_PER_ADVANCE} times in one advance: does {key:?} re-arm with no delay?"
            );
            let cx = TimerContext::new(APP, &timer.namespace);
            let hook = Timer {
                key: key.clone(),
                payload: timer.payload,
                due_ms: timer.due_ms,
            };
            let seq = timer.seq;
            if let Err(e) = H::on_timer(&cx, hook) {
                log(Level::Error, &format!("timer {key:?} failed: {e}"));
            }
            let mut s = self.state.borrow_mut();
            if s.timers.get(&key).is_some_and(|t| t.seq == seq) {
                s.timers.remove(&key);
            }
            drop(s);
            fired.push(key);
        }
        let mut s = self.state.borrow_mut();
        s.now_ms = s.now_ms.max(until);
        fired
    }

    /// The timers pending, soonest first.
    pub fn timers(&self) -> Vec<ScheduledTimer> {
        let s = self.state.borrow();
        let mut pending: Vec<_> = s.timers.iter().collect();
        pending.sort_by_key(|(_, t)| (t.due_ms, t.seq));
        pending
            .into_iter()
            .map(|(key, t)| ScheduledTimer {
                key: key.clone(),
                namespace: t.namespace.clone(),
                payload: t.payload.clone(),
                due_ms: t.due_ms,
            })
            .collect()
    }

    /// Sets the app's `max_timers` limit (100 by default).
    pub fn set_max_timers(&self, max: u32) {
        self.state.borrow_mut().max_timers = max;
    }

    /// Sets config variable `name`, as an operator would; the next hook reads it.
    pub fn set_config(&self, name: &str, value: &str) {
        self.state
            .borrow_mut()
            .config
            .insert(name.to_owned(), value.to_owned());
    }

    /// Removes config variable `name`.
    pub fn unset_config(&self, name: &str) {
        self.state.borrow_mut().config.remove(name);
    }

    /// Everything emitted so far.
    pub fn emitted(&self) -> Vec<Emitted> {
        self.state.borrow().emitted.clone()
    }

    /// Everything emitted so far, clearing the record.
    pub fn take_emitted(&self) -> Vec<Emitted> {
        std::mem::take(&mut self.state.borrow_mut().emitted)
    }

    /// What the socket of `cx` received so far, from emits to it, its
    /// rooms or its namespace.
    pub fn received(&self, cx: &Context) -> Vec<Received> {
        let s = self.state.borrow();
        s.sockets
            .get(&cx.socket)
            .map(|socket| socket.inbox.clone())
            .unwrap_or_default()
    }

    /// What the socket of `cx` received so far, clearing its record.
    pub fn take_received(&self, cx: &Context) -> Vec<Received> {
        let mut s = self.state.borrow_mut();
        s.sockets
            .get_mut(&cx.socket)
            .map(|socket| std::mem::take(&mut socket.inbox))
            .unwrap_or_default()
    }

    /// The rooms `socket` is in.
    pub fn rooms_of(&self, socket: &str) -> Vec<String> {
        let s = self.state.borrow();
        s.rooms
            .iter()
            .filter(|(_, m)| m.contains(socket))
            .map(|((_, room), _)| room.clone())
            .collect()
    }

    /// The data of `socket` (JSON), as the last hook left it.
    pub fn socket_data(&self, socket: &str) -> Option<String> {
        data_get(socket)
    }

    /// The value stored at `key`, if any and not expired.
    pub fn kv(&self, key: &str) -> Option<Vec<u8>> {
        let s = self.state.borrow();
        let now = s.now_ms;
        s.kv.get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
            .map(|(v, _)| v.clone())
    }

    /// Limits the key-value store to `bytes` (keys plus values), as the
    /// app's quota does; a write over it fails with `QuotaExceeded`.
    pub fn set_kv_quota(&self, bytes: usize) {
        self.state.borrow_mut().kv_quota = Some(bytes);
    }

    /// Sets the app's maximum payload, which also bounds a `kv::list` page
    /// (1,000,000 bytes by default).
    pub fn set_max_payload(&self, bytes: usize) {
        self.state.borrow_mut().max_payload = bytes;
    }

    /// Log lines written so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.state.borrow().logs.clone()
    }

    /// Sockets a handler disconnected.
    pub fn disconnected(&self) -> Vec<String> {
        self.state.borrow().disconnected.clone()
    }

    /// Sets the clock (to test expiry). Timers do not fire; use
    /// [`MockHost::advance`] for that.
    pub fn set_now_ms(&self, ms: u64) {
        self.state.borrow_mut().now_ms = ms;
    }
}

#[cfg(test)]
mod tests;
