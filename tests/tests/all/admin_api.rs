//! The admin API: authentication, the OpenAPI document, and every kind of
//! bad input the issue lists. Each gets a clear 4xx problem+json, and
//! nothing half-written stays behind.

use eddy_tests::TestServer;
use eddy_tests::plugins::{COUNTER, ECHO, HOSTILE_BAD_IMPORT};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

async fn server() -> TestServer {
    TestServer::start(BIN, &["--no-demo"]).await.unwrap()
}

fn problem(reply: &eddy_tests::Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    let body = reply.json();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let server = server().await;
    let http = server.http();
    problem(
        &http.get("/admin/api/v1/apps").await.unwrap(),
        401,
        "unauthorized",
    );
    let wrong = http
        .request(
            "GET",
            "/admin/api/v1/apps",
            Default::default(),
            &[("authorization", "Bearer et_wrong")],
        )
        .await
        .unwrap();
    let body = problem(&wrong, 401, "unauthorized");
    assert!(body["detail"].as_str().unwrap().contains("not valid"));
    assert_eq!(wrong.headers["www-authenticate"], "Bearer");
    let ok = server.admin().call("GET", "/apps", None).await.unwrap();
    assert_eq!((ok.status, ok.json()), (200, json!([])));

    // A new token works; its clear text is only in the creation reply.
    let created = server
        .admin()
        .call("POST", "/tokens", Some(json!({ "label": "ci" })))
        .await
        .unwrap();
    assert_eq!(created.status, 201);
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");
    let with_new = http
        .request(
            "GET",
            "/admin/api/v1/apps",
            Default::default(),
            &[("authorization", &auth)],
        )
        .await
        .unwrap();
    assert_eq!(with_new.status, 200);
}

#[tokio::test]
async fn the_openapi_document_is_generated_from_the_handlers() {
    let server = server().await;
    let reply = server
        .http()
        .get("/admin/api/v1/openapi.json")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/apps",
        "/apps/{slug}",
        "/apps/{slug}/deployments",
        "/apps/{slug}/rollback",
        "/audit",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["AppLimits"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["admin_token"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn bad_app_requests_are_refused_clearly() {
    let server = server().await;
    let admin = server.admin();
    let http = server.http();
    let auth = format!("Bearer {}", eddy_tests::ADMIN_TOKEN);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let raw =
        |body: &'static str| http.request("POST", "/admin/api/v1/apps", body.into(), &headers);

    problem(&raw("{not json").await.unwrap(), 400, "invalid_json");
    let unknown = problem(
        &raw(r#"{"slug":"a","colour":"blue"}"#).await.unwrap(),
        422,
        "invalid_json",
    );
    assert!(unknown["detail"].as_str().unwrap().contains("colour"));
    let text_limit = raw(r#"{"slug":"a","limits":{"max_connections":"lots"}}"#)
        .await
        .unwrap();
    assert!(
        problem(&text_limit, 422, "invalid_json")["detail"]
            .as_str()
            .unwrap()
            .contains("max_connections")
    );
    let range = admin
        .call(
            "POST",
            "/apps",
            Some(json!({"slug":"a","limits":{"handler_memory_mb":0}})),
        )
        .await
        .unwrap();
    assert!(
        problem(&range, 422, "invalid")["detail"]
            .as_str()
            .unwrap()
            .contains("handler_memory_mb")
    );
    for slug in ["Has Caps", "-dash", "white space", "", "ü"] {
        let reply = admin
            .call("POST", "/apps", Some(json!({ "slug": slug })))
            .await
            .unwrap();
        problem(&reply, 422, "invalid");
    }
    assert_eq!(
        admin
            .call("POST", "/apps", Some(json!({"slug":"taken"})))
            .await
            .unwrap()
            .status,
        201
    );
    problem(
        &admin
            .call("POST", "/apps", Some(json!({"slug":"taken"})))
            .await
            .unwrap(),
        409,
        "conflict",
    );
    problem(
        &admin.call("GET", "/apps/ghost", None).await.unwrap(),
        404,
        "not_found",
    );
    problem(
        &admin.call("DELETE", "/apps/ghost", None).await.unwrap(),
        404,
        "not_found",
    );
    problem(
        &admin
            .call("PATCH", "/apps/taken", Some(json!({"limits":{"nope":1}})))
            .await
            .unwrap(),
        422,
        "invalid_json",
    );
    // Only the one valid app was written.
    let apps = admin.call("GET", "/apps", None).await.unwrap().json();
    assert_eq!(apps.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_uploads_name_the_step_and_change_nothing() {
    let dir = eddy_tests::server::fresh_dir("upload-limit");
    let config = dir.join("eddy.toml");
    std::fs::write(&config, "max_component_bytes = 400000\n").unwrap();
    let server = TestServer::start(BIN, &["--no-demo", "--config", config.to_str().unwrap()])
        .await
        .unwrap();
    let admin = server.admin();
    admin.app_with("app", ECHO, json!({})).await.unwrap();
    let tiny = admin
        .create_app("tiny", json!({ "handler_memory_mb": 1 }))
        .await
        .unwrap();
    let _ = tiny;

    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        (
            "app",
            b"not a wasm file at all".to_vec(),
            422,
            "validate",
            "not a WebAssembly file",
        ),
        (
            "app",
            b"\0asm\x01\0\0\0".to_vec(),
            422,
            "validate",
            "core WebAssembly module",
        ),
        (
            "app",
            b"\0asm\x0d\0\x01\0".to_vec(),
            422,
            "validate",
            "does not export",
        ),
        (
            "app",
            HOSTILE_BAD_IMPORT.bytes(),
            422,
            "validate",
            "evil:net/net",
        ),
        ("app", vec![0; 500_000], 413, "size", "limit"),
        ("app", Vec::new(), 422, "size", "empty"),
        // The echo component does not fit in a 1 MiB memory: its trial instantiation fails.
        ("tiny", ECHO.bytes(), 422, "instantiate", "failed to start"),
    ];
    for (slug, bytes, status, step, says) in cases {
        let reply = admin.upload(slug, &bytes, "").await.unwrap();
        let code = if status == 413 {
            "too_large"
        } else {
            "deploy_refused"
        };
        let body = problem(&reply, status, code);
        assert_eq!(body["step"], step, "{body}");
        assert!(body["detail"].as_str().unwrap().contains(says), "{body}");
    }
    let deployments = admin
        .call("GET", "/apps/app/deployments", None)
        .await
        .unwrap()
        .json();
    assert_eq!(
        deployments.as_array().unwrap().len(),
        1,
        "only the good version: {deployments}"
    );
    assert_eq!(deployments[0]["status"], "active");
    let tiny_deployments = admin
        .call("GET", "/apps/tiny/deployments", None)
        .await
        .unwrap()
        .json();
    assert_eq!(tiny_deployments, json!([]));
    let audit = admin
        .call("GET", "/audit?app=app", None)
        .await
        .unwrap()
        .json();
    let refused: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deploy.refused")
        .collect();
    assert_eq!(refused.len(), 6, "{audit}");
    assert_eq!(refused.last().unwrap()["detail"]["step"], "validate");
    // The running version never noticed.
    let mut ws = server
        .ws("/apps/app/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    ws.socketio_handshake().await.unwrap();
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn versions_activate_and_roll_back() {
    let server = server().await;
    let admin = server.admin();
    admin.app_with("app", ECHO, json!({})).await.unwrap();
    let stored = admin
        .upload("app", &COUNTER.bytes(), "activate=false&notes=counter%20v2")
        .await
        .unwrap();
    assert_eq!(stored.status, 201);
    assert_eq!(stored.json()["activated"], false);
    assert_eq!(stored.json()["deployment"]["notes"], "counter v2");
    let report = stored.json();
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["size", "validate", "instantiate", "store", "activate"]
    );
    let app = admin.call("GET", "/apps/app", None).await.unwrap().json();
    assert_eq!(app["active_version"], 1);
    assert_eq!(
        admin
            .call("POST", "/apps/app/deployments/2/activate", None)
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        admin.call("GET", "/apps/app", None).await.unwrap().json()["active_version"],
        2
    );
    let back = admin
        .call("POST", "/apps/app/rollback", None)
        .await
        .unwrap();
    assert_eq!(
        (back.status, back.json()["version"].as_i64()),
        (200, Some(1))
    );
    problem(
        &admin
            .call("POST", "/apps/app/deployments/9/activate", None)
            .await
            .unwrap(),
        404,
        "not_found",
    );
    admin.create_app("empty", json!({})).await.unwrap();
    problem(
        &admin
            .call("POST", "/apps/empty/rollback", None)
            .await
            .unwrap(),
        422,
        "invalid",
    );
    // An app without a version refuses clients with a reason.
    let mut ws = server
        .ws("/apps/empty/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    ws.text().await.unwrap();
    ws.send("40").await.unwrap();
    assert_eq!(
        ws.text().await.unwrap(),
        "44{\"message\":\"this app has no active deployment\"}"
    );
}

#[tokio::test]
async fn deleting_an_app_disconnects_its_clients_and_deletes_its_data() {
    let server = server().await;
    let admin = server.admin();
    admin.app_with("doomed", COUNTER, json!({})).await.unwrap();
    admin.app_with("kept", ECHO, json!({})).await.unwrap();
    let mut doomed = server
        .ws("/apps/doomed/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    doomed.text().await.unwrap();
    doomed.send("40").await.unwrap();
    assert!(doomed.text().await.unwrap().starts_with("40"));
    assert_eq!(doomed.text().await.unwrap(), "42[\"counter\",0]");
    doomed.send("421[\"increment\"]").await.unwrap();
    assert_eq!(doomed.text().await.unwrap(), "42[\"counter\",1]");
    let kv = admin
        .call("GET", "/apps/doomed/kv", None)
        .await
        .unwrap()
        .json();
    assert_eq!(kv["entries"][0]["key"], "counter");
    assert_eq!(kv["entries"][0]["preview"], "1");
    let stats = admin
        .call("GET", "/apps/doomed/stats", None)
        .await
        .unwrap()
        .json();
    assert_eq!(stats["connections"], 1);
    assert!(stats["handler"]["calls"].as_u64().unwrap() >= 1);

    assert_eq!(
        admin
            .call("DELETE", "/apps/doomed", None)
            .await
            .unwrap()
            .status,
        204
    );
    let close = doomed.closed().await.unwrap();
    assert_eq!(close, Some((1000, "forced server close".into())));
    problem(
        &admin.call("GET", "/apps/doomed", None).await.unwrap(),
        404,
        "not_found",
    );
    let gone = server
        .http()
        .get("/apps/doomed/socket.io/?EIO=4&transport=polling")
        .await
        .unwrap();
    assert_eq!(gone.status, 404);
    // A new app with the same name starts empty.
    admin.app_with("doomed", COUNTER, json!({})).await.unwrap();
    let mut again = server
        .ws("/apps/doomed/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    again.text().await.unwrap();
    again.send("40").await.unwrap();
    again.text().await.unwrap();
    assert_eq!(again.text().await.unwrap(), "42[\"counter\",0]");
    let mut kept = server
        .ws("/apps/kept/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    kept.socketio_handshake().await.unwrap();
}
