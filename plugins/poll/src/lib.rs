//! `poll`: polls that close at a set time. Shows key-value listing by
//! prefix, atomic writes (a batch to create, compare-and-swap to vote once,
//! increment to count), and a timer that closes the poll and tells its
//! watchers.
//!
//! - `create({ question, options: [text…], closes_in_ms })` → a new poll
//!   (2 to 16 options, open for at most 30 days); the creator watches it;
//!   ack with `{ id, closes_at }`;
//! - `watch(id)` → join the poll's watchers; ack with its results;
//! - `vote(id, option)` → one vote per socket (option is an index); every
//!   watcher gets `results`; ack with the results. Refused with
//!   `poll_closed` once the poll closed, `already_voted`, `no_such_poll`
//!   or `no_such_option`;
//! - `results(id)` → ack with `{ id, question, open, closes_at,
//!   options: [{ text, votes }] }`;
//! - `polls()` → ack with the open polls, `[{ id, question, closes_at }]`;
//! - at `closes_at` the poll closes: watchers get `closed` with the results.
//!
//! Keys: `poll/<id>/meta` (JSON), `poll/<id>/option/<nn>` (text),
//! `poll/<id>/votes/<nn>` (a count), `poll/<id>/voter/<socket>`, and
//! `open/<id>` while it is open. `<nn>` is zero-padded, so key order is
//! option order.

use std::time::Duration;

use eddy_sdk::{
    Ack, Context, Event, EventError, EventResult, Handler, KvError, Timer, TimerContext,
    TimerResult, Value, json, kv, log,
};
use serde::{Deserialize, Serialize};

pub struct Poll;

const MAX_OPTIONS: usize = 16;
const MAX_TEXT: usize = 200;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    question: String,
    closes_at: u64,
    open: bool,
}

#[derive(Deserialize)]
struct NewPoll {
    question: String,
    options: Vec<String>,
    closes_in_ms: u64,
}

fn meta_key(id: u64) -> String {
    format!("poll/{id}/meta")
}

fn meta(id: u64) -> Result<Meta, EventError> {
    kv::get_json(&meta_key(id))?
        .ok_or_else(|| EventError::new("no_such_poll", format!("there is no poll {id}")))
}

fn watchers(id: u64) -> String {
    format!("poll/{id}")
}

/// The texts under `poll/<id>/option/` and counts under `poll/<id>/votes/`,
/// each listed in key (= option) order.
fn results(id: u64) -> Result<Value, EventError> {
    let meta = meta(id)?;
    let texts = kv::list(&format!("poll/{id}/option/"))
        .into_iter()
        .map(|e| e.map(|e| e.value_str().into_owned()));
    let mut counts = std::collections::BTreeMap::new();
    for entry in kv::list(&format!("poll/{id}/votes/")) {
        let entry = entry?;
        let n = entry.key.rsplit('/').next().unwrap_or_default().to_owned();
        counts.insert(n, entry.value_str().parse::<i64>().unwrap_or(0));
    }
    let options = texts
        .enumerate()
        .map(|(n, text)| Ok(json!({ "text": text?, "votes": counts.get(&format!("{n:02}")).copied().unwrap_or(0) })))
        .collect::<Result<Vec<_>, KvError>>()?;
    Ok(
        json!({ "id": id, "question": meta.question, "open": meta.open, "closes_at": meta.closes_at, "options": options }),
    )
}

fn create(cx: &Context, poll: NewPoll) -> EventResult {
    let NewPoll {
        question,
        options,
        closes_in_ms,
    } = poll;
    if question.is_empty() || question.len() > MAX_TEXT {
        return Err(EventError::bad_args(format!(
            "a question is 1 to {MAX_TEXT} bytes"
        )));
    }
    if !(2..=MAX_OPTIONS).contains(&options.len())
        || options.iter().any(|o| o.is_empty() || o.len() > MAX_TEXT)
    {
        return Err(EventError::bad_args(format!(
            "2 to {MAX_OPTIONS} options of 1 to {MAX_TEXT} bytes"
        )));
    }
    let delay = Duration::from_millis(closes_in_ms);
    if delay > eddy_sdk::timers::MAX_DELAY {
        return Err(EventError::bad_args("a poll is open for at most 30 days"));
    }
    let id = kv::increment("polls/next-id", 1)? as u64;
    let closes_at = eddy_sdk::now_ms() + closes_in_ms;
    let meta = Meta {
        question: question.clone(),
        closes_at,
        open: true,
    };
    // One batch: nobody sees a poll with half of its options.
    let mut batch = kv::batch().set_json(&meta_key(id), &meta).set_json(
        &format!("open/{id:08}"),
        &json!({ "id": id, "question": question, "closes_at": closes_at }),
    );
    for (n, text) in options.iter().enumerate() {
        batch = batch
            .set(&format!("poll/{id}/option/{n:02}"), text)
            .set(&format!("poll/{id}/votes/{n:02}"), "0");
    }
    batch.commit()?;
    cx.timers().set(&format!("close/{id}"), delay, &id)?;
    cx.join(&watchers(id));
    Ok(Some(Ack::of(&json!({ "id": id, "closes_at": closes_at }))))
}

fn vote(cx: &Context, id: u64, option: usize) -> EventResult {
    let meta = meta(id)?;
    // The close timer may run a little late: the time decides, not the flag.
    if !meta.open || eddy_sdk::now_ms() >= meta.closes_at {
        return Err(EventError::new(
            "poll_closed",
            format!("poll {id} is closed"),
        ));
    }
    let votes = format!("poll/{id}/votes/{option:02}");
    if option >= MAX_OPTIONS || kv::get(&votes)?.is_none() {
        return Err(EventError::new(
            "no_such_option",
            format!("poll {id} has no option {option}"),
        ));
    }
    // The voter's mark is written only if absent: two votes from one
    // socket, even at once on two nodes, count once.
    let voter = format!("poll/{id}/voter/{}", cx.socket_id());
    if !kv::compare_and_swap(&voter, None, Some(option.to_string().as_bytes()))? {
        return Err(EventError::new(
            "already_voted",
            format!("this socket already voted in poll {id}"),
        ));
    }
    kv::increment(&votes, 1)?;
    let results = results(id)?;
    cx.emit("results")
        .to_room(&watchers(id))
        .arg(&results)?
        .send()?;
    Ok(Some(Ack::of(&results)))
}

#[eddy_sdk::handler]
impl Handler for Poll {
    fn on_event(cx: &Context, event: Event) -> EventResult {
        match event.name.as_str() {
            "create" => create(cx, event.args.get(0)?),
            "watch" => {
                let id: u64 = event.args.get(0)?;
                let results = results(id)?;
                cx.join(&watchers(id));
                Ok(Some(Ack::of(&results)))
            }
            "vote" => {
                let (id, option): (u64, usize) = event.args.parse()?;
                vote(cx, id, option)
            }
            "results" => Ok(Some(Ack::of(&results(event.args.get(0)?)?))),
            "polls" => {
                let open = kv::list("open/")
                    .into_iter()
                    .map(|e| e?.json::<Value>())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Ack::of(&open)))
            }
            other => Err(EventError::new(
                "unknown_event",
                format!("poll has no event {other:?}"),
            )),
        }
    }

    fn on_timer(cx: &TimerContext, timer: Timer) -> TimerResult {
        let id: u64 = timer.payload()?;
        let closed = kv::update_json(&meta_key(id), |meta: Option<Meta>| {
            meta.map(|m| Meta { open: false, ..m })
        })?;
        if closed.is_none() {
            log::warn(format!("poll {id} vanished before it closed"));
            return Ok(());
        }
        kv::delete(&format!("open/{id:08}"))?;
        let results = results(id)?;
        log::info(format!("poll {id} closed"));
        cx.emit("closed")
            .to_room(&watchers(id))
            .arg(&results)?
            .send()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::testing::MockHost;

    fn ack(result: EventResult) -> Value {
        serde_json::from_str::<Value>(result.unwrap().unwrap().args()).unwrap()[0].take()
    }

    fn new_poll(host: &MockHost, cx: &Context, closes_in_ms: u64) -> u64 {
        let poll = json!({ "question": "Lunch?", "options": ["pizza", "soup", "salad"], "closes_in_ms": closes_in_ms });
        let created = ack(host.event::<Poll>(cx, Event::new("create", json!([poll])).with_ack()));
        created["id"].as_u64().unwrap()
    }

    #[test]
    fn votes_are_counted_once_and_listed_in_option_order() {
        let host = MockHost::new();
        let ada = host.context("ada");
        let bob = host.context("bob");
        let id = new_poll(&host, &ada, 60_000);
        assert_eq!(id, 1);
        host.event::<Poll>(&bob, Event::new("watch", json!([id])))
            .unwrap();
        let after = ack(host.event::<Poll>(&bob, Event::new("vote", json!([id, 2])).with_ack()));
        assert_eq!(after["options"][2], json!({ "text": "salad", "votes": 1 }));
        let again = host
            .event::<Poll>(&bob, Event::new("vote", json!([id, 0])).with_ack())
            .unwrap_err();
        assert_eq!(again.code, "already_voted");
        ack(host.event::<Poll>(&ada, Event::new("vote", json!([id, 2]))));
        let results = ack(host.event::<Poll>(&ada, Event::new("results", json!([id]))));
        let votes: Vec<i64> = results["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["votes"].as_i64().unwrap())
            .collect();
        assert_eq!(votes, [0, 0, 2]);
        assert_eq!(results["options"][0]["text"], "pizza");
        // Both watchers heard both votes.
        for cx in [&ada, &bob] {
            assert_eq!(
                host.received(cx)
                    .iter()
                    .filter(|r| r.event == "results")
                    .count(),
                2
            );
        }
        let missing = host
            .event::<Poll>(&ada, Event::new("vote", json!([id, 3])))
            .unwrap_err();
        assert_eq!(missing.code, "no_such_option");
        assert_eq!(
            host.event::<Poll>(&ada, Event::new("vote", json!([9, 0])))
                .unwrap_err()
                .code,
            "no_such_poll"
        );
    }

    #[test]
    fn a_poll_closes_at_its_time_and_refuses_later_votes() {
        let host = MockHost::new();
        let ada = host.context("ada");
        let first = new_poll(&host, &ada, 60_000);
        let second = new_poll(&host, &ada, 120_000);
        let open = ack(host.event::<Poll>(&ada, Event::new("polls", json!([]))));
        assert_eq!(open.as_array().unwrap().len(), 2);
        assert!(
            host.advance::<Poll>(Duration::from_millis(59_999))
                .is_empty()
        );
        assert_eq!(
            host.advance::<Poll>(Duration::from_millis(1)),
            [format!("close/{first}")]
        );
        let closed = host
            .take_received(&ada)
            .into_iter()
            .find(|r| r.event == "closed")
            .unwrap();
        assert_eq!(closed.args[0]["open"], false);
        assert_eq!(closed.args[0]["id"], first);
        let late = host
            .event::<Poll>(&ada, Event::new("vote", json!([first, 0])))
            .unwrap_err();
        assert_eq!(late.code, "poll_closed");
        let open = ack(host.event::<Poll>(&ada, Event::new("polls", json!([]))));
        assert_eq!(
            open,
            json!([{ "id": second, "question": "Lunch?", "closes_at": open[0]["closes_at"] }])
        );
        ack(host.event::<Poll>(&ada, Event::new("vote", json!([second, 1]))));
    }

    #[test]
    fn bad_polls_are_refused() {
        let host = MockHost::new();
        let ada = host.context("ada");
        for poll in [
            json!({ "question": "", "options": ["a", "b"], "closes_in_ms": 1 }),
            json!({ "question": "q", "options": ["a"], "closes_in_ms": 1 }),
            json!({ "question": "q", "options": ["a", "b"], "closes_in_ms": 31u64 * 24 * 3600 * 1000 }),
            json!({ "question": "q" }),
        ] {
            let refused = host
                .event::<Poll>(&ada, Event::new("create", json!([poll])))
                .unwrap_err();
            assert_eq!(refused.code, "bad_arguments", "{poll}");
        }
        assert!(host.timers().is_empty());
    }
}
