//! Probe: each import of contract 0.2 as an event, written against the raw
//! bindings (no SDK), so the server's tests drive the host directly,
//! hostile inputs included. Every event acks `[result]` where `result` is
//! the import's answer as JSON, or `{"error": "<variant>"}`.
//!
//! - `timer.set(key, delay_ms, payload)`, `timer.cancel(key)`,
//!   `timer.storm(n, delay_ms)` (sets `storm-0`… until refused; acks how
//!   many were set and the refusal; `timer.storm.slow` sets them with the
//!   payload `"slow"`);
//! - `kv.list(prefix, start_after|null, limit)` → `[[key, value-length]…]`,
//!   `kv.set(key, text)`, `kv.get(key)`, `kv.cas(key, expected|null, new|null)`,
//!   `kv.batch([["set", k, v] | ["delete", k] | ["increment", k, by]…])`,
//!   `kv.bump(key)` (a read-CAS loop incrementing a decimal, retried until
//!   it wins, busy answers included: lost updates would show in the final
//!   count);
//! - `config.get(name)`;
//! - `data.set(json|null)` on the calling socket, `data.get(socket)`;
//! - on a timer: emits `fired` `[key, payload, due_ms, now_ms]` to the
//!   timer's namespace, re-arms it when the payload is `"again"`, and
//!   first sleeps 50 ms when it is `"slow"`;
//! - on disconnect: emits `left` `[socket, data]` to the namespace.

wit_bindgen::generate!({
    path: "../../../sdk/wit",
    world: "eddy:handler/app",
    generate_all,
});

use eddy::handler::types::{
    Ack, ConnectReply, DisconnectReason, Event, EventError, Handshake, Reject, SocketInfo, Timer,
};
use eddy::handler::{clock, config, kv, socket_data, sockets, timers};
use exports::eddy::handler::handler::Guest;
use serde_json::{Value, json};

struct Probe;

/// `{"error": "TooMany(5)"}` for `TimerError::TooMany(5)`.
fn error(variant: impl std::fmt::Debug) -> Value {
    let debug = format!("{variant:?}");
    let name = debug.split_once("::").map_or(debug.as_str(), |(_, v)| v);
    json!({ "error": name })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| s.as_bytes().to_vec())
}

fn bump(key: &str) -> Value {
    for attempt in 0..10_000u32 {
        let current = match kv::get(key) {
            Ok(v) => v,
            // Busy (the app's calls in flight are bounded): try again.
            Err(kv::KvError::Unavailable(why)) if why.starts_with("busy") => continue,
            Err(e) => return error(e),
        };
        let n: i64 = current
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        match kv::compare_and_swap(key, current.as_deref(), Some((n + 1).to_string().as_bytes())) {
            Ok(true) => return json!({ "value": n + 1, "attempts": attempt + 1 }),
            Ok(false) => continue,
            Err(kv::KvError::Unavailable(why)) if why.starts_with("busy") => continue,
            Err(e) => return error(e),
        }
    }
    json!({ "error": "gave up" })
}

fn run(ctx: &SocketInfo, name: &str, a: &[Value]) -> Value {
    let arg = |i: usize| a.get(i).cloned().unwrap_or(Value::Null);
    match name {
        "timer.set" => match timers::set(&text(&arg(0)), arg(1).as_u64().unwrap_or(0), &text(&arg(2))) {
            Ok(()) => json!("ok"),
            Err(e) => error(e),
        },
        "timer.cancel" => timers::cancel(&text(&arg(0))).map_or_else(error, |b| json!(b)),
        "timer.storm" | "timer.storm.slow" => {
            let delay = arg(1).as_u64().unwrap_or(60_000);
            let payload = if name == "timer.storm.slow" { "slow" } else { "" };
            let mut set = 0;
            for i in 0..arg(0).as_u64().unwrap_or(0) {
                if let Err(e) = timers::set(&format!("storm-{i}"), delay, payload) {
                    return json!({ "set": set, "refused": error(e)["error"] });
                }
                set += 1;
            }
            json!({ "set": set })
        }
        "kv.list" => {
            let after = arg(1).as_str().map(str::to_owned);
            let limit = arg(2).as_u64().unwrap_or(10) as u32;
            match kv::list(&text(&arg(0)), after.as_deref(), limit) {
                Ok(page) => page.iter().map(|e| json!([e.key, e.value.len()])).collect(),
                Err(e) => error(e),
            }
        }
        "kv.set" => kv::set(&text(&arg(0)), text(&arg(1)).as_bytes(), None)
            .map_or_else(error, |()| json!("ok")),
        "kv.get" => kv::get(&text(&arg(0)))
            .map_or_else(error, |v| json!(v.map(|v| String::from_utf8_lossy(&v).into_owned()))),
        "kv.cas" => kv::compare_and_swap(&text(&arg(0)), bytes(&arg(1)).as_deref(), bytes(&arg(2)).as_deref())
            .map_or_else(error, |b| json!(b)),
        "kv.batch" => {
            let ops: Vec<kv::Op> = arg(0)
                .as_array()
                .into_iter()
                .flatten()
                .map(|op| match op[0].as_str() {
                    Some("set") => kv::Op::Set(kv::Entry {
                        key: text(&op[1]),
                        value: text(&op[2]).into_bytes(),
                    }),
                    Some("delete") => kv::Op::Delete(text(&op[1])),
                    _ => kv::Op::Increment((text(&op[1]), op[2].as_i64().unwrap_or(0))),
                })
                .collect();
            match kv::batch(&ops) {
                Ok(results) => results
                    .iter()
                    .map(|r| match r {
                        kv::OpResult::Set => json!("set"),
                        kv::OpResult::Deleted(b) => json!({ "deleted": b }),
                        kv::OpResult::Incremented(n) => json!({ "incremented": n }),
                    })
                    .collect(),
                Err(e) => error(e),
            }
        }
        "kv.bump" => bump(&text(&arg(0))),
        "config.get" => config::get(&text(&arg(0))).map_or_else(error, |v| json!(v)),
        "data.set" => {
            let data = (!arg(0).is_null()).then(|| arg(0).to_string());
            socket_data::set(&ctx.socket, data.as_deref()).map_or_else(error, |()| json!("ok"))
        }
        "data.get" => json!(socket_data::get(&text(&arg(0)))),
        other => json!({ "error": format!("no event {other}") }),
    }
}

impl Guest for Probe {
    fn on_connect(_ctx: SocketInfo, _handshake: Handshake) -> Result<ConnectReply, Reject> {
        Ok(ConnectReply { rooms: vec![], data: None })
    }

    fn on_event(ctx: SocketInfo, event: Event) -> Result<Option<Ack>, EventError> {
        let args: Vec<Value> = serde_json::from_str(&event.args).unwrap_or_default();
        let result = run(&ctx, &event.name, &args);
        Ok(Some(Ack { args: json!([result]).to_string(), attachments: vec![] }))
    }

    fn on_disconnect(ctx: SocketInfo, _reason: DisconnectReason) {
        let args = json!([ctx.socket, ctx.data]).to_string();
        let _ = sockets::emit(&sockets::Target::NamespaceExcept(vec![]), "left", &args, &[]);
    }

    fn on_timer(timer: Timer) {
        if timer.payload == "slow" {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let args = json!([timer.key, timer.payload, timer.due_ms, clock::now_ms()]).to_string();
        let _ = sockets::emit(&sockets::Target::NamespaceExcept(vec![]), "fired", &args, &[]);
        if timer.payload == "again" {
            let _ = timers::set(&timer.key, 50, "again");
        }
    }
}

export!(Probe);
