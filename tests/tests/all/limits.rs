//! Per-app limits from the registry, enforced: each breach gets a clear
//! error to the right party and a metric, and never touches another app.

use std::time::Instant;

use eddy_tests::plugins::{CHAT, ECHO, HOSTILE_HOARD, HOSTILE_SPIN, PRESENCE};
use eddy_tests::{RawWs, TestServer, open_sid};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

async fn socket(server: &TestServer, app: &str) -> (RawWs, String) {
    server.join_app(app).await.unwrap()
}

async fn breaches(server: &TestServer, app: &str, limit: &str) -> u64 {
    server
        .metric(&format!(
            "eddy_limit_breaches_total{{app=\"{app}\",limit=\"{limit}\"}}"
        ))
        .await
        .unwrap()
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_with_a_reason() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with("small", CHAT, json!({ "max_connections": 2 }))
        .await
        .unwrap();
    admin.app_with("other", CHAT, json!({})).await.unwrap();
    let (_a, ra) = socket(&server, "small").await;
    let (_b, rb) = socket(&server, "small").await;
    assert!(ra.starts_with("40{") && rb.starts_with("40{"));
    let (_c, rc) = socket(&server, "small").await;
    assert_eq!(
        rc,
        "44{\"message\":\"connection limit reached\",\"data\":{\"code\":\"connection_limit\",\"max_connections\":2}}"
    );
    assert_eq!(breaches(&server, "small", "connections").await, 1);
    // Other apps are not limited by it.
    for _ in 0..3 {
        assert!(socket(&server, "other").await.1.starts_with("40{"));
    }
    // Raising the limit applies at once.
    let patched = admin
        .call(
            "PATCH",
            "/apps/small",
            Some(json!({"limits":{"max_connections":3}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.json()["limits"]["max_connections"], 3);
    assert!(socket(&server, "small").await.1.starts_with("40{"));
}

#[tokio::test]
async fn events_over_the_rate_get_an_error_ack() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with("slow", ECHO, json!({ "max_events_per_second": 5 }))
        .await
        .unwrap();
    let (mut ws, _) = socket(&server, "slow").await;
    ws.text().await.unwrap(); // auth
    for id in 0..30 {
        ws.send(&format!("42{id}[\"message-with-ack\",{id}]"))
            .await
            .unwrap();
    }
    let (mut ok, mut limited) = (0, 0);
    for _ in 0..30 {
        let ack = ws.text().await.unwrap();
        if ack.contains("rate_limited") {
            limited += 1;
        } else {
            ok += 1;
        }
    }
    assert!(
        (10..=12).contains(&ok),
        "a burst of twice the rate, then nothing: {ok} ok, {limited} limited"
    );
    assert_eq!(breaches(&server, "slow", "event_rate").await, limited);
}

#[tokio::test]
async fn messages_over_the_app_payload_limit_are_refused() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with("tight", ECHO, json!({ "max_payload": 1000 }))
        .await
        .unwrap();
    admin.app_with("roomy", ECHO, json!({})).await.unwrap();
    // The handshake tells clients the app's limit.
    let http = server.http();
    let open = http
        .get("/apps/tight/socket.io/?EIO=4&transport=polling")
        .await
        .unwrap()
        .body;
    assert!(open.contains("\"maxPayload\":1000"), "{open}");
    let sid = open_sid(&open);
    let big = format!("42[\"message\",\"{}\"]", "x".repeat(2000));
    let reply = http
        .post(
            &format!("/apps/tight/socket.io/?EIO=4&transport=polling&sid={sid}"),
            big.clone(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 413);
    let (mut ws, _) = socket(&server, "tight").await;
    ws.text().await.unwrap();
    ws.send(&big).await.unwrap();
    assert_eq!(
        ws.closed().await.unwrap(),
        Some((1009, "message too large".into()))
    );
    // The websocket's breach is counted by its teardown, which may finish
    // after the client saw the close.
    let series = "eddy_limit_breaches_total{app=\"tight\",limit=\"payload\"}";
    assert!(server.metric_reaches(series, 2).await.unwrap() >= 2);
    // The same message is fine for an app with the default limit.
    let (mut other, _) = socket(&server, "roomy").await;
    other.text().await.unwrap();
    other.send(&big).await.unwrap();
    assert!(
        other
            .text()
            .await
            .unwrap()
            .starts_with("42[\"message-back\"")
    );
}

#[tokio::test]
async fn handler_limits_change_live() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with(
            "spin",
            HOSTILE_SPIN,
            json!({ "handler_deadline_ms": 20, "max_events_per_second": 1000 }),
        )
        .await
        .unwrap();
    let (mut ws, _) = socket(&server, "spin").await;
    let short = timed_spin(&mut ws, 1).await;
    admin
        .call(
            "PATCH",
            "/apps/spin",
            Some(json!({"limits":{"handler_deadline_ms":400}})),
        )
        .await
        .unwrap();
    let long = timed_spin(&mut ws, 2).await;
    assert!(
        short.as_millis() < 300 && long.as_millis() >= 400,
        "{short:?} then {long:?}"
    );
    // The socket stayed through the change.
    ws.send("423[\"ok\",7]").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "433[7]");
}

/// Sends `spin` and returns how long until the timeout error came back.
async fn timed_spin(ws: &mut RawWs, id: u32) -> std::time::Duration {
    let started = Instant::now();
    ws.send(&format!("42{id}[\"spin\"]")).await.unwrap();
    let ack = ws.text().await.unwrap();
    assert!(ack.contains("handler_timeout"), "{ack}");
    started.elapsed()
}

#[tokio::test]
async fn kv_quota_is_enforced_per_app() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with("cramped", PRESENCE, json!({ "kv_quota_bytes": 128 }))
        .await
        .unwrap();
    let (mut ws, _) = socket(&server, "cramped").await;
    ws.send("421[\"enter\",\"r\",\"Ada\"]").await.unwrap();
    assert!(ws.text().await.unwrap().starts_with("42[\"presence\""));
    assert_eq!(ws.text().await.unwrap(), "431[[\"Ada\"]]");
    ws.send(&format!(
        "422[\"enter\",\"room-with-a-long-name\",\"{}\"]",
        "B".repeat(80)
    ))
    .await
    .unwrap();
    let error = ws.text().await.unwrap();
    assert!(
        error.starts_with("432[{\"error\":{\"code\":\"kv_failed\""),
        "{error}"
    );
    assert!(error.contains("quota"), "{error}");
    assert_eq!(breaches(&server, "cramped", "kv_quota").await, 1);
}

/// The server's resident memory, in KiB (from /proc).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Hardening: a handler that joins rooms in a loop with huge names held
/// ~680 MB through one socket. Rooms per socket and room-name length are
/// per-app limits now; the handler's `join` returns false past them, the
/// app's log says why, and memory stays flat.
#[tokio::test]
async fn rooms_per_socket_and_room_names_are_bounded() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with("hoard", HOSTILE_HOARD, json!({}))
        .await
        .unwrap();
    let (mut ws, reply) = socket(&server, "hoard").await;
    assert!(reply.starts_with("40{"), "{reply}");
    let before = rss_kib(server.pid());
    // Names of 64 KiB: every join is refused (max_room_name_bytes = 256).
    ws.send(r#"421["hoard",100,65536]"#).await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "431[0]");
    // Short names: the first 128 are joined (max_rooms_per_socket = 128).
    ws.send(r#"422["hoard",5000,200]"#).await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "432[128]");
    let grown = rss_kib(server.pid()).saturating_sub(before);
    assert!(grown < 32 * 1024, "the server grew by {grown} KiB");
    assert!(breaches(&server, "hoard", "rooms").await >= 100 + 5000 - 128);
    let log = admin.call("GET", "/apps/hoard/logs", None).await.unwrap();
    assert!(
        log.body.contains("max_rooms_per_socket") && log.body.contains("max_room_name_bytes"),
        "{}",
        log.body
    );
    // Limits are data: lowered, they apply to the next join.
    admin
        .call(
            "PATCH",
            "/apps/hoard",
            Some(json!({"limits":{"max_rooms_per_socket":2,"max_room_name_bytes":8}})),
        )
        .await
        .unwrap();
    let (mut fresh, _) = socket(&server, "hoard").await;
    fresh.send(r#"423["hoard",10,8]"#).await.unwrap();
    assert_eq!(fresh.text().await.unwrap(), "433[2]");
}

/// Hardening: with a handler that accepts any namespace, every name a
/// client tried stayed in memory. Namespaces are capped per app, and empty
/// ones are dropped, so churning through names costs nothing lasting.
#[tokio::test]
async fn namespaces_are_capped_and_pruned() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with("spaces", HOSTILE_HOARD, json!({ "max_namespaces": 4 }))
        .await
        .unwrap();
    let mut ws = server
        .ws("/apps/spaces/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    ws.text().await.unwrap();
    for n in 0..4 {
        ws.send(&format!("40/n{n},")).await.unwrap();
        assert!(ws.text().await.unwrap().starts_with(&format!("40/n{n},{{")));
    }
    ws.send("40/n4,").await.unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "44/n4,{\"message\":\"namespace limit reached\",\"data\":{\"code\":\"namespace_limit\",\"max_namespaces\":4}}"
    );
    assert_eq!(breaches(&server, "spaces", "namespaces").await, 1);
    drop(ws);
    // 300 names, one after another: each is dropped when its client leaves.
    let started = Instant::now();
    for n in 0..300 {
        let mut ws = server
            .ws("/apps/spaces/socket.io/?EIO=4&transport=websocket")
            .await
            .unwrap();
        ws.text().await.unwrap();
        ws.send(&format!("40/churn-{n},")).await.unwrap();
        let reply = ws.text().await.unwrap();
        assert!(
            reply.starts_with(&format!("40/churn-{n},{{")),
            "{n}: {reply}"
        );
        ws.send("1").await.unwrap();
        let _ = ws.closed().await;
    }
    assert!(started.elapsed().as_secs() < 60);
}

/// Hardening: the Engine.IO endpoint reflected any Origin with credentials.
/// An app may list the browser origins allowed to connect; without a list
/// any origin is answered with `*` and no credentials.
#[tokio::test]
async fn browser_origins_follow_the_apps_list() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin.app_with("open", CHAT, json!({})).await.unwrap();
    admin
        .app_with(
            "closed",
            CHAT,
            json!({ "allowed_origins": ["https://good.example"] }),
        )
        .await
        .unwrap();
    let http = server.http();
    let handshake = |app: &str| format!("/apps/{app}/socket.io/?EIO=4&transport=polling");
    let with_origin = |origin: &'static str| vec![("origin", origin)];

    let open = http
        .request(
            "GET",
            &handshake("open"),
            Default::default(),
            &with_origin("https://any.example"),
        )
        .await
        .unwrap();
    assert_eq!(open.status, 200);
    assert_eq!(open.headers["access-control-allow-origin"], "*");
    assert!(
        !open
            .headers
            .contains_key("access-control-allow-credentials")
    );

    let good = http
        .request(
            "GET",
            &handshake("closed"),
            Default::default(),
            &with_origin("https://good.example"),
        )
        .await
        .unwrap();
    assert_eq!(good.status, 200);
    assert_eq!(
        good.headers["access-control-allow-origin"],
        "https://good.example"
    );
    assert_eq!(good.headers["access-control-allow-credentials"], "true");

    let bad = http
        .request(
            "GET",
            &handshake("closed"),
            Default::default(),
            &with_origin("https://evil.example"),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 403);
    assert_eq!(bad.json()["code"], "forbidden");
    assert_eq!(bad.json()["engine_io_code"], 4);
    // Clients outside a browser send no Origin and are not concerned.
    assert_eq!(http.get(&handshake("closed")).await.unwrap().status, 200);
    // An invalid entry is refused with the reason.
    let refused = admin
        .call(
            "PATCH",
            "/apps/closed",
            Some(json!({"limits":{"allowed_origins":["https://x.example/path"]}})),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("no path"), "{}", refused.body);
}
