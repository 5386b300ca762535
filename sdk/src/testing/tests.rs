//! The mock host keeps the server's rules: these tests pin them, so a
//! handler that passes its tests here behaves the same on Eddy.

use std::time::Duration;

use super::*;
use crate::kv::{self, KvError, OpResult};
use crate::timers::{self, TimerError};
use crate::{DataError, EventError, TimerResult, json};

#[test]
fn list_is_in_byte_order_paged_and_bounded_by_the_payload() {
    let host = MockHost::new();
    for key in ["p/b", "p/a", "p/B", "q/a", "p/ä", "p/c"] {
        kv::set(key, key.as_bytes(), None).unwrap();
    }
    let keys = |page: Vec<kv::Entry>| page.into_iter().map(|e| e.key).collect::<Vec<_>>();
    assert_eq!(
        keys(kv::list("p/").page().unwrap()),
        ["p/B", "p/a", "p/b", "p/c", "p/ä"]
    );
    assert_eq!(
        keys(kv::list("p/").limit(2).page().unwrap()),
        ["p/B", "p/a"]
    );
    assert_eq!(
        keys(kv::list("p/").start_after("p/a").limit(2).page().unwrap()),
        ["p/b", "p/c"]
    );
    assert_eq!(keys(kv::list("p/").limit(0).page().unwrap()), ["p/B"]);
    // Small pages: the walk still reaches every key, once.
    host.set_max_payload(7);
    assert_eq!(kv::list("p/").page().unwrap().len(), 1);
    let all: Vec<String> = kv::list("p/").keys().collect::<Result<_, _>>().unwrap();
    assert_eq!(all, ["p/B", "p/a", "p/b", "p/c", "p/ä"]);
    // Expired keys are not listed.
    kv::set("p/gone", "x", Some(10)).unwrap();
    host.set_now_ms(now_ms() + 10);
    assert_eq!(kv::list("p/g").page().unwrap(), vec![]);
    assert_eq!(kv::list(&"x".repeat(513)).page(), Err(KvError::InvalidKey));
}

#[test]
fn compare_and_swap_writes_only_over_the_expected_value() {
    let _host = MockHost::new();
    assert!(kv::compare_and_swap("k", None, Some(b"1")).unwrap());
    assert!(!kv::compare_and_swap("k", None, Some(b"2")).unwrap());
    assert!(!kv::compare_and_swap("k", Some(b"0"), Some(b"2")).unwrap());
    assert!(kv::compare_and_swap("k", Some(b"1"), Some(b"2")).unwrap());
    assert!(kv::compare_and_swap("k", Some(b"2"), None).unwrap());
    assert_eq!(kv::get("k").unwrap(), None);
    assert!(kv::compare_and_swap_json("j", None, Some(&json!({"n": 1}))).unwrap());
    let n = kv::update_json("j", |v: Option<serde_json::Value>| {
        Some(json!({"n": v.unwrap()["n"].as_i64().unwrap() + 1}))
    });
    assert_eq!(n.unwrap(), Some(json!({"n": 2})));
}

#[test]
fn a_batch_is_all_or_nothing() {
    let host = MockHost::new();
    kv::set("n", "41", None).unwrap();
    kv::set("text", "hello", None).unwrap();
    let done = kv::batch()
        .set("a", "1")
        .increment("n", 1)
        .delete("a")
        .delete("zz")
        .commit();
    assert_eq!(
        done.unwrap(),
        [
            OpResult::Set,
            OpResult::Incremented(42),
            OpResult::Deleted(true),
            OpResult::Deleted(false)
        ]
    );
    // The third write is refused: the first two are undone.
    let refused = kv::batch()
        .set("b", "1")
        .increment("n", 1)
        .increment("text", 1)
        .commit();
    assert_eq!(refused, Err(KvError::NotANumber));
    assert_eq!((host.kv("b"), host.kv("n")), (None, Some(b"42".to_vec())));
    let too_many = (0..65).fold(kv::batch(), |b, i| b.set(&format!("k{i}"), "v"));
    assert!(matches!(too_many.commit(), Err(KvError::TooLarge(_))));
    assert_eq!(kv::batch().set("", "v").commit(), Err(KvError::InvalidKey));
    // Over the quota, nothing of the batch is written.
    host.set_kv_quota(40);
    assert_eq!(
        kv::batch()
            .set("c", "1")
            .set("big", "x".repeat(40))
            .commit(),
        Err(KvError::QuotaExceeded)
    );
    assert_eq!(host.kv("c"), None);
    assert_eq!(
        kv::set("big", "x".repeat(40), None),
        Err(KvError::QuotaExceeded)
    );
    assert_eq!(kv::delete("text"), Ok(true));
}

struct Ticker;
impl Handler for Ticker {
    fn on_event(cx: &Context, event: Event) -> EventResult {
        let (key, ms): (String, u64) = event.args.parse()?;
        cx.timers().set(&key, Duration::from_millis(ms), &ms)?;
        Ok(None)
    }
    fn on_timer(cx: &TimerContext, timer: Timer) -> TimerResult {
        let ms: u64 = timer.payload()?;
        cx.emit("fired")
            .to_all()
            .arg(timer.key())?
            .arg(&now_ms())?
            .send()?;
        if timer.key() == "again" && ms < 30 {
            timers::set("again", Duration::from_millis(10), &(ms + 10))?;
        }
        if timer.key() == "fail" {
            return Err(EventError::new("oops", "on purpose"));
        }
        Ok(())
    }
}

#[test]
fn advance_fires_due_timers_in_order_at_their_time() {
    let host = MockHost::new();
    let start = now_ms();
    let cx = host.context("s");
    for (key, ms) in [
        ("b", 20),
        ("a", 20),
        ("c", 5),
        ("later", 1000),
        ("again", 10),
    ] {
        host.event::<Ticker>(&cx, Event::new("set", json!([key, ms])))
            .unwrap();
    }
    // Replacing a key moves its timer.
    host.event::<Ticker>(&cx, Event::new("set", json!(["c", 15])))
        .unwrap();
    assert_eq!(host.timers().len(), 5);
    let fired = host.advance::<Ticker>(Duration::from_millis(100));
    assert_eq!(fired, ["again", "c", "b", "a", "again", "again"]);
    let at: Vec<u64> = host
        .take_received(&cx)
        .iter()
        .map(|r| r.args[1].as_u64().unwrap() - start)
        .collect();
    assert_eq!(at, [10, 15, 20, 20, 20, 30]);
    assert_eq!(now_ms(), start + 100);
    assert_eq!(host.timers()[0].key, "later");
    assert!(timers::cancel("later").unwrap());
    assert!(!timers::cancel("later").unwrap());
    // An error is logged, as the server logs it.
    host.event::<Ticker>(&cx, Event::new("set", json!(["fail", 0])))
        .unwrap();
    assert_eq!(host.advance::<Ticker>(Duration::ZERO), ["fail"]);
    assert!(
        host.logs().last().unwrap().1.contains("oops: on purpose"),
        "{:?}",
        host.logs()
    );
}

#[test]
fn timers_keep_the_servers_bounds() {
    let host = MockHost::new();
    host.set_max_timers(2);
    let day = Duration::from_secs(86_400);
    timers::set("a", day, &()).unwrap();
    timers::set("b", day, &()).unwrap();
    assert_eq!(
        timers::set("c", day, &()),
        Err(TimerError::TooMany { max: 2 })
    );
    timers::set("a", day, &1).unwrap();
    assert_eq!(timers::set("", day, &()), Err(TimerError::InvalidKey));
    assert_eq!(
        timers::set(&"k".repeat(257), day, &()),
        Err(TimerError::InvalidKey)
    );
    assert_eq!(
        timers::set_raw("a", day, &"x".repeat(64 * 1024 + 1)),
        Err(TimerError::PayloadTooLarge)
    );
    assert_eq!(
        timers::set("a", day * 30 + Duration::from_millis(1), &()),
        Err(TimerError::DelayTooLong)
    );
    timers::set("a", day * 30, &()).unwrap();
    let e: EventError = TimerError::InvalidKey.into();
    assert_eq!(e.code, "timer_failed");
}

struct Tally;
impl Handler for Tally {
    fn on_connect(_cx: &Context, _hs: &Handshake) -> Result<ConnectReply, Reject> {
        Ok(ConnectReply::accept().data(&0u32).join("all"))
    }
    fn on_event(cx: &Context, _event: Event) -> EventResult {
        let n: u32 = cx.data().unwrap_or_default();
        cx.set_data(&(n + 1))?;
        assert_eq!(
            cx.data::<u32>(),
            Some(n + 1),
            "the hook reads what it wrote"
        );
        Ok(None)
    }
    fn on_disconnect(cx: &Context, _reason: DisconnectReason) {
        let n: u32 = cx.data().unwrap_or_default();
        kv::set_json("final", &(n, cx.room_size("all")), None).unwrap();
    }
}

#[test]
fn socket_data_set_in_a_hook_reaches_the_later_ones() {
    let host = MockHost::new();
    let cx = host.connect::<Tally>("s", &Handshake::default()).unwrap();
    host.event::<Tally>(&cx, Event::new("bump", json!([])))
        .unwrap();
    host.event::<Tally>(&cx, Event::new("bump", json!([])))
        .unwrap();
    assert_eq!(host.socket_data("s").as_deref(), Some("2"));
    assert_eq!(crate::data::read::<u32>("s"), Some(2));
    assert_eq!(
        cx.set_socket_data("nobody", &1),
        Err(DataError::NoSuchSocket)
    );
    assert_eq!(
        cx.set_data(&"x".repeat(64 * 1024)),
        Err(DataError::TooLarge)
    );
    host.disconnect::<Tally>(&cx, DisconnectReason::TransportClose);
    // The socket has left its rooms when on_disconnect runs.
    assert_eq!(kv::get_json::<(u32, u32)>("final").unwrap(), Some((2, 0)));
}

struct Broadcast;
impl Handler for Broadcast {
    fn on_event(cx: &Context, event: Event) -> EventResult {
        cx.join("room");
        let n = cx.emit(&event.name).to_all().send()?;
        let m = cx.emit(&event.name).to_room("room").except_me().send()?;
        Ok(Some(crate::Ack::of(&(n, m))))
    }
}

#[test]
fn namespaces_scope_emits_rooms_and_inboxes() {
    let host = MockHost::new();
    let a = host.context_in("/chat", "a");
    let b = host.context_in("/chat", "b");
    let c = host.context("c");
    host.event::<Broadcast>(&b, Event::new("hello", json!([])))
        .unwrap();
    let ack = host
        .event::<Broadcast>(&a, Event::new("hi", json!([])))
        .unwrap()
        .unwrap();
    assert_eq!(ack.args(), "[[2,1]]");
    let ack = host
        .event::<Broadcast>(&c, Event::new("yo", json!([])))
        .unwrap()
        .unwrap();
    assert_eq!(ack.args(), "[[1,0]]", "/chat's room is not /'s");
    let events = |cx: &Context| {
        host.received(cx)
            .into_iter()
            .map(|r| r.event)
            .collect::<Vec<_>>()
    };
    assert_eq!(events(&a), ["hello", "hi"]);
    assert_eq!(events(&b), ["hello", "hi", "hi"]);
    assert_eq!(events(&c), ["yo"]);
    assert_eq!(
        host.event::<Broadcast>(&c, Event::new("disconnect", json!([]))),
        Err(EventError::new(
            "emit_failed",
            crate::EmitError::InvalidEvent.to_string()
        ))
    );
}

#[test]
fn config_is_read_live() {
    let host = MockHost::new();
    assert_eq!(crate::config::get("words").unwrap(), None);
    host.set_config("words", "[\"a\",\"b\"]");
    host.set_config("max", " 12 ");
    assert_eq!(
        crate::config::get_json::<Vec<String>>("words").unwrap(),
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(crate::config::get_parsed::<u32>("max").unwrap(), Some(12));
    assert!(crate::config::get_parsed::<u32>("words").is_err());
    host.unset_config("max");
    assert_eq!(crate::config::get("max").unwrap(), None);
}

#[test]
fn a_value_that_does_not_parse_is_never_quoted() {
    // A `?` turns these errors into error acks a client reads.
    let host = MockHost::new();
    host.set_config("api_key", "sk_live_do_not_show");
    let parsed = crate::config::get_parsed::<u64>("api_key").unwrap_err();
    let json = crate::config::get_json::<Vec<u64>>("api_key").unwrap_err();
    for e in [parsed, json] {
        let ack: crate::EventError = e.clone().into();
        assert!(
            !format!("{e} {e:?} {}", ack.message).contains("sk_live"),
            "{e}"
        );
        assert!(e.to_string().contains("api_key"), "{e}");
    }
}

struct Greeter;
impl Handler for Greeter {
    fn on_connect(cx: &Context, hs: &Handshake) -> Result<ConnectReply, Reject> {
        let ua = hs.header("user-agent").unwrap_or_default();
        cx.emit("hello")
            .arg(ua)
            .and_then(|e| e.send())
            .map_err(|e| Reject::new(e.to_string()))?;
        if hs.address().is_none() {
            return Err(Reject::new("who are you?"));
        }
        Ok(ConnectReply::accept())
    }
    fn on_event(_cx: &Context, _event: Event) -> EventResult {
        Ok(None)
    }
}

#[test]
fn a_connecting_socket_receives_what_on_connect_sends_it() {
    let host = MockHost::new();
    let hs = Handshake::default().with_header("User-Agent", "ua/1");
    assert!(host.connect::<Greeter>("nobody", &hs).is_err());
    assert_eq!(room_size("nobody"), 0, "a refused socket is gone");
    let cx = host
        .connect::<Greeter>("a", &hs.with_address("192.0.2.1:1"))
        .unwrap();
    assert_eq!(host.received(&cx)[0].args, json!(["ua/1"]));
}

struct Chain;
impl Handler for Chain {
    fn on_event(_cx: &Context, _event: Event) -> EventResult {
        Ok(None)
    }
    fn on_timer(_cx: &TimerContext, timer: Timer) -> TimerResult {
        // Still pending while its hook runs, as on the server: it counts.
        assert!(timers::set("next", Duration::from_millis(5), &()).is_err());
        assert!(timers::set(timer.key(), Duration::from_millis(5), &()).is_ok());
        Ok(())
    }
}

#[test]
fn a_firing_timer_is_pending_until_its_hook_returns() {
    let host = MockHost::new();
    host.set_max_timers(1);
    timers::set("first", Duration::from_millis(1), &()).unwrap();
    assert_eq!(host.advance::<Chain>(Duration::from_millis(1)), ["first"]);
    // Set again by its own hook: still pending, due again.
    assert_eq!(host.timers().len(), 1);
    assert_eq!(kv::set("n", i64::MAX.to_string(), None), Ok(()));
    assert_eq!(
        kv::increment("n", 1),
        Err(KvError::NotANumber),
        "as the server"
    );
}
