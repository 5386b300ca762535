//! Contract versions: components built against `eddy:handler@0.1.0` (kept
//! as built in `tests/fixtures/contract-0.1.0/`) load and run unchanged on
//! a server whose contract is 0.2.0, and what a deployment was built with
//! is recorded.

use std::sync::Arc;

use eddy_host::types::{Event, Handshake, SocketInfo, Timer};
use eddy_host::{Capabilities, Contract, EngineOptions, HandlerPool, HostEngine, Limits};
use eddy_tests::TestServer;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
const COUNTER_0_1: &[u8] = include_bytes!("../../fixtures/contract-0.1.0/counter.wasm");
const CHAT_0_1: &[u8] = include_bytes!("../../fixtures/contract-0.1.0/chat.wasm");

fn info(socket: &str) -> SocketInfo {
    SocketInfo {
        app: "old".into(),
        namespace: "/".into(),
        socket: socket.into(),
        data: None,
    }
}

#[tokio::test]
async fn a_component_built_against_0_1_runs_on_the_0_2_host() {
    let engine = HostEngine::new(EngineOptions {
        max_instances: 8,
        ..EngineOptions::default()
    })
    .unwrap();
    let loaded = engine.load(COUNTER_0_1).unwrap();
    assert_eq!(loaded.contract, Contract::V0_1);
    assert_eq!(loaded.sdk_version, None, "the 0.1 SDK stamped nothing");
    let pool = HandlerPool::new(&engine, &loaded, Limits::default())
        .await
        .unwrap();
    assert_eq!(pool.contract().version(), "0.1.0");

    let caps = Arc::new(crate::host::Recorder::default());
    let handshake = Handshake {
        auth: "{}".into(),
        query: vec![],
        headers: vec![],
        address: None,
        issued_ms: 0,
    };
    let dyn_caps: Arc<dyn Capabilities> = caps.clone();
    let accepted = pool
        .on_connect(dyn_caps.clone(), &info("s1"), &handshake)
        .await
        .unwrap();
    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(
        caps.emits.lock().pop().unwrap(),
        ("counter".into(), "[0]".into())
    );
    for want in 1..=3 {
        let event = Event {
            name: "increment".into(),
            args: "[]".into(),
            attachments: vec![],
            wants_ack: true,
        };
        let ack = pool
            .on_event(dyn_caps.clone(), &info("s1"), &event)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ack.args, format!("[{want}]"), "kv through 0.1's import");
    }
    // 0.1 has no timer hook: nothing runs, and the caller hears so.
    let timer = Timer {
        app: "old".into(),
        namespace: "/".into(),
        key: "k".into(),
        payload: "{}".into(),
        due_ms: 0,
    };
    assert!(!pool.on_timer(dyn_caps, &timer).await.unwrap());
}

#[tokio::test]
async fn a_0_1_app_serves_clients_and_its_deployment_says_what_built_it() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin.create_app("old", json!({})).await.unwrap();
    let report = admin.deploy("old", CHAT_0_1).await.unwrap();
    assert_eq!(report["deployment"]["contract"], "0.1.0", "{report}");
    assert_eq!(report["deployment"]["sdk_version"], json!(null));

    // The chat example as built for 0.1: join a room, speak, be heard.
    let (mut ada, reply) = server.join_app("old").await.unwrap();
    assert!(reply.starts_with("40{\"sid\""), "{reply}");
    let (mut bob, _) = server.join_app("old").await.unwrap();
    ada.send("421[\"join\",\"lobby\"]").await.unwrap();
    assert_eq!(ada.text().await.unwrap(), "431[1]");
    bob.send("422[\"join\",\"lobby\"]").await.unwrap();
    assert_eq!(bob.text().await.unwrap(), "432[2]");
    let joined = ada.text().await.unwrap();
    assert!(joined.starts_with("42[\"joined\""), "{joined}");
    ada.send("423[\"say\",\"lobby\",\"hi\"]").await.unwrap();
    assert_eq!(ada.text().await.unwrap(), "433[1]");
    let heard = bob.text().await.unwrap();
    assert!(
        heard.starts_with("42[\"message\"") && heard.contains("\"hi\""),
        "{heard}"
    );

    let listed = admin
        .call("GET", "/apps/old/deployments", None)
        .await
        .unwrap();
    assert_eq!(listed.json()[0]["contract"], "0.1.0", "{}", listed.body);
}
