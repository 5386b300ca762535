//! Contract 0.2's imports end to end, through the real server and the
//! `hostile-probe` component (each import as an event, raw bindings):
//! timers (on time, bounded, durable across a restart and a redeploy, once
//! across two nodes), key-value listing, compare-and-swap under a race, an
//! all-or-nothing batch, and socket data seen by `on-disconnect`.

use std::time::{Duration, Instant};

use anyhow::Context;
use eddy_tests::plugins::{ECHO, HOSTILE_PROBE};
use eddy_tests::ws::LiveWs;
use eddy_tests::{TestServer, WAIT};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

/// A client of the probe app on `/`.
struct Probe {
    ws: LiveWs,
    id: String,
    acks: u64,
}

impl Probe {
    /// Joins `app`'s `/` through the harness; the client answers
    /// heartbeats from then on.
    async fn connect(server: &TestServer, app: &str) -> anyhow::Result<Self> {
        let (ws, connect) = server.join_app(app).await?;
        let body: Value =
            serde_json::from_str(connect.strip_prefix("40").context(connect.clone())?)?;
        let id = body["sid"].as_str().context("sid")?.to_owned();
        Ok(Self {
            ws: ws.live(),
            id,
            acks: 0,
        })
    }

    /// Calls the probe's `event` with `args` (a JSON array); its result.
    async fn call(&mut self, event: &str, args: Value) -> anyhow::Result<Value> {
        self.acks += 1;
        let id = self.acks;
        let mut packet = json!([event]);
        packet
            .as_array_mut()
            .unwrap()
            .extend(args.as_array().cloned().unwrap_or_default());
        self.ws.send(&format!("42{id}{packet}"));
        let prefix = format!("43{id}");
        loop {
            let text = self.ws.text().await?;
            if let Some(ack) = text.strip_prefix(&prefix) {
                let mut ack: Value = serde_json::from_str(ack)?;
                return Ok(ack[0].take());
            }
        }
    }

    /// The next event `name`'s arguments.
    async fn event(&mut self, name: &str) -> anyhow::Result<Value> {
        let prefix = "42";
        loop {
            let text = tokio::time::timeout(WAIT * 2, self.ws.text()).await??;
            if let Some(body) = text.strip_prefix(prefix) {
                let body: Value = serde_json::from_str(body)?;
                if body[0] == name {
                    return Ok(Value::Array(body.as_array().unwrap()[1..].to_vec()));
                }
            }
        }
    }
}

async fn probe_app(server: &TestServer, slug: &str, limits: Value) -> anyhow::Result<()> {
    server.admin().app_with(slug, HOSTILE_PROBE, limits).await?;
    Ok(())
}

#[tokio::test]
async fn a_timer_fires_once_on_time_in_its_namespace() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    probe_app(&server, "clock", json!({})).await.unwrap();
    let mut a = Probe::connect(&server, "clock").await.unwrap();
    let sent = Instant::now();
    assert_eq!(
        a.call("timer.set", json!(["t", 300, "hello"]))
            .await
            .unwrap(),
        "ok"
    );
    let fired = a.event("fired").await.unwrap();
    let waited = sent.elapsed();
    assert_eq!(fired[0], "t");
    assert_eq!(fired[1], "hello");
    let late = fired[3].as_i64().unwrap() - fired[2].as_i64().unwrap();
    assert!(
        (0..50).contains(&late),
        "ran {late} ms after its due time: {fired}"
    );
    assert!(waited >= Duration::from_millis(290), "{waited:?}");
    // Once: nothing more within a few scheduler looks.
    let again = tokio::time::timeout(Duration::from_millis(1_500), a.event("fired")).await;
    assert!(again.is_err(), "fired twice: {again:?}");
    let view = server
        .admin()
        .call("GET", "/apps/clock", None)
        .await
        .unwrap();
    assert_eq!(view.json()["timers_pending"], 0, "{}", view.body);

    // Replaced before due: only the replacement fires. Cancelled: nothing.
    a.call("timer.set", json!(["r", 200, "first"]))
        .await
        .unwrap();
    a.call("timer.set", json!(["r", 250, "second"]))
        .await
        .unwrap();
    a.call("timer.set", json!(["c", 100, "never"]))
        .await
        .unwrap();
    assert_eq!(a.call("timer.cancel", json!(["c"])).await.unwrap(), true);
    let fired = a.event("fired").await.unwrap();
    assert_eq!(fired[1], "second");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), a.event("fired"))
            .await
            .is_err()
    );
    assert!(
        server
            .metric("eddy_timers_fired_total{app=\"clock\"}")
            .await
            .unwrap()
            >= 2
    );
}

#[tokio::test]
async fn a_timer_storm_stops_at_max_timers_and_costs_no_one_else() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    probe_app(&server, "storm", json!({ "max_timers": 5 }))
        .await
        .unwrap();
    server
        .admin()
        .app_with("calm", ECHO, json!({}))
        .await
        .unwrap();
    let mut a = Probe::connect(&server, "storm").await.unwrap();
    let stormed = a.call("timer.storm", json!([1000, 60_000])).await.unwrap();
    assert_eq!(stormed["set"], 5, "{stormed}");
    assert_eq!(stormed["refused"], "TooMany(5)", "{stormed}");
    // Replacing one of the five is never refused; a bad key or delay is.
    assert_eq!(
        a.call("timer.set", json!(["storm-0", 60_000, ""]))
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        a.call("timer.set", json!(["", 1, ""])).await.unwrap()["error"],
        "InvalidKey"
    );
    let month = 31u64 * 24 * 3600 * 1000;
    assert_eq!(
        a.call("timer.set", json!(["far", month, ""]))
            .await
            .unwrap()["error"],
        "DelayTooLong"
    );
    let big = "x".repeat(64 * 1024 + 1);
    assert_eq!(
        a.call("timer.set", json!(["big", 1, big])).await.unwrap()["error"],
        "PayloadTooLarge"
    );
    assert!(
        server
            .metric("eddy_limit_breaches_total{app=\"storm\",limit=\"max_timers\"}")
            .await
            .unwrap()
            >= 1
    );
    // Another app is served as before.
    let (mut calm, reply) = server.join_app("calm").await.unwrap();
    assert!(reply.starts_with("40"), "{reply}");
    calm.send("421[\"message-with-ack\",1]").await.unwrap();
    loop {
        // (The echo example greets first.)
        if calm.text().await.unwrap().starts_with("431") {
            break;
        }
    }
}

#[tokio::test]
async fn one_apps_burst_of_timers_does_not_hold_back_another_apps() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let limits = json!({ "max_timers": 1000, "handler_deadline_ms": 10_000 });
    probe_app(&server, "burst", limits).await.unwrap();
    probe_app(&server, "punctual", json!({})).await.unwrap();
    let mut burst = Probe::connect(&server, "burst").await.unwrap();
    let mut punctual = Probe::connect(&server, "punctual").await.unwrap();
    // 400 hooks of 50 ms each fall due together: 20 s of hook time.
    let stormed = burst
        .call("timer.storm.slow", json!([400, 1_000]))
        .await
        .unwrap();
    assert_eq!(stormed["set"], 400, "{stormed}");
    punctual
        .call("timer.set", json!(["mine", 1_050, ""]))
        .await
        .unwrap();
    let fired = punctual.event("fired").await.unwrap();
    let late = fired[3].as_i64().unwrap() - fired[2].as_i64().unwrap();
    assert!(
        late < 250,
        "another app's burst held this timer back {late} ms"
    );
}

#[tokio::test]
async fn timers_survive_a_restart_and_a_redeploy() {
    let mut server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    probe_app(&server, "durable", json!({})).await.unwrap();
    let mut a = Probe::connect(&server, "durable").await.unwrap();
    a.call("timer.set", json!(["after-restart", 1_500, "r"]))
        .await
        .unwrap();
    let dir = server.keep_data();
    server.stop().await.unwrap();
    let server = TestServer::start_in(BIN, dir, &["--no-demo"])
        .await
        .unwrap();
    let mut b = Probe::connect(&server, "durable").await.unwrap();
    let fired = b.event("fired").await.unwrap();
    assert_eq!(fired[0], "after-restart");

    b.call("timer.set", json!(["after-deploy", 800, "d"]))
        .await
        .unwrap();
    let report = server
        .admin()
        .deploy("durable", &HOSTILE_PROBE.bytes())
        .await
        .unwrap();
    assert_eq!(report["deployment"]["version"], 2);
    let fired = b.event("fired").await.unwrap();
    assert_eq!(fired[0], "after-deploy", "fired on the new version");
}

#[tokio::test]
async fn kv_lists_in_pages_bounded_by_the_payload() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    probe_app(&server, "pages", json!({ "max_payload": 100_000 }))
        .await
        .unwrap();
    let mut a = Probe::connect(&server, "pages").await.unwrap();
    let value = "v".repeat(30_000);
    for i in 0..10 {
        let set = a
            .call("kv.set", json!([format!("big/{i:02}"), value]))
            .await
            .unwrap();
        assert_eq!(set, "ok");
    }
    for key in ["small/b", "small/a", "other"] {
        a.call("kv.set", json!([key, "1"])).await.unwrap();
    }
    assert_eq!(
        a.call("kv.list", json!(["small/", null, 10]))
            .await
            .unwrap(),
        json!([["small/a", 1], ["small/b", 1]])
    );
    // 1000 asked for, but a page stops before crossing 100 KB.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = a
            .call("kv.list", json!(["big/", after, 1000]))
            .await
            .unwrap();
        let page = page.as_array().cloned().unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3, "a page over the payload: {}", page.len());
        after = page.last().unwrap()[0].clone();
        seen.extend(page);
    }
    assert_eq!(seen.len(), 10, "every key, once, in order");
    assert_eq!(seen[0][0], "big/00");
    assert_eq!(seen[9][0], "big/09");
    // A prefix longer than any key is a bug in the handler, said so.
    let long = "p".repeat(513);
    assert_eq!(
        a.call("kv.list", json!([long, null, 1])).await.unwrap()["error"],
        "InvalidKey"
    );
}

#[tokio::test]
async fn compare_and_swap_loses_no_update_among_50_racing_clients() {
    for (backend, database) in eddy_tests::registries().await {
        let mut args = vec!["--no-demo"];
        if let Some(db) = &database {
            args.extend(["--database", db.as_str()]);
        }
        let server = TestServer::start(BIN, &args).await.unwrap();
        let limits = json!({ "max_events_per_second": 1000, "handler_deadline_ms": 2000 });
        probe_app(&server, "race", limits).await.unwrap();
        let mut clients = Vec::new();
        for _ in 0..50 {
            clients.push(Probe::connect(&server, "race").await.unwrap());
        }
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                tokio::spawn(async move {
                    let mut results = Vec::new();
                    for _ in 0..4 {
                        results.push(c.call("kv.bump", json!(["n"])).await.unwrap());
                    }
                    results
                })
            })
            .collect();
        let mut values = Vec::new();
        let mut failed = Vec::new();
        for t in tasks {
            for r in t.await.unwrap() {
                match r["value"].as_i64() {
                    Some(v) => values.push(v),
                    // Only a bump stopped at its deadline on a loaded
                    // machine (busy answers are retried in the guest).
                    None => failed.push(r),
                }
            }
        }
        let n = values.len() as i64;
        assert!(
            n >= 50,
            "{backend}: only {n} of 200 bumps got through: {failed:?}"
        );
        values.sort_unstable();
        let before = values.len();
        values.dedup();
        // No lost update: no two winning swaps saw the same value.
        assert_eq!(values.len(), before, "{backend}: a value won twice");
        let mut check = Probe::connect(&server, "race").await.unwrap();
        let stored: i64 = check
            .call("kv.get", json!(["n"]))
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // A bump stopped at its deadline may still have swapped.
        assert!(
            (n..=n + failed.len() as i64).contains(&stored),
            "{backend}: {stored} stored after {n} swaps ({} stopped)",
            failed.len()
        );
        if failed.is_empty() {
            assert_eq!(values, (1..=n).collect::<Vec<_>>(), "{backend}");
        }
    }
}

#[tokio::test]
async fn a_batch_over_quota_is_rolled_back_whole() {
    for (backend, database) in eddy_tests::registries().await {
        let mut args = vec!["--no-demo"];
        if let Some(db) = &database {
            args.extend(["--database", db.as_str()]);
        }
        let server = TestServer::start(BIN, &args).await.unwrap();
        probe_app(&server, "batch", json!({ "kv_quota_bytes": 1000 }))
            .await
            .unwrap();
        let mut a = Probe::connect(&server, "batch").await.unwrap();
        a.call("kv.set", json!(["keep", "1"])).await.unwrap();
        let big = "x".repeat(2000);
        let refused = a
            .call(
                "kv.batch",
                json!([[
                    ["increment", "keep", 5],
                    ["set", "new", "n"],
                    ["set", "big", big]
                ]]),
            )
            .await
            .unwrap();
        assert_eq!(refused["error"], "QuotaExceeded", "{backend}");
        assert_eq!(
            a.call("kv.get", json!(["keep"])).await.unwrap(),
            "1",
            "{backend}"
        );
        assert_eq!(a.call("kv.get", json!(["new"])).await.unwrap(), Value::Null);
        let done = a
            .call(
                "kv.batch",
                json!([[
                    ["increment", "keep", 5],
                    ["delete", "keep"],
                    ["set", "k2", "v"]
                ]]),
            )
            .await
            .unwrap();
        assert_eq!(
            done,
            json!([{ "incremented": 6 }, { "deleted": true }, "set"]),
            "{backend}"
        );
        let ops: Vec<Value> = (0..65)
            .map(|i| json!(["set", format!("k{i}"), "v"]))
            .collect();
        let too_many = a.call("kv.batch", json!([ops])).await.unwrap();
        assert!(
            too_many["error"].as_str().unwrap().starts_with("TooLarge"),
            "{too_many}"
        );
        // The app's usage stayed exact through the refusals.
        let usage = server
            .admin()
            .call("GET", "/apps/batch/kv", None)
            .await
            .unwrap();
        assert!(usage.status < 500, "{}", usage.body);
    }
}

#[tokio::test]
async fn socket_data_lives_with_the_socket_and_reaches_on_disconnect() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    probe_app(&server, "data", json!({})).await.unwrap();
    let mut a = Probe::connect(&server, "data").await.unwrap();
    let mut b = Probe::connect(&server, "data").await.unwrap();
    assert_eq!(
        a.call("data.set", json!([{ "name": "ada" }]))
            .await
            .unwrap(),
        "ok"
    );
    let seen = b.call("data.get", json!([a.id.clone()])).await.unwrap();
    assert_eq!(seen, "{\"name\":\"ada\"}");
    assert_eq!(
        b.call("data.get", json!(["nobody"])).await.unwrap(),
        Value::Null
    );
    let id = a.id.clone();
    drop(a);
    let left = b.event("left").await.unwrap();
    assert_eq!(left, json!([id, "{\"name\":\"ada\"}"]));
}

/// Every `fired` event that arrives within `window`, by timer key.
async fn fired_within(
    client: &mut Probe,
    window: Duration,
) -> std::collections::BTreeMap<String, u32> {
    let mut counts = std::collections::BTreeMap::new();
    let until = tokio::time::Instant::now() + window;
    while let Ok(Ok(fired)) = tokio::time::timeout_at(until, client.event("fired")).await {
        *counts
            .entry(fired[0].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn each_timer_fires_once_across_two_nodes_and_outlives_a_killed_one() {
    let database = eddy_tests::postgres_schema(&std::env::var("EDDY_TEST_POSTGRES").unwrap()).await;
    let prefix = format!("t{:08x}", rand::random::<u32>());
    let node = |name: &'static str| {
        let (database, prefix) = (database.clone(), prefix.clone());
        async move {
            let args = [
                "--no-demo",
                "--database",
                &database,
                "--broker",
                "redis://127.0.0.1:6379",
                "--broker-prefix",
                &prefix,
                "--node-name",
                name,
            ];
            TestServer::start(BIN, &args).await.unwrap()
        }
    };
    let a = node("a").await;
    let b = node("b").await;
    probe_app(&a, "once", json!({ "max_timers": 1000 }))
        .await
        .unwrap();
    // Node b hears of the app through the broker.
    let mut on_b = loop {
        if let Ok(p) = Probe::connect(&b, "once").await {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut on_a = Probe::connect(&a, "once").await.unwrap();

    // Both nodes up: 40 timers due at once, each fires once (its `fired`
    // reaches b's client through the broker wherever it ran).
    for i in 0..40 {
        let set = on_a
            .call("timer.set", json!([format!("both-{i}"), 700, ""]))
            .await
            .unwrap();
        assert_eq!(set, "ok");
    }
    let counts = fired_within(&mut on_b, Duration::from_secs(4)).await;
    assert_eq!(counts.len(), 40, "{counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "fired more than once: {counts:?}"
    );

    // Timers set through a, which is killed before they are due: b fires them.
    for i in 0..10 {
        on_a.call("timer.set", json!([format!("orphan-{i}"), 1_500, ""]))
            .await
            .unwrap();
    }
    a.kill().await.unwrap();
    let counts = fired_within(&mut on_b, Duration::from_secs(5)).await;
    assert_eq!(counts.len(), 10, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test]
async fn a_handler_reads_config_and_secrets_and_sees_changes_without_a_redeploy() {
    let key = "11".repeat(32);
    let server = TestServer::start_with_env(BIN, &["--no-demo"], &[("EDDY_SECRET_KEY", &key)])
        .await
        .unwrap();
    probe_app(&server, "conf", json!({})).await.unwrap();
    let admin = server.admin();
    let put = async |name: &str, value: &str, secret: bool| {
        let body = json!({ "value": value, "secret": secret });
        let path = format!("/apps/conf/config/{name}");
        let reply = admin.call("PUT", &path, Some(body)).await.unwrap();
        assert!(reply.status < 300, "{}", reply.body);
    };
    put("greeting", "hello", false).await;
    put("api_key", "sk-live-123", true).await;
    let mut a = Probe::connect(&server, "conf").await.unwrap();
    assert_eq!(
        a.call("config.get", json!(["greeting"])).await.unwrap(),
        "hello"
    );
    assert_eq!(
        a.call("config.get", json!(["api_key"])).await.unwrap(),
        "sk-live-123"
    );
    assert_eq!(
        a.call("config.get", json!(["missing"])).await.unwrap(),
        Value::Null
    );
    let long = "n".repeat(200);
    assert_eq!(
        a.call("config.get", json!([long])).await.unwrap(),
        Value::Null
    );

    // A change reaches the running handler within a second, no redeploy.
    put("greeting", "bonjour", false).await;
    let changed = Instant::now();
    loop {
        if a.call("config.get", json!(["greeting"])).await.unwrap() == "bonjour" {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_millis(1_500),
            "the change never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The secret's value is never in the server's answers to operators.
    let listed = admin.call("GET", "/apps/conf/config", None).await.unwrap();
    assert!(!listed.body.contains("sk-live-123"), "{}", listed.body);
}
