//! Per-app limits from the registry, enforced: each breach gets a clear
//! error to the right party and a metric, and never touches another app.

use std::time::Instant;

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
        .app_with("small", "chat", json!({ "max_connections": 2 }))
        .await
        .unwrap();
    admin.app_with("other", "chat", json!({})).await.unwrap();
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
        .app_with("slow", "echo", json!({ "max_events_per_second": 5 }))
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
        .app_with("tight", "echo", json!({ "max_payload": 1000 }))
        .await
        .unwrap();
    admin.app_with("roomy", "echo", json!({})).await.unwrap();
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
    assert!(breaches(&server, "tight", "payload").await >= 2);
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
            "hostile-spin",
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
        .app_with("cramped", "presence", json!({ "kv_quota_bytes": 128 }))
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
