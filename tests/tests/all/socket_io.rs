//! Socket.IO v5 over raw websockets and raw polling against the `demo` app
//! (the built-in `echo` handler), checking exact frames, and every kind of
//! bad input from the issue: each gets the protocol's answer, and nobody
//! else notices.

use std::time::Duration;

use eddy_tests::ws::Frame;
use eddy_tests::{RawWs, TestServer, open_sid};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
const WS: &str = "/apps/demo/socket.io/?EIO=4&transport=websocket";
const POLL: &str = "/apps/demo/socket.io/?EIO=4&transport=polling";

async fn server() -> TestServer {
    TestServer::start(BIN, &[]).await.unwrap()
}

async fn connected(server: &TestServer) -> RawWs {
    let mut ws = server.ws(WS).await.unwrap();
    ws.socketio_handshake().await.unwrap();
    ws
}

#[tokio::test]
async fn connects_to_the_main_namespace() {
    let server = server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send("40").await.unwrap();
    let connect = ws.text().await.unwrap();
    let handshake: serde_json::Value =
        serde_json::from_str(connect.strip_prefix("40").unwrap()).unwrap();
    assert_eq!(
        handshake.as_object().unwrap().len(),
        1,
        "exactly sid: {connect}"
    );
    assert!(handshake["sid"].is_string());
    assert_eq!(ws.text().await.unwrap(), "42[\"auth\",{}]");
}

#[tokio::test]
async fn connects_with_an_auth_payload_and_to_custom_namespaces() {
    let server = server().await;
    let cases = [
        (
            "40{\"token\":\"123\"}",
            "40",
            "42[\"auth\",{\"token\":\"123\"}]",
        ),
        ("40/custom,", "40/custom,", "42/custom,[\"auth\",{}]"),
        ("40/custom", "40/custom,", "42/custom,[\"auth\",{}]"),
        (
            "40/custom,{\"token\":\"abc\"}",
            "40/custom,",
            "42/custom,[\"auth\",{\"token\":\"abc\"}]",
        ),
    ];
    for (send, connect_prefix, auth) in cases {
        let mut ws = server.ws(WS).await.unwrap();
        ws.text().await.unwrap();
        ws.send(send).await.unwrap();
        let connect = ws.text().await.unwrap();
        assert!(connect.starts_with(connect_prefix), "{send}: {connect}");
        let handshake: serde_json::Value =
            serde_json::from_str(&connect[connect_prefix.len()..]).unwrap();
        assert!(handshake["sid"].is_string());
        assert_eq!(ws.text().await.unwrap(), auth, "{send}");
    }
}

#[tokio::test]
async fn refuses_an_unknown_namespace_and_keeps_the_connection() {
    let server = server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    ws.send("40/random").await.unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "44/random,{\"message\":\"Invalid namespace\"}"
    );
    ws.send("40").await.unwrap();
    assert!(ws.text().await.unwrap().starts_with("40{\"sid\""));
}

#[tokio::test]
async fn events_and_acks_have_the_reference_frames() {
    let server = server().await;
    let mut ws = connected(&server).await;
    ws.send("42[\"message\",1,\"2\",{\"3\":[true]}]")
        .await
        .unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "42[\"message-back\",1,\"2\",{\"3\":[true]}]"
    );
    ws.send("42456[\"message-with-ack\",1,\"2\",{\"3\":[false]}]")
        .await
        .unwrap();
    assert_eq!(ws.text().await.unwrap(), "43456[1,\"2\",{\"3\":[false]}]");
    ws.send("42[\"message\"]").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "42[\"message-back\"]");
}

#[tokio::test]
async fn binary_attachments_both_ways() {
    let server = server().await;
    let mut ws = connected(&server).await;
    ws.send(
        "452-[\"message\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    )
    .await
    .unwrap();
    ws.send_binary(&[1, 2, 3]).await.unwrap();
    ws.send_binary(&[4, 5, 6]).await.unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "452-[\"message-back\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
    );
    assert_eq!(ws.binary().await.unwrap(), [1, 2, 3]);
    assert_eq!(ws.binary().await.unwrap(), [4, 5, 6]);

    ws.send("452-789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")
        .await
        .unwrap();
    ws.send_binary(&[1, 2, 3]).await.unwrap();
    ws.send_binary(&[4, 5, 6]).await.unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "462-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
    );
    assert_eq!(ws.binary().await.unwrap(), [1, 2, 3]);
    assert_eq!(ws.binary().await.unwrap(), [4, 5, 6]);
}

#[tokio::test]
async fn binary_over_polling_is_base64() {
    let server = server().await;
    let http = server.http();
    let sid = open_sid(&http.get(POLL).await.unwrap().body);
    let path = format!("{POLL}&sid={sid}");
    assert_eq!(http.post(&path, "40").await.unwrap().body, "ok");
    let connect = http.get(&path).await.unwrap().body;
    assert!(connect.starts_with("40{\"sid\""), "{connect}");
    let body = "451-[\"message\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID";
    assert_eq!(http.post(&path, body).await.unwrap().body, "ok");
    let reply = http.get(&path).await.unwrap().body;
    assert_eq!(
        reply,
        "451-[\"message-back\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"
    );
}

#[tokio::test]
async fn disconnect_from_a_custom_namespace_keeps_the_main_one() {
    let server = server().await;
    let mut ws = connected(&server).await;
    ws.send("40/custom").await.unwrap();
    assert!(ws.text().await.unwrap().starts_with("40/custom,"));
    assert_eq!(ws.text().await.unwrap(), "42/custom,[\"auth\",{}]");
    ws.send("41/custom").await.unwrap();
    // Events for a namespace the client left are dropped.
    ws.send("42/custom,[\"message\",\"gone\"]").await.unwrap();
    ws.send("42[\"message\",\"message to main namespace\"]")
        .await
        .unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "42[\"message-back\",\"message to main namespace\"]"
    );
}

#[tokio::test]
async fn malformed_socketio_packets_close_the_connection() {
    let server = server().await;
    for bad in [
        "4abc",
        "42{}",
        "42abc[\"message-with-ack\",1]",
        "47",
        "42[\"connect\"]",
        "4\u{1}",
        "42[1,",
    ] {
        let mut ws = connected(&server).await;
        ws.send(bad).await.unwrap();
        assert_eq!(
            ws.closed().await.unwrap(),
            Some((1002, "parse error".into())),
            "{bad:?}"
        );
    }
    // A binary frame nobody announced, and a text frame where an attachment was due.
    let mut ws = connected(&server).await;
    ws.send_binary(&[1]).await.unwrap();
    assert_eq!(
        ws.closed().await.unwrap(),
        Some((1002, "parse error".into()))
    );
    let mut ws = connected(&server).await;
    ws.send("451-[\"message\",{\"_placeholder\":true,\"num\":0}]")
        .await
        .unwrap();
    ws.send("42[\"message\"]").await.unwrap();
    assert_eq!(
        ws.closed().await.unwrap(),
        Some((1002, "parse error".into()))
    );
    let parse_errors = server
        .metric("eddy_parse_errors_total{app=\"demo\"}")
        .await
        .unwrap();
    assert!(parse_errors >= 8, "{parse_errors}");
}

#[tokio::test]
async fn an_ack_nobody_asked_for_is_ignored() {
    let server = server().await;
    let mut ws = connected(&server).await;
    ws.send("43999[\"unsolicited\"]").await.unwrap();
    ws.send("42[\"message\",\"still alive\"]").await.unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "42[\"message-back\",\"still alive\"]"
    );
    assert_eq!(
        server
            .metric("eddy_unknown_acks_total{app=\"demo\"}")
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_session_that_joins_no_namespace_is_closed() {
    let server = server().await;
    let mut ws = server.ws(WS).await.unwrap();
    ws.text().await.unwrap();
    let started = std::time::Instant::now();
    // Answer pings, but never send CONNECT.
    loop {
        match ws.next().await.unwrap() {
            Frame::Text(t) if t == "2" => ws.send("3").await.unwrap(),
            Frame::Closed(close) => {
                assert_eq!(close, Some((1000, "connect timeout".into())));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn rooms_broadcast_once_to_members_except_the_sender() {
    let server = server().await;
    let mut a = connected(&server).await;
    let mut b = connected(&server).await;
    let mut c = connected(&server).await;
    a.send("421[\"join\",\"r\"]").await.unwrap();
    assert_eq!(a.text().await.unwrap(), "431[1]");
    b.send("421[\"join\",\"r\"]").await.unwrap();
    assert_eq!(b.text().await.unwrap(), "431[2]");
    // Joining twice changes nothing.
    b.send("422[\"join\",\"r\"]").await.unwrap();
    assert_eq!(b.text().await.unwrap(), "432[2]");
    a.send("423[\"to-room\",\"r\",{\"x\":1},\"y\"]")
        .await
        .unwrap();
    assert_eq!(a.text().await.unwrap(), "433[1]");
    assert_eq!(
        b.text().await.unwrap(),
        "42[\"room-message\",{\"x\":1},\"y\"]"
    );
    // c is not a member and a is the sender: a round trip shows nothing else arrived.
    for ws in [&mut a, &mut c] {
        ws.send("429[\"message-with-ack\",\"sync\"]").await.unwrap();
        assert_eq!(ws.text().await.unwrap(), "439[\"sync\"]");
    }
    b.send("424[\"leave\",\"r\"]").await.unwrap();
    assert_eq!(b.text().await.unwrap(), "434[1]");
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_and_others_are_unaffected() {
    // A tiny outbox: a client that never reads overflows it quickly.
    let dir = std::env::temp_dir().join(format!("eddy-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("eddy.toml");
    std::fs::write(&config, "outbox_max_frames = 8\noutbox_max_bytes = 4096\n").unwrap();
    let server = TestServer::start(BIN, &["--config", config.to_str().unwrap()])
        .await
        .unwrap();

    let http = server.http();
    let sid = open_sid(&http.get(POLL).await.unwrap().body);
    let path = format!("{POLL}&sid={sid}");
    assert_eq!(http.post(&path, "40").await.unwrap().body, "ok");
    // Never GET: every message-back piles up in the outbox.
    let flood: Vec<String> = (0..20).map(|i| format!("42[\"message\",{i}]")).collect();
    let reply = http.post(&path, flood.join("\x1e")).await.unwrap();
    assert_eq!(reply.status, 200);
    let closed = http.get(&path).await.unwrap();
    // The outbox held what fit, then the session was closed as a slow consumer.
    assert!(closed.body.ends_with("\x1e1"), "{}", closed.body);
    assert_eq!(http.get(&path).await.unwrap().status, 400);
    assert_eq!(
        server
            .metric_reaches(
                "eddy_sessions_closed_total{app=\"demo\",reason=\"slow consumer\"}",
                1
            )
            .await
            .unwrap(),
        1
    );
    // Another client never noticed.
    let mut ws = connected(&server).await;
    ws.send("421[\"message-with-ack\",\"fine\"]").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "431[\"fine\"]");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn bad_input_on_one_socket_never_affects_another() {
    let server = server().await;
    let mut good = connected(&server).await;
    let http = server.http();
    for bad in ["4abc", "42{}", "\u{0}"] {
        let mut ws = connected(&server).await;
        ws.send(bad).await.unwrap();
        ws.closed().await.unwrap();
        let sid = open_sid(&http.get(POLL).await.unwrap().body);
        http.post(&format!("{POLL}&sid={sid}"), bad).await.unwrap();
    }
    good.send("421[\"message-with-ack\",\"ok\"]").await.unwrap();
    assert_eq!(good.text().await.unwrap(), "431[\"ok\"]");
}

#[tokio::test]
async fn an_unknown_app_is_a_json_404() {
    let server = server().await;
    let reply = server
        .http()
        .get("/apps/nope/socket.io/?EIO=4&transport=polling")
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    assert_eq!(reply.json()["code"], "unknown_app");
    assert!(reply.json()["detail"].as_str().unwrap().contains("nope"));
    let reply = server.http().get("/nothing/here").await.unwrap();
    assert_eq!(
        (reply.status, reply.json()["code"].as_str()),
        (404, Some("not_found"))
    );
}

/// Hardening: a binary event whose placeholder points past its attachments
/// would make every receiving official client disconnect ("illegal
/// attachments"). The server refuses it and drops the sender, as the
/// reference does; nothing is echoed, and others carry on.
#[tokio::test]
async fn a_placeholder_past_the_attachments_drops_the_sender() {
    let server = server().await;
    let mut bystander = connected(&server).await;
    for header in [
        r#"51-["message",{"_placeholder":true,"num":1}]"#,
        r#"51-["message",{"_placeholder":true,"num":-1}]"#,
        r#"51-["message",{"_placeholder":true}]"#,
        r#"51-["message",[{"deep":{"_placeholder":true,"num":7}}]]"#,
    ] {
        let mut ws = connected(&server).await;
        ws.send(header).await.unwrap();
        ws.send_binary(&[1, 2, 3]).await.unwrap();
        assert_eq!(
            ws.closed().await.unwrap(),
            Some((1002, "parse error".into())),
            "{header}"
        );
    }
    // Over polling the POST gets a 400 and the session is gone.
    let http = server.http();
    let sid = open_sid(&http.get(POLL).await.unwrap().body);
    let with_sid = format!("{POLL}&sid={sid}");
    assert_eq!(http.post(&with_sid, "40").await.unwrap().status, 200);
    assert!(http.get(&with_sid).await.unwrap().body.starts_with("40"));
    let bad = "451-[\"message\",{\"_placeholder\":true,\"num\":2}]\x1ebAQID";
    assert_eq!(http.post(&with_sid, bad).await.unwrap().status, 400);
    assert_eq!(http.get(&with_sid).await.unwrap().status, 400);

    bystander
        .send(r#"42["message","still here"]"#)
        .await
        .unwrap();
    assert_eq!(
        bystander.text().await.unwrap(),
        r#"42["message-back","still here"]"#
    );
}

/// Public codes: a handler's own error code reaches the client as is; a
/// code the server reserves (or a malformed one) becomes
/// `handler_invalid_reply`, so `handler_timeout` always means the server
/// stopped the handler.
#[tokio::test]
async fn handlers_may_not_send_the_codes_the_server_reserves() {
    let server = server().await;
    let mut ws = connected(&server).await;
    let cases = [
        ("unknown_event", "unknown_event"),
        ("bad_arguments", "bad_arguments"),
        ("handler_timeout", "handler_invalid_reply"),
        ("rate_limited", "handler_invalid_reply"),
        ("eddy_custom", "handler_invalid_reply"),
        ("with space", "handler_invalid_reply"),
    ];
    for (id, (sent, received)) in cases.into_iter().enumerate() {
        ws.send(&format!("42{id}[\"fail\",\"{sent}\",\"from the handler\"]"))
            .await
            .unwrap();
        let ack = ws.text().await.unwrap();
        let body: serde_json::Value =
            serde_json::from_str(ack.strip_prefix(&format!("43{id}")).unwrap()).unwrap();
        assert_eq!(body[0]["error"]["code"], received, "{sent}: {ack}");
        if sent == received {
            assert_eq!(body[0]["error"]["message"], "from the handler");
        } else {
            let message = body[0]["error"]["message"].as_str().unwrap();
            assert!(message.contains(sent), "{message}");
        }
    }
}

/// Public codes: the same rule holds for the `code` in a connect refusal's
/// data.
#[tokio::test]
async fn connect_refusals_may_not_carry_reserved_codes_either() {
    let server = server().await;
    for (sent, received) in [
        ("not_invited", "not_invited"),
        ("connection_limit", "handler_invalid_reply"),
    ] {
        let mut ws = server.ws(WS).await.unwrap();
        ws.text().await.unwrap();
        ws.send(&format!("40{{\"refuse\":\"{sent}\"}}"))
            .await
            .unwrap();
        let refusal = ws.text().await.unwrap();
        let body: serde_json::Value =
            serde_json::from_str(refusal.strip_prefix("44").unwrap()).unwrap();
        assert_eq!(body["data"]["code"], received, "{refusal}");
    }
}
