//! The tenant server API: what an app's own backend calls with the app's
//! secret: emit to rooms, sockets and the namespace (and wait for a
//! socket's ack), read rooms, disconnect sockets. Wrong or missing secrets
//! are refused.

use eddy_tests::plugins::{CHAT, ECHO};
use eddy_tests::ws::Frame;
use eddy_tests::{RawWs, TestServer};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

async fn connect(server: &TestServer, app: &str) -> (RawWs, String) {
    let (ws, connect) = server.join_app(app).await.unwrap();
    let sid: serde_json::Value = serde_json::from_str(
        connect
            .strip_prefix("40")
            .unwrap_or_else(|| panic!("{connect}")),
    )
    .unwrap();
    (ws, sid["sid"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn emits_reach_rooms_sockets_and_namespaces() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    let secret = admin.app_with("chat", CHAT, json!({})).await.unwrap();
    let (mut a, a_id) = connect(&server, "chat").await;
    let (mut b, _) = connect(&server, "chat").await;
    a.send("421[\"join\",\"lobby\"]").await.unwrap();
    assert_eq!(a.text().await.unwrap(), "431[1]");

    let call = |body| admin.tenant("chat", &secret, "POST", "/emit", Some(body));
    let r = call(json!({ "room": "lobby", "event": "news", "args": [1, {"x": true}] }))
        .await
        .unwrap();
    assert_eq!((r.status, r.json()["delivered"].as_u64()), (200, Some(1)));
    assert_eq!(a.text().await.unwrap(), "42[\"news\",1,{\"x\":true}]");
    let r = call(json!({ "event": "all", "except": [a_id] }))
        .await
        .unwrap();
    assert_eq!(r.json()["delivered"], 1);
    assert_eq!(b.text().await.unwrap(), "42[\"all\"]");
    let r = call(json!({ "socket": a_id, "event": "direct", "args": ["hi"] }))
        .await
        .unwrap();
    assert_eq!(r.json()["delivered"], 1);
    assert_eq!(a.text().await.unwrap(), "42[\"direct\",\"hi\"]");

    let room = admin
        .tenant("chat", &secret, "GET", "/rooms/lobby", None)
        .await
        .unwrap();
    assert_eq!(room.json()["size"], 1);
    assert_eq!(room.json()["members"], json!([a_id]));

    let bad = call(json!({ "event": "connect" })).await.unwrap();
    assert_eq!(
        (bad.status, bad.json()["code"].as_str()),
        (422, Some("invalid_event"))
    );
    let bad = call(json!({ "room": "a", "socket": "b", "event": "x" }))
        .await
        .unwrap();
    assert_eq!(bad.status, 422);
    let bad = call(json!({ "event": "x", "colour": "blue" }))
        .await
        .unwrap();
    assert_eq!(bad.status, 422, "unknown fields are refused: {}", bad.body);
}

#[tokio::test]
async fn a_backend_can_wait_for_a_clients_ack() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    let secret = admin.app_with("echo", ECHO, json!({})).await.unwrap();
    let (mut ws, id) = connect(&server, "echo").await;
    assert_eq!(ws.text().await.unwrap(), "42[\"auth\",{}]");
    let waiting = tokio::spawn({
        let admin = server.admin();
        let (secret, id) = (secret.clone(), id.clone());
        async move {
            let body =
                json!({ "socket": id, "event": "question", "args": [21], "ack_timeout_ms": 3000 });
            admin
                .tenant("echo", &secret, "POST", "/emit", Some(body))
                .await
                .unwrap()
        }
    });
    assert_eq!(ws.text().await.unwrap(), "420[\"question\",21]");
    ws.send("430[{\"answer\":42}]").await.unwrap();
    let reply = waiting.await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["ack"], json!([{"answer": 42}]));

    // No answer: a clear timeout.
    let body = json!({ "socket": id, "event": "question", "ack_timeout_ms": 200 });
    let reply = admin
        .tenant("echo", &secret, "POST", "/emit", Some(body))
        .await
        .unwrap();
    assert_eq!(
        (reply.status, reply.json()["code"].as_str()),
        (504, Some("ack_timeout"))
    );
    // An ack that arrives late is ignored, and the socket lives on.
    assert_eq!(ws.text().await.unwrap(), "421[\"question\"]");
    ws.send("431[]").await.unwrap();
    ws.send("4299[\"message-with-ack\",\"still here\"]")
        .await
        .unwrap();
    assert_eq!(ws.text().await.unwrap(), "4399[\"still here\"]");
}

#[tokio::test]
async fn a_backend_can_disconnect_a_socket() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    let secret = admin.app_with("echo", ECHO, json!({})).await.unwrap();
    let (mut ws, id) = connect(&server, "echo").await;
    ws.text().await.unwrap();
    let reply = admin
        .tenant("echo", &secret, "DELETE", &format!("/sockets/{id}"), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(ws.next().await.unwrap(), Frame::Text("41".into()));
    let again = admin
        .tenant("echo", &secret, "DELETE", &format!("/sockets/{id}"), None)
        .await
        .unwrap();
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn wrong_or_missing_secrets_are_refused() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    let secret = admin.create_app("one", json!({})).await.unwrap();
    let other = admin.create_app("two", json!({})).await.unwrap();
    let body = json!({ "event": "x" });
    for (slug, key) in [
        ("one", "sk_nope"),
        ("one", other.as_str()),
        ("two", secret.as_str()),
        ("ghost", secret.as_str()),
    ] {
        let reply = admin
            .tenant(slug, key, "POST", "/emit", Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(reply.status, 401, "{slug}");
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    let none = server
        .http()
        .post("/apps/one/api/v1/emit", body.to_string())
        .await
        .unwrap();
    assert_eq!(none.status, 401);
    // The secret works once rotated, and the old one stops working.
    let rotated = admin
        .call("POST", "/apps/one/secret", None)
        .await
        .unwrap()
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin
            .tenant("one", &secret, "POST", "/emit", Some(body.clone()))
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        admin
            .tenant("one", &rotated, "POST", "/emit", Some(body))
            .await
            .unwrap()
            .status,
        200
    );
}
