//! The HTTP edge under an attacker: per-address limits, request bodies
//! that never finish, malformed requests, authentication guessing.

use std::time::{Duration, Instant};

use eddy_tests::{ADMIN_TOKEN, TestServer, open_sid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
const POLL: &str = "/engine.io/?EIO=4&transport=polling";

/// Hardening: 20,000 handshakes over one keep-alive connection all
/// succeeded in 2 s. New sessions per second are limited per client
/// address, with 429 and Retry-After, as `docs/operations.md` promises;
/// another address is not affected.
#[tokio::test]
async fn new_sessions_are_rate_limited_per_address() {
    let server = TestServer::start_with_env(
        BIN,
        &["--engine-io-echo"],
        &[("EDDY_SESSIONS_PER_SECOND_PER_ADDRESS", "5")],
    )
    .await
    .unwrap();
    let http = server.http();
    let mut opened = 0;
    let mut refused = None;
    for _ in 0..50 {
        let reply = http.get(POLL).await.unwrap();
        match reply.status {
            200 => opened += 1,
            429 => {
                refused = Some(reply);
                break;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    // Bursts of twice the rate, then refused.
    assert!((10..=12).contains(&opened), "opened {opened}");
    let refused = refused.expect("a 429 within 50 handshakes");
    assert_eq!(refused.json()["code"], "rate_limited");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Existing sessions are not affected, and tokens come back with time.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(http.get(POLL).await.unwrap().status, 200);
    assert!(
        server
            .metrics()
            .await
            .unwrap()
            .contains("eddy_address_refusals_total{limit=\"sessions\"}")
    );
}

/// Hardening: no per-address connection cap. One address may hold
/// `max_connections_per_address` connections; more are closed at accept.
#[tokio::test]
async fn connections_are_capped_per_address() {
    let server = TestServer::start_with_env(
        BIN,
        &["--engine-io-echo"],
        &[("EDDY_MAX_CONNECTIONS_PER_ADDRESS", "20")],
    )
    .await
    .unwrap();
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut ws = server
            .ws("/engine.io/?EIO=4&transport=websocket")
            .await
            .unwrap();
        ws.text().await.unwrap();
        held.push(ws);
    }
    assert!(
        server
            .ws("/engine.io/?EIO=4&transport=websocket")
            .await
            .is_err(),
        "the 21st connection is refused"
    );
    drop(held.pop());
    // The slot comes back when a connection closes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(mut ws) = server.ws("/engine.io/?EIO=4&transport=websocket").await {
            ws.text().await.unwrap();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a freed slot was never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Hardening: a polling POST trickling one byte at a time stayed open
/// forever, and one announcing 10 GB was held open too.
#[tokio::test]
async fn request_bodies_have_a_deadline_and_a_size() {
    let server = TestServer::start_with_env(
        BIN,
        &["--engine-io-echo"],
        // Shorter than the test heartbeat (500 ms), which would end the
        // session (and so the POST) first.
        &[("EDDY_REQUEST_BODY_TIMEOUT_MS", "300")],
    )
    .await
    .unwrap();
    let sid = open_sid(&server.http().get(POLL).await.unwrap().body);
    let path = format!("{POLL}&sid={sid}");

    // Announces 10 GB: refused at once, before any of it is read.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 10000000000\r\n\r\n4x",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let reply = read_reply(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");

    // A fresh session, and a body that trickles: cut off at the deadline.
    let sid = open_sid(&server.http().get(POLL).await.unwrap().body);
    let path = format!("{POLL}&sid={sid}");
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 100\r\n\r\n4",
        server.addr
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if stream.write_all(b"x").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1500), trickle).await;
    let reply = read_reply(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

async fn read_reply(stream: &mut tokio::net::TcpStream) -> String {
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("a reply in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Hardening (smaller items): a request without Host, the bearer scheme in
/// any case, no caching of API answers, throttled guessing of tokens.
#[tokio::test]
async fn the_api_edge_is_strict() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    // HTTP/1.1 without Host.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(read_reply(&mut stream).await.starts_with("HTTP/1.1 400"));

    let http = server.http();
    let list_apps = |authorization: String| {
        let http = http.clone();
        async move {
            http.request(
                "GET",
                "/admin/api/v1/apps",
                Default::default(),
                &[("authorization", &authorization)],
            )
            .await
            .unwrap()
        }
    };
    let apps = list_apps(format!("bearer {ADMIN_TOKEN}")).await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    assert_eq!(apps.headers["cache-control"], "no-store");

    // Guessing: after a burst of failures the address gets 429, even with
    // the right token, until it has waited.
    let mut limited = None;
    for i in 0..30 {
        let reply = list_apps(format!("Bearer wrong-{i}")).await;
        if reply.status == 429 {
            limited = Some((i, reply));
            break;
        }
        assert_eq!(reply.status, 401);
    }
    let (after, reply) = limited.expect("guessing is throttled");
    assert!(
        (10..=12).contains(&after),
        "throttled after {after} failures"
    );
    assert!(reply.headers.contains_key("retry-after"));
    let right = format!("Bearer {ADMIN_TOKEN}");
    assert_eq!(list_apps(right.clone()).await.status, 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(list_apps(right).await.status, 200);
}
