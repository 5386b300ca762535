//! Engine.IO v4 conformance over raw HTTP long-polling and raw websockets,
//! against the diagnostics echo endpoint (`--engine-io-echo`), with exact frames.

use eddy_tests::ws::Frame;
use eddy_tests::{TestServer, WAIT, open_sid};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
const POLL: &str = "/engine.io/?EIO=4&transport=polling";
const WS: &str = "/engine.io/?EIO=4&transport=websocket";

async fn echo_server() -> TestServer {
    TestServer::start(BIN, &["--engine-io-echo"]).await.unwrap()
}

async fn polling_session(server: &TestServer) -> String {
    let reply = server.http().get(POLL).await.unwrap();
    assert_eq!(reply.status, 200);
    open_sid(&reply.body)
}

fn with_sid(sid: &str) -> String {
    format!("{POLL}&sid={sid}")
}

#[tokio::test]
async fn polling_handshake_has_exactly_the_five_keys() {
    let server = echo_server().await;
    let reply = server.http().get(POLL).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/plain; charset=UTF-8");
    assert!(reply.body.starts_with('0'));
    let open: serde_json::Value = serde_json::from_str(&reply.body[1..]).unwrap();
    let mut keys: Vec<_> = open.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
}

#[tokio::test]
async fn websocket_handshake_offers_no_upgrades() {
    let server = echo_server().await;
    let mut ws = server.ws(WS).await.unwrap();
    let open = ws.text().await.unwrap();
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open.as_object().unwrap().len(), 5);
}

#[tokio::test]
async fn bad_handshakes_get_engine_io_error_codes() {
    let server = echo_server().await;
    let http = server.http();
    let cases = [
        ("GET", "/engine.io/?transport=polling", 5),
        ("GET", "/engine.io/?EIO=abc&transport=polling", 5),
        ("GET", "/engine.io/?EIO=3&transport=polling", 5),
        ("GET", "/engine.io/?EIO=4", 0),
        ("GET", "/engine.io/?EIO=4&transport=abc", 0),
        ("POST", POLL, 2),
        ("PUT", POLL, 2),
        ("GET", "/engine.io/?EIO=4&transport=polling&sid=nope", 1),
        ("POST", "/engine.io/?EIO=4&transport=polling&sid=nope", 1),
        // A websocket request that is not an upgrade.
        ("GET", WS, 3),
    ];
    for (method, path, code) in cases {
        let reply = http
            .request(method, path, Default::default(), &[])
            .await
            .unwrap();
        assert_eq!(reply.status, 400, "{method} {path}: {}", reply.body);
        assert_eq!(reply.json()["engine_io_code"], code, "{method} {path}");
        assert_eq!(reply.json()["code"], "engine_io", "{method} {path}");
        assert!(reply.json()["detail"].is_string());
    }
}

#[tokio::test]
async fn polling_echoes_text_and_binary_payloads() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    for body in [
        "4hello",
        "4test1\x1e4test2\x1e4test3",
        "4hello\x1ebAQIDBA==",
        "4ünïcødé ✓",
    ] {
        let push = http.post(&with_sid(&sid), body).await.unwrap();
        assert_eq!((push.status, push.body.as_str()), (200, "ok"));
        let poll = http.get(&with_sid(&sid)).await.unwrap();
        assert_eq!((poll.status, poll.body.as_str()), (200, body));
    }
}

#[tokio::test]
async fn websocket_echoes_text_as_text_and_binary_as_binary() {
    let server = echo_server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send("4hello").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "4hello");
    ws.send_binary(&[1, 2, 3, 4]).await.unwrap();
    assert_eq!(ws.binary().await.unwrap(), vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn an_invalid_packet_closes_the_polling_session() {
    let server = echo_server().await;
    let http = server.http();
    for body in ["abc", "", "4ok\x1eb***", "9"] {
        let sid = polling_session(&server).await;
        let push = http.post(&with_sid(&sid), body).await.unwrap();
        assert_eq!(push.status, 400, "{body:?}");
        let poll = http.get(&with_sid(&sid)).await.unwrap();
        assert_eq!(poll.status, 400, "{body:?}: {}", poll.body);
    }
}

#[tokio::test]
async fn invalid_utf8_closes_the_polling_session() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let push = http
        .request(
            "POST",
            &with_sid(&sid),
            bytes::Bytes::from_static(b"4\xff\xfe"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(push.status, 400);
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);
}

#[tokio::test]
async fn an_invalid_packet_closes_the_websocket() {
    let server = echo_server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send("abc").await.unwrap();
    let close = ws.closed().await.unwrap();
    assert_eq!(close, Some((1002, "parse error".into())));
}

#[tokio::test]
async fn concurrent_gets_close_the_session() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let first = tokio::spawn({
        let (http, path) = (http.clone(), with_sid(&sid));
        async move { http.get(&path).await.unwrap() }
    });
    // The first GET is pending (nothing to send) when the second arrives.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = http.get(&with_sid(&sid)).await.unwrap();
    assert_eq!(second.status, 400);
    let first = first.await.unwrap();
    assert_eq!((first.status, first.body.as_str()), (200, "1"));
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);
}

#[tokio::test]
async fn polling_heartbeat_and_timeout() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    for _ in 0..3 {
        let ping = http.get(&with_sid(&sid)).await.unwrap();
        assert_eq!(ping.body, "2");
        assert_eq!(http.post(&with_sid(&sid), "3").await.unwrap().body, "ok");
    }
    // No pong: after ping interval + ping timeout the session is gone.
    let ping = http.get(&with_sid(&sid)).await.unwrap();
    assert_eq!(ping.body, "2");
    let closed = http.get(&with_sid(&sid)).await.unwrap();
    assert_eq!((closed.status, closed.body.as_str()), (200, "1"));
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);
}

#[tokio::test]
async fn websocket_heartbeat_and_timeout() {
    let server = echo_server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    for _ in 0..3 {
        assert_eq!(ws.next().await.unwrap(), Frame::Text("2".into()));
        ws.send("3").await.unwrap();
    }
    let started = std::time::Instant::now();
    assert_eq!(ws.next().await.unwrap(), Frame::Text("2".into()));
    let close = ws.closed().await.unwrap();
    assert_eq!(close, Some((1000, "ping timeout".into())));
    assert!(started.elapsed() < WAIT);
}

#[tokio::test]
async fn client_close_packet_ends_the_session() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let pending = tokio::spawn({
        let (http, path) = (http.clone(), with_sid(&sid));
        async move { http.get(&path).await.unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(http.post(&with_sid(&sid), "1").await.unwrap().body, "ok");
    let pending = pending.await.unwrap();
    assert_eq!((pending.status, pending.body.as_str()), (200, "6"));
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);

    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send("1").await.unwrap();
    assert_eq!(
        ws.closed().await.unwrap(),
        Some((1000, "transport close".into()))
    );
}

#[tokio::test]
async fn upgrade_from_polling_to_websocket() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let mut ws = server.ws(&format!("{WS}&sid={sid}")).await.unwrap();
    ws.send("2probe").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "3probe");
    // The pending poll is released with a noop.
    let poll = http.get(&with_sid(&sid)).await.unwrap();
    assert_eq!((poll.status, poll.body.as_str()), (200, "6"));
    ws.send("5").await.unwrap();
    // The noop belonged to the old transport: the echo is the first frame here.
    ws.send("4hello").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "4hello");
    // Polling is over for this session, in both directions.
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);
    assert_eq!(http.post(&with_sid(&sid), "4x").await.unwrap().status, 400);
    // And a second websocket cannot take the session over: as in the
    // reference, its handshake completes and it is closed at once.
    let mut second = server.ws(&format!("{WS}&sid={sid}")).await.unwrap();
    assert!(matches!(second.next().await.unwrap(), Frame::Closed(_)));
    ws.send("4still here").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "4still here");
}

#[tokio::test]
async fn queued_packets_survive_the_upgrade() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let mut ws = server.ws(&format!("{WS}&sid={sid}")).await.unwrap();
    ws.send("2probe").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "3probe");
    // Sent over polling, answered after the switch: nothing is lost.
    assert_eq!(
        http.post(&with_sid(&sid), "4queued").await.unwrap().body,
        "ok"
    );
    ws.send("5").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "4queued");
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let server = TestServer::start(BIN, &["--engine-io-echo", "--max-payload", "100"])
        .await
        .unwrap();
    let http = server.http();
    let sid = polling_session(&server).await;
    let push = http.post(&with_sid(&sid), "4".repeat(101)).await.unwrap();
    assert_eq!(push.status, 413);
    assert_eq!(push.json()["max_payload"], 100);
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);

    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send(&"4".repeat(101)).await.unwrap();
    assert_eq!(
        ws.closed().await.unwrap(),
        Some((1009, "message too large".into()))
    );
}

#[tokio::test]
async fn the_echo_endpoint_is_off_by_default() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    let reply = server.http().get(POLL).await.unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], "not_found");
}

/// Conformance: the reference server's timers start at the handshake and
/// close on time whether or not the ping was collected.
#[tokio::test]
async fn an_unpolled_session_is_gone_after_ping_interval_plus_timeout() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let poll = http.get(&with_sid(&sid)).await.unwrap();
    assert_eq!(poll.status, 400, "{}", poll.body);
    assert_eq!(poll.json()["engine_io_code"], 1);
}

/// Hardening: heartbeats go server → client in Engine.IO v4. A client ping
/// closes the session, so a client that pings and never reads cannot grow
/// its queue of pongs.
#[tokio::test]
async fn a_client_ping_closes_the_session() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let flood = vec!["2"; 1000].join("\x1e");
    let push = http.post(&with_sid(&sid), flood).await.unwrap();
    assert_eq!(push.status, 400);
    assert_eq!(http.get(&with_sid(&sid)).await.unwrap().status, 400);

    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    for _ in 0..100 {
        if ws.send("2").await.is_err() {
            break;
        }
    }
    let close = ws.closed().await.unwrap();
    assert_eq!(close, Some((1002, "parse error".into())));
}

/// Conformance: once upgraded, a second websocket for the same sid completes
/// its handshake and is closed; the upgraded one keeps working.
#[tokio::test]
async fn a_second_websocket_after_upgrade_is_closed_not_refused() {
    let server = echo_server().await;
    let sid = polling_session(&server).await;
    let mut ws = server.ws(&format!("{WS}&sid={sid}")).await.unwrap();
    ws.send("2probe").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "3probe");
    ws.send("5").await.unwrap();
    let mut second = server.ws(&format!("{WS}&sid={sid}")).await.unwrap();
    assert!(matches!(second.next().await.unwrap(), Frame::Closed(_)));
    ws.send("4hello").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "4hello");
}

/// Conformance: a long-poll whose client goes away (the request is
/// cancelled) ends the session; the next request gets "unknown sid".
#[tokio::test]
async fn a_cancelled_poll_ends_the_session() {
    let server = echo_server().await;
    let http = server.http();
    let sid = polling_session(&server).await;
    let pending = tokio::spawn({
        let (http, path) = (http.clone(), with_sid(&sid));
        async move { http.get(&path).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    pending.abort();
    let _ = pending.await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let poll = http.get(&with_sid(&sid)).await.unwrap();
        if poll.status == 400 {
            break;
        }
        // The server may see the first request's end a moment later: the
        // second GET is then the overlapping one, which also ends it.
        assert!(std::time::Instant::now() < deadline, "{}", poll.body);
    }
}

/// Hardening: a text frame that is not UTF-8 closes the websocket with
/// 1007 (inconsistent data), as RFC 6455 says, not 1002.
#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let server = echo_server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send_raw_text(b"4\xff\xfe").await.unwrap();
    let close = ws.closed().await.unwrap();
    assert_eq!(close, Some((1007, "invalid utf-8".into())));
}
