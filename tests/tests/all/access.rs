//! Tenants, roles and scopes through the running server, on SQLite and on
//! PostgreSQL: the authorization matrix over every route of the admin
//! OpenAPI document, two tenants that can neither see nor touch each other,
//! quotas, and revocation and expiry within a second (on a second node too).
//!
//! The matrix's expectations are written here, apart from the server's own
//! table (`server/src/api/admin/access.rs`): a route the document lists and
//! [`REQUIRED`] does not fails the test, and a route the server's table
//! lacks answers 500 and fails it too.

use std::time::{Duration, Instant};

use eddy_tests::plugins::ECHO;
use eddy_tests::{Admin, EventStream, TestServer, postgres_schema, registries};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

/// The permission each route needs (`None`: any valid token), by the spec.
const REQUIRED: &[(&str, &str, Option<&str>)] = &[
    ("get", "/whoami", None),
    ("get", "/apps", Some("apps:read")),
    ("post", "/apps", Some("apps:create")),
    ("get", "/apps/{slug}", Some("apps:read")),
    ("patch", "/apps/{slug}", Some("apps:update")),
    ("delete", "/apps/{slug}", Some("apps:delete")),
    ("post", "/apps/{slug}/secret", Some("apps:rotate-secret")),
    ("get", "/apps/{slug}/deployments", Some("apps:read")),
    (
        "post",
        "/apps/{slug}/deployments",
        Some("deployments:write"),
    ),
    (
        "post",
        "/apps/{slug}/deployments/{version}/activate",
        Some("deployments:write"),
    ),
    ("post", "/apps/{slug}/rollback", Some("deployments:write")),
    ("get", "/apps/{slug}/config", Some("apps:read")),
    ("put", "/apps/{slug}/config/{name}", Some("config:write")),
    ("delete", "/apps/{slug}/config/{name}", Some("config:write")),
    ("get", "/apps/{slug}/stats", Some("apps:read")),
    ("get", "/apps/{slug}/kv", Some("apps:read")),
    ("get", "/apps/{slug}/logs", Some("apps:read")),
    ("get", "/apps/{slug}/logs/stream", Some("apps:read")),
    ("get", "/apps/{slug}/sockets", Some("apps:read")),
    (
        "delete",
        "/apps/{slug}/sockets/{id}",
        Some("sockets:disconnect"),
    ),
    ("get", "/stream", Some("apps:read")),
    ("get", "/cluster", Some("cluster:read")),
    ("get", "/platform", Some("platform:read")),
    ("get", "/audit", Some("apps:read")),
    ("get", "/tokens", Some("tokens:manage")),
    ("post", "/tokens", Some("tokens:manage")),
    ("delete", "/tokens/{id}", Some("tokens:manage")),
    ("get", "/tenants", Some("tenants:manage")),
    ("post", "/tenants", Some("tenants:manage")),
    ("get", "/tenants/{tenant}", Some("tenants:read")),
    ("patch", "/tenants/{tenant}", Some("tenants:manage")),
    ("delete", "/tenants/{tenant}", Some("tenants:manage")),
];

/// What each role may do, by the spec (the role list).
fn role_has(role: &str, permission: &str) -> bool {
    match role {
        "platform-admin" => true,
        "tenant-owner" => !matches!(
            permission,
            "tenants:manage" | "cluster:read" | "platform:read"
        ),
        "deployer" => matches!(
            permission,
            "apps:read" | "deployments:write" | "config:write"
        ),
        "viewer" => permission == "apps:read",
        other => panic!("unknown role {other}"),
    }
}

/// Two tenants with apps and one token of each role.
struct World {
    server: TestServer,
    platform: Admin,
    /// (name, role, token): `deployer` is scoped to `acme-web` alone.
    principals: Vec<(&'static str, &'static str, String)>,
}

async fn call(admin: &Admin, method: &str, path: &str, body: Value) -> (u16, Value) {
    let reply = admin.call(method, path, Some(body)).await.unwrap();
    let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, json)
}

async fn created(admin: &Admin, path: &str, body: Value) -> Value {
    let (status, json) = call(admin, "POST", path, body.clone()).await;
    assert_eq!(status, 201, "POST {path} {body}: {json}");
    json
}

/// The live stream (`GET /admin/api/v1/stream`) of `server`, opened with
/// `auth` (an `Authorization` header value).
async fn live_stream(server: &TestServer, auth: &str) -> EventStream {
    server
        .http()
        .stream("/admin/api/v1/stream", &[("authorization", auth)])
        .await
        .unwrap()
}

/// Whether `stream` ends (frames may still arrive first) within `limit`.
async fn ends_within(stream: &mut EventStream, limit: Duration) -> bool {
    let end = async { while stream.next_data().await.unwrap().is_some() {} };
    tokio::time::timeout(limit, end).await.is_ok()
}

async fn token(
    admin: &Admin,
    label: &str,
    role: &str,
    tenant: &str,
    apps: Option<&[&str]>,
) -> String {
    let mut body = json!({ "label": label, "role": role, "tenant": tenant });
    if let Some(apps) = apps {
        body["apps"] = json!(apps);
    }
    created(admin, "/tokens", body).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn world(registry: &Option<String>) -> World {
    let mut args = vec!["--no-demo"];
    if let Some(url) = registry {
        args.extend(["--database", url]);
    }
    let server = TestServer::start(BIN, &args).await.unwrap();
    let platform = server.admin();
    let big = json!({ "max_apps": 1000, "max_connections": 100_000_000u64,
        "max_handler_memory_mb": 1_000_000, "kv_quota_bytes": 1_000_000_000_000u64 });
    for tenant in ["acme", "globex"] {
        created(
            &platform,
            "/tenants",
            json!({ "slug": tenant, "quota": big }),
        )
        .await;
    }
    for (slug, tenant) in [
        ("acme-web", "acme"),
        ("acme-api", "acme"),
        ("gx-app", "globex"),
    ] {
        created(
            &platform,
            "/apps",
            json!({ "slug": slug, "tenant": tenant }),
        )
        .await;
    }
    let principals = vec![
        (
            "platform",
            "platform-admin",
            eddy_tests::ADMIN_TOKEN.to_owned(),
        ),
        (
            "owner",
            "tenant-owner",
            token(&platform, "acme owner", "tenant-owner", "acme", None).await,
        ),
        (
            "deployer",
            "deployer",
            token(
                &platform,
                "acme ci",
                "deployer",
                "acme",
                Some(&["acme-web"]),
            )
            .await,
        ),
        (
            "viewer",
            "viewer",
            token(&platform, "acme viewer", "viewer", "acme", None).await,
        ),
    ];
    World {
        server,
        platform,
        principals,
    }
}

/// What a call should get.
#[derive(Debug, PartialEq)]
enum Expect {
    /// Past authorization: the handler answered (not 401, 403 or the scope's 404).
    Allowed,
    /// 404 with the same words a missing target gets.
    Hidden,
    /// 403 naming the permission.
    Forbidden(&'static str),
}

/// One target of a route: the concrete path, whether the acme principals
/// have it in scope, and the 404 detail a hidden one gets.
struct Target {
    path: String,
    in_scope_for: fn(&str) -> bool,
    hidden_detail: Option<String>,
}

fn everyone(_: &str) -> bool {
    true
}
fn platform_only(name: &str) -> bool {
    name == "platform"
}
fn tenant_wide(name: &str) -> bool {
    name != "deployer"
}

/// Fresh things for calls that destroy their target, so each allowed call
/// has something of its own to delete.
async fn targets(world: &World, template: &str, method: &str, n: usize) -> Vec<Target> {
    let platform = &world.platform;
    let mut out = Vec::new();
    if template.contains("{slug}") {
        // Deleting an app deletes it: each deleting call gets fresh ones.
        let (own, sibling, other) = if method == "delete" && template == "/apps/{slug}" {
            let fresh = [
                (format!("doomed-{n}"), "acme"),
                (format!("doomed-sib-{n}"), "acme"),
                (format!("doomed-gx-{n}"), "globex"),
            ];
            for (slug, tenant) in &fresh {
                created(platform, "/apps", json!({ "slug": slug, "tenant": tenant })).await;
            }
            let [a, b, c] = fresh.map(|(slug, _)| slug);
            (a, b, c)
        } else {
            (
                "acme-web".to_owned(),
                "acme-api".to_owned(),
                "gx-app".to_owned(),
            )
        };
        let own_in_scope: fn(&str) -> bool = if own == "acme-web" {
            everyone
        } else {
            tenant_wide
        };
        for (slug, in_scope) in [
            (own.as_str(), own_in_scope),
            (sibling.as_str(), tenant_wide as fn(&str) -> bool),
            (other.as_str(), platform_only as fn(&str) -> bool),
        ] {
            out.push(Target {
                path: template
                    .replace("{slug}", slug)
                    .replace("{version}", "99")
                    .replace("{id}", "no-such-socket")
                    .replace("{name}", "SOME_NAME"),
                in_scope_for: in_scope,
                hidden_detail: Some(format!("app \"{slug}\" not found")),
            });
        }
    } else if template.contains("{tenant}") {
        let mut own = "acme".to_owned();
        let mut other = "globex".to_owned();
        if method == "delete" {
            own = format!("empty-{n}");
            other = format!("empty-other-{n}");
            for slug in [&own, &other] {
                created(platform, "/tenants", json!({ "slug": slug })).await;
            }
        }
        // Deleting an empty tenant is a platform call: its "own" is any.
        out.push(Target {
            path: template.replace("{tenant}", &own),
            in_scope_for: if method == "delete" {
                platform_only
            } else {
                everyone
            },
            hidden_detail: Some(format!("tenant \"{own}\" not found")),
        });
        out.push(Target {
            path: template.replace("{tenant}", &other),
            in_scope_for: platform_only,
            hidden_detail: Some(format!("tenant \"{other}\" not found")),
        });
    } else if template.contains("{id}") {
        let mine = created(
            platform,
            "/tokens",
            json!({ "label": format!("m{n}"),
            "role": "viewer", "tenant": "acme" }),
        )
        .await["id"]
            .clone();
        let theirs = created(
            platform,
            "/tokens",
            json!({ "label": format!("t{n}"),
            "role": "viewer", "tenant": "globex" }),
        )
        .await["id"]
            .clone();
        out.push(Target {
            path: template.replace("{id}", &mine.to_string()),
            in_scope_for: everyone,
            hidden_detail: Some(format!("admin token {mine} not found")),
        });
        out.push(Target {
            path: template.replace("{id}", &theirs.to_string()),
            in_scope_for: platform_only,
            hidden_detail: Some(format!("admin token {theirs} not found")),
        });
    } else {
        out.push(Target {
            path: template.to_owned(),
            in_scope_for: everyone,
            hidden_detail: None,
        });
    }
    out
}

/// A body that passes authorization and does no harm (or a harmless create).
fn body_for(method: &str, template: &str, n: usize) -> Value {
    match (method, template) {
        ("post", "/apps") => json!({ "slug": format!("made-{n}") }),
        ("post", "/tenants") => json!({ "slug": format!("made-{n}") }),
        ("post", "/tokens") => json!({ "label": format!("made-{n}"), "role": "viewer",
            "tenant": "acme" }),
        ("patch", _) => json!({}),
        ("put", "/apps/{slug}/config/{name}") => json!({ "value": format!("v{n}") }),
        _ => Value::Null,
    }
}

async fn matrix_on(registry: &Option<String>, backend: &str) {
    let world = world(registry).await;
    let doc = world
        .server
        .http()
        .get("/admin/api/v1/openapi.json")
        .await
        .unwrap();
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    let mut checked = 0;
    let mut n = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let Some((_, _, required)) = REQUIRED
                .iter()
                .find(|(m, p, _)| m == method && p == template)
            else {
                panic!(
                    "{method} {template} is in the OpenAPI document and not in the \
                     permission matrix: add it to REQUIRED (and to access.rs's ROUTES)"
                );
            };
            for (name, role, secret) in &world.principals {
                n += 1;
                for target in targets(&world, template, method, n).await {
                    let expect = if !(target.in_scope_for)(name) {
                        Expect::Hidden
                    } else {
                        match required {
                            Some(p) if !role_has(role, p) => Expect::Forbidden(p),
                            _ => Expect::Allowed,
                        }
                    };
                    let admin = Admin::with_token(world.server.addr, secret);
                    let method_uc = method.to_uppercase();
                    let (status, body) = if target.path.ends_with("/stream") {
                        let auth = format!("Bearer {secret}");
                        let stream = world
                            .server
                            .http()
                            .stream(
                                &format!("/admin/api/v1{}", target.path),
                                &[("authorization", &auth)],
                            )
                            .await
                            .unwrap();
                        if stream.status == 200 {
                            (200, Value::Null)
                        } else {
                            // A refusal is an ordinary body: read it whole.
                            let reply = admin.call("GET", &target.path, None).await.unwrap();
                            (
                                reply.status,
                                serde_json::from_str(&reply.body).unwrap_or(Value::Null),
                            )
                        }
                    } else {
                        let body = body_for(method, template, n);
                        let body = (!body.is_null()).then_some(body);
                        let reply = admin.call(&method_uc, &target.path, body).await.unwrap();
                        if method == "get" {
                            // HEAD runs the GET handler: it must need what GET needs.
                            let head = admin.call("HEAD", &target.path, None).await.unwrap();
                            assert_eq!(
                                head.status, reply.status,
                                "{backend}: {name} HEAD {}",
                                target.path
                            );
                        }
                        let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
                        (reply.status, json)
                    };
                    let context = format!(
                        "{backend}: {name} ({role}) {method_uc} {}: {status} {body}",
                        target.path
                    );
                    match expect {
                        Expect::Allowed => {
                            assert!(
                                !matches!(status, 401 | 403 | 500),
                                "expected allowed; {context}"
                            );
                            if status == 404 {
                                assert_ne!(
                                    body["detail"].as_str(),
                                    target.hidden_detail.as_deref(),
                                    "expected allowed, got the scope's 404; {context}"
                                );
                            }
                        }
                        Expect::Hidden => {
                            assert_eq!(status, 404, "expected hidden; {context}");
                            assert_eq!(
                                body["detail"].as_str(),
                                target.hidden_detail.as_deref(),
                                "a hidden target reads as a missing one; {context}"
                            );
                        }
                        Expect::Forbidden(permission) => {
                            assert_eq!(status, 403, "expected forbidden; {context}");
                            assert_eq!(body["permission"], permission, "{context}");
                            assert!(
                                body["detail"].as_str().unwrap().contains(permission),
                                "{context}"
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    for (method, path, _) in REQUIRED {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is in the matrix but not in the OpenAPI document"
        );
    }
    // A method a route does not have is 405 with Allow, before any handler.
    let put = world
        .platform
        .call("PUT", "/apps/acme-web", None)
        .await
        .unwrap();
    assert_eq!(put.status, 405, "{backend}: {}", put.body);
    assert_eq!(put.headers["allow"], "GET, PATCH, DELETE");
    // No token, and a wrong one: 401 everywhere (one route of each kind).
    for path in ["/apps", "/apps/acme-web", "/tenants/acme", "/whoami"] {
        let anonymous = world
            .server
            .http()
            .get(&format!("/admin/api/v1{path}"))
            .await
            .unwrap();
        assert_eq!(anonymous.status, 401, "{backend}: {path}");
        let wrong = Admin::with_token(world.server.addr, "et_not-a-token-at-all");
        assert_eq!(wrong.call("GET", path, None).await.unwrap().status, 401);
    }
    assert!(checked > 200, "{backend}: only {checked} calls checked");
    eprintln!("{backend}: {checked} calls checked");
}

#[tokio::test]
async fn every_admin_route_authorizes_every_role_and_scope() {
    for (backend, registry) in registries().await {
        matrix_on(&registry, backend).await;
    }
}

/// The "done when": two tenants, each owner deploys its own app and
/// can neither see nor touch the other's; a CI job deploys with an
/// app-scoped deployer token; the audit log names who did what.
#[tokio::test]
async fn two_tenants_neither_see_nor_touch_each_other() {
    for (backend, registry) in registries().await {
        let mut args = vec!["--no-demo"];
        if let Some(url) = &registry {
            args.extend(["--database", url]);
        }
        let server = TestServer::start(BIN, &args).await.unwrap();
        let platform = server.admin();
        let mut owners = Vec::new();
        for tenant in ["acme", "globex"] {
            created(&platform, "/tenants", json!({ "slug": tenant })).await;
            let secret = token(
                &platform,
                &format!("{tenant} owner"),
                "tenant-owner",
                tenant,
                None,
            )
            .await;
            let owner = Admin::with_token(server.addr, &secret);
            // The owner's new app lands in its tenant without naming it.
            let app = format!("{tenant}-chat");
            let made = created(&owner, "/apps", json!({ "slug": app })).await;
            assert_eq!(made["app"]["tenant"], tenant, "{backend}");
            owner.deploy(&app, &ECHO.bytes()).await.unwrap();
            owners.push((tenant, owner, app));
        }
        let (_, acme, acme_app) = &owners[0];
        let (_, globex, globex_app) = &owners[1];
        for (me, mine, theirs, other_tenant) in [
            (acme, acme_app, globex_app, "globex"),
            (globex, globex_app, acme_app, "acme"),
        ] {
            let (status, list) = call(me, "GET", "/apps", Value::Null).await;
            assert_eq!(status, 200);
            let slugs: Vec<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["slug"].as_str().unwrap())
                .collect();
            assert_eq!(slugs, [mine.as_str()], "{backend}");
            for (method, path) in [
                ("GET", format!("/apps/{theirs}")),
                ("DELETE", format!("/apps/{theirs}")),
                ("GET", format!("/apps/{theirs}/kv")),
                ("POST", format!("/apps/{theirs}/secret")),
            ] {
                let reply = me.call(method, &path, None).await.unwrap();
                assert_eq!(
                    reply.status, 404,
                    "{backend}: {method} {path}: {}",
                    reply.body
                );
            }
            let upload = me.upload(theirs, &ECHO.bytes(), "").await.unwrap();
            assert_eq!(upload.status, 404, "{backend}");
            // Nor can it place an app in the other tenant.
            let (status, _) = call(
                me,
                "POST",
                "/apps",
                json!({ "slug": "sneaky", "tenant": other_tenant }),
            )
            .await;
            assert_eq!(status, 404, "{backend}");
            // Nor mint a token for it, or a platform one.
            let (status, _) = call(
                me,
                "POST",
                "/tokens",
                json!({ "label": "x", "role": "viewer", "tenant": other_tenant }),
            )
            .await;
            assert_eq!(status, 404, "{backend}");
            let (status, body) = call(
                me,
                "POST",
                "/tokens",
                json!({ "label": "x", "role": "platform-admin" }),
            )
            .await;
            assert_eq!(status, 403, "{backend}: {body}");
        }
        // A CI job with an app-scoped deployer token deploys that app only.
        let ci_secret = created(
            acme,
            "/tokens",
            json!({ "label": "acme ci", "role": "deployer", "apps": [acme_app] }),
        )
        .await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let ci = Admin::with_token(server.addr, &ci_secret);
        let report = ci.deploy(acme_app, &ECHO.bytes()).await.unwrap();
        assert_eq!(report["deployment"]["version"], 2, "{backend}: {report}");
        let (status, body) = call(&ci, "DELETE", &format!("/apps/{acme_app}"), Value::Null).await;
        assert_eq!(status, 403, "{backend}");
        assert_eq!(body["permission"], "apps:delete");
        // The audit log names the principal and its token's label, and
        // each tenant reads only its own.
        let (_, log) = call(acme, "GET", "/audit", Value::Null).await;
        let log = log.as_array().unwrap();
        assert!(
            log.iter().any(|e| e["action"] == "deploy.activate"
                && e["actor"]
                    .as_str()
                    .unwrap()
                    .starts_with("acme ci (deployer, token ")),
            "{backend}: {log:?}"
        );
        assert!(
            log.iter().all(|e| e["app"] != globex_app.as_str()),
            "{backend}"
        );
        assert!(
            log.iter().all(|e| !e.to_string().contains("globex")),
            "{backend}: {log:?}"
        );
        // The listing of tokens is the tenant's only.
        let (_, tokens) = call(acme, "GET", "/tokens", Value::Null).await;
        assert!(
            tokens
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["tenant"] == "acme"),
            "{backend}: {tokens}"
        );
        // whoami says who it is and what it may do.
        let (_, me) = call(&ci, "GET", "/whoami", Value::Null).await;
        assert_eq!(me["role"], "deployer");
        assert_eq!(me["apps"], json!([acme_app]));
        assert_eq!(
            me["permissions"],
            json!(["apps:read", "deployments:write", "config:write"])
        );
        // The live stream carries the tenant's apps only, and no cluster view.
        let auth = format!(
            "Bearer {}",
            token(&platform, "acme watcher", "viewer", "acme", None).await
        );
        let mut live = live_stream(&server, &auth).await;
        let frame = live.next_json().await.unwrap();
        assert!(frame["cluster"].is_null(), "{backend}");
        let apps: Vec<&str> = frame["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap())
            .collect();
        assert!(!apps.contains(&globex_app.as_str()), "{backend}: {apps:?}");
        // A viewer reads its apps' history, not the tenant's tokens' (nor
        // which platform admin did what).
        let viewer = Admin::with_token(server.addr, auth.trim_start_matches("Bearer "));
        let (_, log) = call(&viewer, "GET", "/audit", Value::Null).await;
        let log = log.as_array().unwrap();
        assert!(!log.is_empty(), "{backend}");
        assert!(
            log.iter().all(|e| e["app"].is_string()),
            "{backend}: {log:?}"
        );
        let (_, owner_log) = call(acme, "GET", "/audit", Value::Null).await;
        assert!(
            owner_log
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "token.create"),
            "{backend}"
        );
        assert!(
            !owner_log.to_string().contains("platform-admin, token"),
            "{backend}: platform admins' labels stay theirs"
        );
    }
}

/// Each open stream costs a registry read a second: one token holds at most
/// eight on a node, and a closed one gives its place back.
#[tokio::test]
async fn a_token_holds_a_bounded_number_of_streams() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let auth = format!("Bearer {}", eddy_tests::ADMIN_TOKEN);
    let mut open = Vec::new();
    for _ in 0..8 {
        let stream = live_stream(&server, &auth).await;
        assert_eq!(stream.status, 200);
        open.push(stream);
    }
    let refused = server.admin().call("GET", "/stream", None).await.unwrap();
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stream = live_stream(&server, &auth).await;
        if stream.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_tenant_cannot_pass_its_quota_by_creating_apps_or_raising_limits() {
    for (backend, registry) in registries().await {
        let mut args = vec!["--no-demo"];
        if let Some(url) = &registry {
            args.extend(["--database", url]);
        }
        let server = TestServer::start(BIN, &args).await.unwrap();
        let platform = server.admin();
        created(
            &platform,
            "/tenants",
            json!({ "slug": "small",
            "quota": { "max_apps": 2, "max_connections": 150 } }),
        )
        .await;
        let owner = Admin::with_token(
            server.addr,
            &token(&platform, "small owner", "tenant-owner", "small", None).await,
        );
        created(
            &owner,
            "/apps",
            json!({ "slug": "a", "limits": { "max_connections": 100 } }),
        )
        .await;
        // A second app over the connection total, then one past the app count.
        let (status, body) = call(
            &owner,
            "POST",
            "/apps",
            json!({ "slug": "b", "limits": { "max_connections": 51 } }),
        )
        .await;
        assert_eq!(status, 422, "{backend}: {body}");
        assert_eq!(body["code"], "quota_exceeded");
        assert_eq!(body["ceiling"], "tenant quota max_connections");
        created(
            &owner,
            "/apps",
            json!({ "slug": "b", "limits": { "max_connections": 50 } }),
        )
        .await;
        let (status, body) = call(
            &owner,
            "POST",
            "/apps",
            json!({ "slug": "c", "limits": { "max_connections": 1 } }),
        )
        .await;
        assert_eq!(status, 422, "{backend}");
        assert_eq!(body["ceiling"], "tenant quota max_apps");
        // Raising a limit past what is left, or past the platform ceiling.
        let (status, body) = call(
            &owner,
            "PATCH",
            "/apps/a",
            json!({ "limits": { "max_connections": 101 } }),
        )
        .await;
        assert_eq!(status, 422, "{backend}");
        assert_eq!(body["ceiling"], "tenant quota max_connections");
        assert!(body["detail"].as_str().unwrap().contains("151"), "{body}");
        let (status, body) = call(
            &owner,
            "PATCH",
            "/apps/a",
            json!({ "limits": { "max_connections": 5_000_000 } }),
        )
        .await;
        assert_eq!(status, 422, "{backend}");
        assert_eq!(body["ceiling"], "platform ceiling max_connections");
        // The owner cannot raise its own quota; the platform admin can.
        let (status, body) = call(
            &owner,
            "PATCH",
            "/tenants/small",
            json!({ "quota": { "max_apps": 10 } }),
        )
        .await;
        assert_eq!(status, 403, "{backend}");
        assert_eq!(body["permission"], "tenants:manage");
        let (status, body) = call(
            &platform,
            "PATCH",
            "/tenants/small",
            json!({ "quota": { "max_connections": 100 } }),
        )
        .await;
        assert_eq!(status, 422, "{backend}: lowering below use is refused");
        assert_eq!(body["ceiling"], "tenant quota max_connections");
        // The owner reads its quota and use.
        let (status, tenant) = call(&owner, "GET", "/tenants/small", Value::Null).await;
        assert_eq!(status, 200);
        assert_eq!(tenant["usage"]["apps"], 2, "{tenant}");
        assert_eq!(tenant["usage"]["max_connections"], 150);
        assert_eq!(tenant["quota"]["max_apps"], 2);
    }
}

/// A revoked or expired token stops working within a second, on the node
/// that revoked it and on another one of the cluster, and an open stream
/// ends with it.
#[tokio::test]
async fn revocation_and_expiry_take_effect_within_a_second_on_every_node() {
    let Ok(base) = std::env::var("EDDY_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets EDDY_TEST_POSTGRES"
        );
        return;
    };
    let database = postgres_schema(&base).await;
    let args = ["--no-demo", "--database", &database];
    let one = TestServer::start(BIN, &args).await.unwrap();
    let two = TestServer::start(BIN, &args).await.unwrap();
    let platform = one.admin();
    created(&platform, "/tenants", json!({ "slug": "acme" })).await;
    let made = created(
        &platform,
        "/tokens",
        json!({ "label": "revoked soon", "role": "viewer", "tenant": "acme" }),
    )
    .await;
    let secret = made["token"].as_str().unwrap().to_owned();
    let on_two = Admin::with_token(two.addr, &secret);
    assert_eq!(on_two.call("GET", "/apps", None).await.unwrap().status, 200);
    let auth = format!("Bearer {secret}");
    let mut stream = live_stream(&two, &auth).await;
    assert_eq!(stream.status, 200);
    stream.next_data().await.unwrap();

    let (status, _) = call(
        &platform,
        "DELETE",
        &format!("/tokens/{}", made["id"]),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let revoked_at = Instant::now();
    assert_eq!(on_two.call("GET", "/apps", None).await.unwrap().status, 401);
    // The stream ends within the recheck period (500 ms; a frame may still
    // arrive). The bound leaves room for a loaded CI machine.
    let ended = ends_within(&mut stream, Duration::from_millis(1500)).await;
    assert!(ended, "the stream outlived its token by 1.5 s");
    assert!(revoked_at.elapsed() < Duration::from_millis(1500));

    // Expiry: refused on both nodes once it passes, and an open stream ends.
    let made = created(
        &platform,
        "/tokens",
        json!({ "label": "brief", "role": "viewer",
        "tenant": "acme", "expires_in_seconds": 2 }),
    )
    .await;
    let expires_at = Instant::now() + Duration::from_secs(2);
    let brief = made["token"].as_str().unwrap();
    let on_one = Admin::with_token(one.addr, brief);
    let on_two = Admin::with_token(two.addr, brief);
    assert_eq!(
        on_two.call("GET", "/whoami", None).await.unwrap().status,
        200
    );
    let auth = format!("Bearer {brief}");
    let mut stream = live_stream(&one, &auth).await;
    assert_eq!(stream.status, 200);
    stream.next_data().await.unwrap();
    let ended = ends_within(&mut stream, Duration::from_millis(3500)).await;
    assert!(ended, "the stream outlived its token's expiry");
    let late = Instant::now().saturating_duration_since(expires_at);
    assert!(
        late < Duration::from_millis(1500),
        "ended {late:?} after expiry"
    );
    assert_eq!(
        on_one.call("GET", "/whoami", None).await.unwrap().status,
        401
    );
    assert_eq!(
        on_two.call("GET", "/whoami", None).await.unwrap().status,
        401
    );
}
