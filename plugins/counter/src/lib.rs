//! `counter`: one shared counter in the key-value store, changed with atomic
//! increments and broadcast to everyone on change. Shows `kv::increment`
//! (safe under concurrent instances) and namespace-wide emits.
//!
//! - on connect the socket gets `counter` with the current value;
//! - `increment(by?)` (default 1, at most ±1000) → everyone gets `counter`
//!   with the new value; ack with it;
//! - `get` → ack with the current value.

use eddy_sdk::{Ack, ConnectReply, Context, Event, EventError, EventResult, Handler, Handshake, Reject, kv};

pub struct Counter;

const KEY: &str = "counter";

fn current() -> Result<i64, kv::KvError> {
    Ok(kv::get_string(KEY)?.and_then(|s| s.parse().ok()).unwrap_or(0))
}

#[eddy_sdk::handler]
impl Handler for Counter {
    fn on_connect(cx: &Context, _handshake: &Handshake) -> Result<ConnectReply, Reject> {
        let value = current().map_err(|e| Reject::new(e.to_string()))?;
        let sent = cx.emit("counter").arg(&value).and_then(|e| e.send());
        sent.map_err(|e| Reject::new(e.to_string()))?;
        Ok(ConnectReply::accept())
    }

    fn on_event(cx: &Context, event: Event) -> EventResult {
        match event.name.as_str() {
            "increment" => {
                let by: i64 = if event.args.raw() == "[]" { 1 } else { event.args.get(0)? };
                if !(-1000..=1000).contains(&by) {
                    return Err(EventError::bad_args("increment by at most ±1000"));
                }
                let value = kv::increment(KEY, by)?;
                cx.emit("counter").to_all().arg(&value)?.send()?;
                Ok(Some(Ack::of(&value)))
            }
            "get" => Ok(Some(Ack::of(&current()?))),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::json;
    use eddy_sdk::testing::MockHost;

    #[test]
    fn increments_broadcast_the_new_value() {
        let host = MockHost::new();
        let cx = host.connect::<Counter>("s", &Handshake::default()).unwrap();
        assert_eq!(host.take_emitted()[0].args, json!([0]));
        let ack = host.event::<Counter>(&cx, Event::new("increment", json!([5]))).unwrap();
        assert_eq!(ack.unwrap().args(), "[5]");
        assert_eq!(host.take_emitted()[0].args, json!([5]));
        assert!(host.event::<Counter>(&cx, Event::new("increment", json!([5000]))).is_err());
    }
}
