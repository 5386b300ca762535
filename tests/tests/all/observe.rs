//! Watching the server: the live stream behind the dashboard, log tails,
//! connected sockets, Prometheus, and the admin UI's files.

use std::time::{Duration, Instant};

use eddy_tests::plugins::ECHO;
use eddy_tests::ws::Frame;
use eddy_tests::{ADMIN_TOKEN, RawWs, TestServer};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

fn bearer() -> String {
    format!("Bearer {ADMIN_TOKEN}")
}

async fn socket(server: &TestServer, slug: &str) -> RawWs {
    let mut ws = server
        .ws(&format!(
            "/apps/{slug}/socket.io/?EIO=4&transport=websocket"
        ))
        .await
        .unwrap();
    let open = ws.text().await.unwrap();
    assert!(open.starts_with('0'), "{open}");
    ws.send("40").await.unwrap();
    let connect = ws.text().await.unwrap();
    assert!(connect.starts_with("40{\"sid\":"), "{connect}");
    // The echo plugin greets with the auth it got.
    assert_eq!(ws.text().await.unwrap(), "42[\"auth\",{}]");
    ws
}

/// The `sid` of a CONNECT reply is the socket id.
async fn socket_with_id(server: &TestServer, slug: &str) -> (RawWs, String) {
    let mut ws = server
        .ws(&format!(
            "/apps/{slug}/socket.io/?EIO=4&transport=websocket"
        ))
        .await
        .unwrap();
    ws.text().await.unwrap();
    ws.send("40").await.unwrap();
    let connect = ws.text().await.unwrap();
    let body: Value = serde_json::from_str(connect.strip_prefix("40").unwrap()).unwrap();
    assert_eq!(ws.text().await.unwrap(), "42[\"auth\",{}]");
    (ws, body["sid"].as_str().unwrap().to_owned())
}

/// The next text frame; the test servers ping fast, so pings are answered.
async fn answering_pings(ws: &mut RawWs) -> String {
    loop {
        match ws.next().await.unwrap() {
            Frame::Text(t) if t == "2" => ws.send("3").await.unwrap(),
            Frame::Text(t) => return t,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_live_stream_counts_what_clients_do() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin.app_with("busy", ECHO, json!({})).await.unwrap();
    admin.app_with("quiet", ECHO, json!({})).await.unwrap();
    let mut stream = server
        .http()
        .stream("/admin/api/v1/stream", &[("authorization", &bearer())])
        .await
        .unwrap();
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    // Frames are read aside, so the clients keep answering the (fast) pings.
    let (frames_tx, mut frames) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(frame) = stream.next_json().await {
            if frames_tx.send(frame).is_err() {
                return;
            }
        }
    });

    let mut clients = Vec::new();
    for _ in 0..2 {
        clients.push(socket(&server, "busy").await);
    }
    // Traffic for a few seconds, so some sample sees it whatever the phase.
    let started = Instant::now();
    let mut seen: Option<Value> = None;
    let mut id = 0;
    while started.elapsed() < Duration::from_secs(10) && seen.is_none() {
        for ws in &mut clients {
            id += 1;
            ws.send(&format!("42{id}[\"message-with-ack\",\"hello\"]"))
                .await
                .unwrap();
            assert_eq!(answering_pings(ws).await, format!("43{id}[\"hello\"]"));
        }
        while let Ok(frame) = frames.try_recv() {
            // (Frames from before the app existed come first.)
            let busy = frame["apps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["slug"] == "busy")
                .cloned();
            if busy.is_some_and(|b| b["events_in_per_second"].as_u64().unwrap() > 0) {
                seen = Some(frame);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let frame = seen.expect("a frame with the traffic in it");
    let apps = frame["apps"].as_array().unwrap();
    let slugs: Vec<&str> = apps.iter().map(|a| a["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["busy", "quiet"]);
    let busy = &apps[0];
    assert_eq!(busy["connections"], 2);
    assert_eq!(busy["active_version"], 1);
    for field in [
        "bytes_in_per_second",
        "bytes_out_per_second",
        "handler_calls_per_second",
        "handler_p50_us",
        "handler_p99_us",
        "handler_memory_bytes",
    ] {
        assert!(busy[field].as_u64().unwrap() > 0, "{field}: {busy}");
    }
    assert!(busy["handler_p99_us"].as_u64() >= busy["handler_p50_us"].as_u64());
    let quiet = &apps[1];
    assert_eq!(quiet["connections"], 0);
    assert_eq!(quiet["events_in_per_second"], 0);
    let totals = &frame["totals"];
    assert_eq!(totals["connections"], 2);
    assert_eq!(totals["events_in_per_second"], busy["events_in_per_second"]);
    assert_eq!(
        totals["handler_memory_bytes"].as_u64().unwrap(),
        busy["handler_memory_bytes"].as_u64().unwrap()
            + quiet["handler_memory_bytes"].as_u64().unwrap()
    );

    // A dashboard opened now starts with the frames before it.
    let mut late = server
        .http()
        .stream("/admin/api/v1/stream", &[("authorization", &bearer())])
        .await
        .unwrap();
    let first = late.next_json().await.unwrap();
    assert!(
        first["at_ms"].as_u64() < frame["at_ms"].as_u64(),
        "history first"
    );

    // The per-app stats endpoint agrees.
    let stats = admin
        .call("GET", "/apps/busy/stats", None)
        .await
        .unwrap()
        .json();
    assert!(stats["bytes_in_total"].as_u64().unwrap() > 0);
    assert!(stats["handler"]["busy_us"].as_u64().unwrap() > 0);
    assert!(stats["handler"]["memory_bytes"].as_u64().unwrap() > 0);

    // And so does Prometheus.
    assert!(
        server
            .metric("eddy_bytes_in_total{app=\"busy\"}")
            .await
            .unwrap()
            > 0
    );
    assert!(
        server
            .metric("eddy_bytes_out_total{app=\"busy\"}")
            .await
            .unwrap()
            > 0
    );
    assert!(
        server
            .metric("eddy_handler_memory_bytes{app=\"busy\"}")
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        server
            .metric("eddy_app_active_version{app=\"busy\"}")
            .await
            .unwrap(),
        1
    );
    assert!(
        server
            .metric("eddy_handler_busy_microseconds_total{app=\"busy\"}")
            .await
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn streams_need_the_token_and_end_at_shutdown() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    let refused = server.http().get("/admin/api/v1/stream").await.unwrap();
    assert_eq!(refused.status, 401);
    let refused = server
        .http()
        .get("/admin/api/v1/apps/demo/logs/stream")
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    let mut live = server
        .http()
        .stream("/admin/api/v1/stream", &[("authorization", &bearer())])
        .await
        .unwrap();
    let mut logs = server
        .http()
        .stream(
            "/admin/api/v1/apps/demo/logs/stream",
            &[("authorization", &bearer())],
        )
        .await
        .unwrap();
    assert!(live.next_data().await.unwrap().is_some());
    // Open dashboards do not hold up a shutdown.
    let started = Instant::now();
    assert_eq!(server.stop().await.unwrap(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    while live.next_data().await.is_ok_and(|d| d.is_some()) {}
    assert!(logs.next_data().await.map_or(true, |d| d.is_none()));
}

#[tokio::test]
async fn logs_are_kept_and_streamed() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin.app_with("app", ECHO, json!({})).await.unwrap();
    let recent = admin
        .call("GET", "/apps/app/logs", None)
        .await
        .unwrap()
        .json();
    let lines: Vec<&str> = recent
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("version 1 is live")),
        "{lines:?}"
    );
    assert_eq!(recent[0]["level"], "info");
    assert!(recent[0]["at_ms"].as_u64().unwrap() > 1_700_000_000_000);

    let mut tail = server
        .http()
        .stream(
            "/admin/api/v1/apps/app/logs/stream",
            &[("authorization", &bearer())],
        )
        .await
        .unwrap();
    assert_eq!(tail.status, 200);
    // A refused deploy and a good one, as they happen.
    let refused = admin.upload("app", b"\0asm\x01\0\0\0", "").await.unwrap();
    assert_eq!(refused.status, 422);
    let line = tail.next_json().await.unwrap();
    assert_eq!(line["level"], "warn");
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("core WebAssembly module"),
        "{line}"
    );
    admin.deploy("app", &ECHO.bytes()).await.unwrap();
    let line = tail.next_json().await.unwrap();
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .starts_with("version 2 is live"),
        "{line}"
    );

    let missing = admin.call("GET", "/apps/nope/logs", None).await.unwrap();
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn sockets_are_listed_and_disconnected() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin.app_with("app", ECHO, json!({})).await.unwrap();
    let (mut ws, id) = socket_with_id(&server, "app").await;
    ws.send("421[\"join\",\"lobby\"]").await.unwrap();
    assert_eq!(ws.text().await.unwrap(), "431[1]");
    let (_other, other_id) = socket_with_id(&server, "app").await;

    let list = admin
        .call("GET", "/apps/app/sockets", None)
        .await
        .unwrap()
        .json();
    assert_eq!(list["total"], 2);
    let sockets = list["sockets"].as_array().unwrap();
    let ids: Vec<&str> = sockets.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&other_id.as_str()),
        "{list}"
    );
    let mine = sockets.iter().find(|s| s["id"] == id.as_str()).unwrap();
    assert_eq!(mine["namespace"], "/");
    assert_eq!(mine["rooms"], json!(["lobby"]));
    assert_eq!(mine["transport"], "websocket");
    assert!(
        mine["address"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{mine}"
    );
    let limited = admin
        .call("GET", "/apps/app/sockets?limit=1", None)
        .await
        .unwrap()
        .json();
    assert_eq!(limited["total"], 2);
    assert_eq!(limited["sockets"].as_array().unwrap().len(), 1);
    for bad in ["limit=0", "limit=5000", "limit=lots", "colour=red"] {
        let reply = admin
            .call("GET", &format!("/apps/app/sockets?{bad}"), None)
            .await
            .unwrap();
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }

    // Disconnecting: the client hears it from the server, the audit log keeps it.
    let reply = admin
        .call(
            "DELETE",
            &format!("/apps/app/sockets/{id}?namespace=/"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(ws.text().await.unwrap(), "41");
    let again = admin
        .call("DELETE", &format!("/apps/app/sockets/{id}"), None)
        .await
        .unwrap();
    assert_eq!(again.status, 404);
    assert!(
        again.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no socket")
    );
    let elsewhere = admin
        .call(
            "DELETE",
            &format!("/apps/app/sockets/{other_id}?namespace=/admin"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(elsewhere.status, 404);
    let audit = admin
        .call("GET", "/audit?app=app", None)
        .await
        .unwrap()
        .json();
    assert_eq!(audit[0]["action"], "socket.disconnect");
    assert_eq!(audit[0]["detail"]["socket"], id.as_str());
    let list = admin
        .call("GET", "/apps/app/sockets", None)
        .await
        .unwrap()
        .json();
    assert_eq!(list["total"], 1);
}

#[tokio::test]
async fn the_admin_ui_is_served_from_the_binary_with_a_strict_policy() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    let http = server.http();
    let moved = http.get("/admin").await.unwrap();
    assert_eq!(moved.status, 308);
    assert_eq!(moved.headers["location"], "/admin/");
    let index = http.get("/admin/").await.unwrap();
    assert_eq!(index.status, 200);
    assert_eq!(index.headers["content-type"], "text/html; charset=utf-8");
    assert!(
        index
            .body
            .contains("<script type=\"module\" src=\"js/main.js\">")
    );
    let policy = index.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert_eq!(index.headers["x-content-type-options"], "nosniff");
    let etag = index.headers["etag"].to_str().unwrap().to_owned();
    let cached = http
        .request(
            "GET",
            "/admin/",
            Default::default(),
            &[("if-none-match", &etag)],
        )
        .await
        .unwrap();
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    let script = http.get("/admin/js/main.js").await.unwrap();
    assert_eq!(script.status, 200);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    let styles = http.get("/admin/styles.css").await.unwrap();
    assert_eq!(styles.headers["content-type"], "text/css; charset=utf-8");
    for missing in [
        "/admin/nope.js",
        "/admin/../Cargo.toml",
        "/admin/js/../../Cargo.toml",
    ] {
        assert_eq!(http.get(missing).await.unwrap().status, 404, "{missing}");
    }
    // A mistyped API path gets a problem body, not the UI's 404.
    let api = http.get("/admin/api/v1/nope").await.unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(api.json()["code"], "not_found");
}
