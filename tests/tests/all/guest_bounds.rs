//! Wall-clock bounds on guest work, against the real binary: a start-up
//! that never returns is refused at deploy; one that spins only sometimes
//! faults its app at runtime instead of keeping a core busy; a handler
//! blocked in a host call stops at its deadline while other apps answer.

use std::time::{Duration, Instant};

use eddy_tests::plugins::{ECHO, HOSTILE_SLEEP, HOSTILE_START_FLAKY, HOSTILE_START_SPIN};
use eddy_tests::ws::LiveWs;
use eddy_tests::{TestServer, WAIT, flaky_phase};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

/// Test servers start instances under this deadline (the default is 1000).
const START_TIMEOUT_MS: u64 = 300;

/// A server busy with nothing stays well under this share of one core
/// (heartbeats and the 1 ms epoch ticker); a spinning guest is near 1.0.
const IDLE_CPU: f64 = 0.15;

async fn server() -> TestServer {
    TestServer::start_with_config(
        BIN,
        &format!("wasm_start_timeout_ms = {START_TIMEOUT_MS}\n"),
        &["--no-demo"],
    )
    .await
    .unwrap()
}

/// Joins `app`'s `/` with a client that answers heartbeats while the test
/// looks elsewhere.
async fn join(server: &TestServer, app: &str) -> LiveWs {
    let (ws, joined) = server.join_app(app).await.unwrap();
    assert!(joined.starts_with("40{"), "{joined}");
    ws.live()
}

/// Sends event `id` and returns its ack and how long it took.
async fn ask(ws: &mut LiveWs, id: u32, event: &str) -> (String, Duration) {
    let started = Instant::now();
    ws.send(&format!("42{id}[\"{event}\"]"));
    let ack = ws.text().await.unwrap();
    assert!(ack.starts_with(&format!("43{id}[")), "{ack}");
    (ack, started.elapsed())
}

#[tokio::test]
async fn deploying_a_start_up_that_never_returns_is_refused_promptly() {
    let server = server().await;
    let admin = server.admin();
    admin.create_app("stuck", json!({})).await.unwrap();
    let wasm = HOSTILE_START_SPIN.bytes();
    let started = Instant::now();
    // `upload` gives up after WAIT: a deploy that hangs fails here.
    let reply = admin.upload("stuck", &wasm, "").await.unwrap();
    let took = started.elapsed();
    assert_eq!(reply.status, 422, "{}", reply.body);
    let problem = reply.json();
    assert_eq!(problem["step"], "instantiate", "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("start-up") && detail.contains(&format!("{START_TIMEOUT_MS} ms")),
        "{detail}"
    );
    // Compiling (uncached) plus the start deadline, with room for a busy machine.
    assert!(took < Duration::from_secs(4), "{took:?}");
    // Nothing half-deployed: the app has no version.
    let app = admin.call("GET", "/apps/stuck", None).await.unwrap().json();
    assert_eq!(app["active_version"], serde_json::Value::Null, "{app}");
    // And the server is idle again: no guest left spinning.
    let cpu = server.cpu_share(Duration::from_secs(1)).await.unwrap();
    assert!(cpu < IDLE_CPU, "the server still uses {cpu:.2} of a core");
}

#[tokio::test]
async fn a_compilation_past_its_timeout_is_refused_at_the_validate_step() {
    // 1 ms: no component compiles that fast, and this server's cache is empty.
    let server =
        TestServer::start_with_config(BIN, "wasm_compile_timeout_ms = 1\n", &["--no-demo"])
            .await
            .unwrap();
    let admin = server.admin();
    admin.create_app("big", json!({})).await.unwrap();
    let reply = admin.upload("big", &ECHO.bytes(), "").await.unwrap();
    assert_eq!(reply.status, 422, "{}", reply.body);
    let problem = reply.json();
    assert_eq!(problem["step"], "validate", "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("did not finish within 1 ms"), "{detail}");
}

#[tokio::test]
async fn a_start_up_that_spins_sometimes_faults_its_app_and_the_cpu_returns_to_idle() {
    let server = server().await;
    let admin = server.admin();
    admin.create_app("flaky", json!({})).await.unwrap();
    admin.create_app("warm", json!({})).await.unwrap();
    let wasm = HOSTILE_START_FLAKY.bytes();
    // Compile once (cached by content hash), so the real deploy is quick;
    // its trial may pass or be refused, whichever half this lands in.
    let _ = admin.upload("warm", &wasm, "activate=false").await.unwrap();
    // The trial start passes in a lucky half of the guest's coin ...
    flaky_phase(false, Duration::from_millis(3000)).await;
    admin.deploy("flaky", &wasm).await.unwrap();
    let mut ws = join(&server, "flaky").await;
    // ... the trial instance is lost to a trap ...
    let (ack, _) = ask(&mut ws, 1, "crash").await;
    assert!(ack.contains("handler_trap"), "{ack}");
    // ... and the next instance starts in an unlucky half: it spins.
    flaky_phase(true, Duration::from_millis(3000)).await;
    let (ack, took) = ask(&mut ws, 2, "ping").await;
    assert!(ack.contains("handler_start_timeout"), "{ack}");
    assert!(
        took >= Duration::from_millis(START_TIMEOUT_MS) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // Faulted: further events are answered at once without starting an
    // instance (no core burnt per event), with the app-unavailable error.
    for id in 3..13 {
        let (ack, took) = ask(&mut ws, id, "ping").await;
        assert!(ack.contains("\"code\":\"app_unavailable\""), "{ack}");
        assert!(took < Duration::from_millis(200), "{took:?}");
    }
    // The operator sees it: metrics and the admin view.
    let faults = server
        .metric("eddy_handler_start_faults_total{app=\"flaky\"}")
        .await
        .unwrap();
    assert_eq!(faults, 1);
    let stats = admin
        .call("GET", "/apps/flaky/stats", None)
        .await
        .unwrap()
        .json();
    assert_eq!(stats["handler"]["start_faults"], 1, "{stats}");
    let view = admin.call("GET", "/apps/flaky", None).await.unwrap().json();
    assert!(view["faulted_for_ms"].as_u64().is_some(), "{view}");
    // Stated bound: from the moment the client got its timeout, the server
    // is idle again within one second (the window below starts sooner).
    let cpu = server.cpu_share(Duration::from_secs(1)).await.unwrap();
    eprintln!("server CPU while the app is faulted: {cpu:.3} of a core");
    assert!(cpu < IDLE_CPU, "the server uses {cpu:.2} of a core");
    // Deleting the app closes its client, whose disconnect hook needs an
    // instance: now that the backoff has passed, one more start may spin,
    // for at most the start deadline. After that, nothing runs.
    let deleted = admin.call("DELETE", "/apps/flaky", None).await.unwrap();
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    tokio::time::sleep(Duration::from_millis(START_TIMEOUT_MS + 200)).await;
    let cpu = server.cpu_share(Duration::from_secs(1)).await.unwrap();
    eprintln!("server CPU after the app was deleted: {cpu:.3} of a core");
    assert!(
        cpu < IDLE_CPU,
        "after delete the server uses {cpu:.2} of a core"
    );
}

#[tokio::test]
async fn a_handler_sleeping_in_a_host_call_times_out_while_other_apps_answer() {
    let server = server().await;
    let admin = server.admin();
    admin
        .app_with(
            "sleepy",
            HOSTILE_SLEEP,
            json!({ "handler_deadline_ms": 100 }),
        )
        .await
        .unwrap();
    admin.app_with("other", ECHO, json!({})).await.unwrap();
    let mut other = join(&server, "other").await;
    other.text().await.unwrap(); // echo's `auth` emit
    let mut sleepers = Vec::new();
    for _ in 0..4 {
        sleepers.push(join(&server, "sleepy").await);
    }
    let sent = Instant::now();
    for ws in &sleepers {
        ws.send("421[\"sleep\"]");
    }
    // While four handlers of "sleepy" sleep, "other" keeps answering.
    let mut slowest = Duration::ZERO;
    for id in 0..20 {
        let started = Instant::now();
        other.send(&format!("42{id}[\"message-with-ack\",{id}]"));
        assert_eq!(other.text().await.unwrap(), format!("43{id}[{id}]"));
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < Duration::from_millis(100), "{slowest:?}");
    for ws in &mut sleepers {
        let ack = ws.text().await.unwrap();
        assert!(
            ack.starts_with("431[{\"error\":{\"code\":\"handler_timeout\""),
            "{ack}"
        );
    }
    // About the deadline (100 ms), not the 5 s the guest asked for.
    let took = sent.elapsed();
    assert!(took < Duration::from_millis(1000), "{took:?}");
    let timeouts = server
        .metric_reaches("eddy_handler_timeouts_total{app=\"sleepy\"}", 4)
        .await
        .unwrap();
    assert_eq!(timeouts, 4);
    // Their instances were discarded; new ones answer.
    let (ack, _) = ask(&mut sleepers[0], 2, "ok").await;
    assert_eq!(ack, "432[]");
}

#[tokio::test]
async fn the_cli_gives_up_on_a_server_that_never_answers() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let _holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let run = tokio::process::Command::new(BIN)
        .args(["app", "list", "--server", &format!("http://{addr}")])
        .args(["--token", "t", "--timeout-secs", "1"])
        .env_remove("EDDY_CONFIG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, run)
        .await
        .expect("the CLI waited forever")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no answer") && stderr.contains("1 s"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_cli_names_the_step_that_refused_a_start_up_that_never_returns() {
    let server = server().await;
    server.admin().create_app("stuck", json!({})).await.unwrap();
    let file = HOSTILE_START_SPIN.path();
    let run = tokio::process::Command::new(BIN)
        .args(["deploy", "--app", "stuck", "--server", &server.url()])
        .args(["--token", eddy_tests::ADMIN_TOKEN, "--timeout-secs", "5"])
        .arg(file)
        .env_remove("EDDY_CONFIG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT * 2, run)
        .await
        .expect("the CLI waited forever")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("step: instantiate") && stderr.contains("start-up"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_idle_server_sleeps_and_a_spinning_guest_still_stops_at_its_deadline() {
    let server = server().await;
    let admin = server.admin();
    admin
        .app_with(
            "spin",
            eddy_tests::plugins::HOSTILE_SPIN,
            json!({ "handler_deadline_ms": 50 }),
        )
        .await
        .unwrap();
    let mut spinner = join(&server, "spin").await;
    ask(&mut spinner, 1, "hello").await;
    // No guest work for a while: the epoch ticker parks (after 100 ms),
    // and nothing else wakes the process more than a few times a second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu = server.cpu_share(Duration::from_secs(3)).await.unwrap();
    assert!(cpu < 0.02, "an idle server uses {cpu:.3} of a core");
    // Woken by the next call, the ticker still bounds a guest that spins.
    let (ack, took) = ask(&mut spinner, 2, "spin").await;
    assert!(ack.contains("handler_timeout"), "{ack}");
    assert!(
        took < Duration::from_millis(1_000),
        "stopped after {took:?}"
    );
}
