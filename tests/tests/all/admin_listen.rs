//! `admin_listen`: the admin UI, the admin API and `/metrics` on an
//! internal address only, the public one answering them 404 like any
//! unknown path; clients on the public one only; probes on both.

use bytes::Bytes;
use eddy_tests::proxy::Proxy;
use eddy_tests::{ADMIN_TOKEN, Http, Reply, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
const CLIENT: &str = "/apps/demo/socket.io/?EIO=4&transport=polling";

async fn get(http: &Http, path: &str) -> Reply {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    http.request("GET", path, Bytes::new(), &[("authorization", &auth)])
        .await
        .unwrap()
}

fn assert_not_found(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 404, "{what}: {}", reply.body);
    assert_eq!(
        reply.headers["content-type"], "application/problem+json",
        "{what}"
    );
    assert_eq!(reply.json()["code"], "not_found", "{what}");
}

#[tokio::test]
async fn the_admin_surface_is_served_on_the_admin_address_only() {
    let server = TestServer::start(BIN, &["--admin-listen", "127.0.0.1:0"])
        .await
        .unwrap();
    assert_ne!(server.addr, server.admin_addr);
    let (public, admin) = (server.http(), server.admin_http());

    for path in ["/admin/api/v1/apps", "/admin/", "/admin", "/metrics"] {
        assert_not_found(&get(&public, path).await, &format!("public {path}"));
    }
    let apps = get(&admin, "/admin/api/v1/apps").await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    assert!(apps.body.contains("\"demo\""), "{}", apps.body);
    let ui = get(&admin, "/admin/").await;
    assert_eq!(ui.status, 200);
    assert!(ui.body.contains("<html"), "{}", ui.body);
    let metrics = get(&admin, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("eddy_"), "{}", metrics.body);

    // Clients (and the tenant API) only where the proxy sends them.
    assert_eq!(get(&public, CLIENT).await.status, 200);
    assert_not_found(&get(&admin, CLIENT).await, "admin: a client");
    // Probes on both: a load balancer watches one, a supervisor the other.
    for http in [&public, &admin] {
        for probe in ["/healthz", "/readyz"] {
            assert_eq!(get(http, probe).await.status, 200, "{probe}");
        }
    }
}

/// Without `admin_listen` one address serves everything, as before.
#[tokio::test]
async fn without_admin_listen_one_address_serves_everything() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    assert_eq!(server.addr, server.admin_addr);
    let http = server.http();
    for path in [
        "/admin/api/v1/apps",
        "/admin/",
        "/metrics",
        CLIENT,
        "/healthz",
    ] {
        assert_eq!(get(&http, path).await.status, 200, "{path}");
    }
}

/// `deploy/nginx/console.conf`, the tenants' way in when `admin_listen` is
/// set: the admin UI and API through it (a tenant's token sees its tenant),
/// `/metrics` and the client endpoints not.
#[tokio::test]
async fn the_console_proxy_forwards_the_admin_surface_and_keeps_metrics_inside() {
    let server = TestServer::start(BIN, &["--admin-listen", "127.0.0.1:0"])
        .await
        .unwrap();
    let console = Proxy::console(&[server.admin_addr]).await.unwrap();
    let http = console.http();
    let ui = get(&http, "/admin/").await;
    assert_eq!(ui.status, 200, "{}", ui.body);
    assert!(ui.body.contains("<html"), "{}", ui.body);
    let apps = get(&http, "/admin/api/v1/apps").await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    let anonymous = http.get("/admin/api/v1/apps").await.unwrap();
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    for path in ["/metrics", CLIENT] {
        let reply = get(&http, path).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert!(!reply.body.contains("eddy_"), "{path}: {}", reply.body);
    }
}
