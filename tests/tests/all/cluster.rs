//! Three real `eddy` processes on one PostgreSQL registry, joined by Redis or
//! NATS, behind nginx or HAProxy run from `deploy/`'s configs. Clients
//! connect through the proxy from different addresses (so they land on
//! different nodes) and must each get every broadcast exactly once; a
//! deploy through one node changes every node without dropping a socket;
//! the tenant API publishes through any node; a killed node's clients
//! reconnect through the proxy to the others while the others' clients lose
//! nothing; a restarted Redis brings cross-node delivery back.
//!
//! Needs `EDDY_TEST_POSTGRES` and `EDDY_TEST_REDIS` / `EDDY_TEST_NATS`
//! (`.ci/run` sets them), nginx and HAProxy (`./scripts/test` installs
//! them as root), and `redis-server` for the restart.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use eddy_tests::plugins::{CHAT, ECHO};
use eddy_tests::proxy::{Kind, Proxy, deploy_file, fill};
use eddy_tests::ws::{Frame, LiveWs};
use eddy_tests::{Admin, RawWs, TestServer, postgres_schema};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
const NODES: usize = 3;
const CLIENTS: usize = 9;

fn env(var: &str) -> Option<String> {
    let value = std::env::var(var).ok();
    if value.is_none() {
        eprintln!("{var} is not set: this cluster test does not run here (CI sets it)");
    }
    value
}

struct Cluster {
    nodes: Vec<Option<TestServer>>,
    addrs: Vec<SocketAddr>,
    proxy: Proxy,
    secret: String,
}

impl Cluster {
    async fn start(broker: &str, proxy: Kind) -> anyhow::Result<Self> {
        let database = postgres_schema(&std::env::var("EDDY_TEST_POSTGRES")?).await;
        let prefix = format!("t{:08x}", rand::random::<u32>());
        let mut nodes = Vec::new();
        for i in 0..NODES {
            let name = format!("node-{i}");
            let args = [
                "--no-demo",
                "--database",
                &database,
                "--broker",
                broker,
                "--broker-prefix",
                &prefix,
                "--node-name",
                &name,
                // As deploy/eddy.toml: the admin API off the proxied port.
                "--admin-listen",
                "127.0.0.1:0",
                // Three nodes, a proxy and a broker on two cores beside the
                // rest of the suite: the harness's 200 ms ping timeout cut
                // a socket on a clean-clone CI run. Not what this tests.
                "--ping-interval-ms",
                "1000",
                "--ping-timeout-ms",
                "3000",
            ];
            nodes.push(Some(TestServer::start(BIN, &args).await?));
        }
        let addrs: Vec<SocketAddr> = nodes.iter().flatten().map(|n| n.addr).collect();
        let proxy = Proxy::start(proxy, &addrs).await?;
        let mut cluster = Self {
            nodes,
            addrs,
            proxy,
            secret: String::new(),
        };
        cluster.wait_for_nodes(NODES).await?;
        // The proxy does not reach the admin API; an operator calls a node's.
        let refused = Admin::new(cluster.proxy.addr)
            .call("GET", "/apps", None)
            .await?;
        anyhow::ensure!(
            refused.status == 404,
            "the admin API through the proxy: {refused:?}"
        );
        let admin = cluster.nodes[0].as_ref().context("node 0")?.admin();
        cluster.secret = admin
            .create_app("chat", json!({ "max_events_per_second": 10000 }))
            .await?;
        admin.deploy("chat", &ECHO.bytes()).await?;
        cluster.wait_for_version(1).await?;
        Ok(cluster)
    }

    fn live(&self) -> impl Iterator<Item = (usize, &TestServer)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
    }

    /// Every live node sees `n` nodes (itself included).
    async fn wait_for_nodes(&self, n: usize) -> anyhow::Result<()> {
        eventually("every node sees the others", || async {
            for (_, node) in self.live() {
                let view = node.admin().call("GET", "/cluster", None).await?.json();
                if view["nodes"].as_array().map_or(0, Vec::len) != n {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }

    async fn wait_for_version(&self, version: u64) -> anyhow::Result<()> {
        eventually(&format!("every node runs version {version}"), || async {
            for (_, node) in self.live() {
                let live = node
                    .metric("eddy_app_active_version{app=\"chat\"}")
                    .await
                    .unwrap_or(0);
                if live != version {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }

    /// Which node each socket id is on.
    async fn placement(&self) -> anyhow::Result<HashMap<String, usize>> {
        let mut at = HashMap::new();
        for (i, node) in self.live() {
            let list = node
                .admin()
                .call("GET", "/apps/chat/sockets", None)
                .await?
                .json();
            for s in list["sockets"].as_array().context("sockets")? {
                at.insert(s["id"].as_str().context("id")?.to_owned(), i);
            }
        }
        Ok(at)
    }

    /// A tenant API call through node `via` (or the proxy).
    async fn tenant(
        &self,
        via: Option<usize>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let addr = via.map_or(self.proxy.addr, |i| self.addrs[i]);
        let reply = Admin::new(addr)
            .tenant("chat", &self.secret, method, path, body)
            .await?;
        anyhow::ensure!(
            reply.status < 300,
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
        Ok(reply.json())
    }

    async fn wait_for_room_size(&self, room: &str, size: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let mut seen = Vec::new();
            for (i, _) in self.live() {
                let info = self
                    .tenant(Some(i), "GET", &format!("/rooms/{room}"), None)
                    .await?;
                seen.push((
                    i,
                    info["size"].as_u64(),
                    info["members"].as_array().map_or(0, Vec::len),
                ));
            }
            if seen.iter().all(|(_, n, _)| *n == Some(size)) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{room} should have {size} members on every node; (node, size, local members): {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Retries `check` for up to eight seconds.
async fn eventually<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(false) => anyhow::bail!("timed out waiting until {what}"),
            Err(e) => return Err(e.context(format!("waiting until {what}"))),
        }
    }
}

/// A client: its source address, socket id and live connection.
struct Client {
    from: IpAddr,
    id: String,
    ws: LiveWs,
    acks: u64,
}

impl Client {
    /// Connects through the proxy from `from`, joins `/` and the lobby.
    async fn connect(proxy: &Proxy, from: IpAddr) -> anyhow::Result<Self> {
        let url = format!(
            "ws://{}/apps/chat/socket.io/?EIO=4&transport=websocket",
            proxy.addr
        );
        let mut ws = RawWs::connect_from(&url, from).await?.live();
        let open = ws.text().await?;
        anyhow::ensure!(open.starts_with('0'), "{open}");
        ws.send("40");
        let connect = ws.text().await?;
        let body: Value =
            serde_json::from_str(connect.strip_prefix("40").context(connect.clone())?)?;
        let id = body["sid"].as_str().context("sid")?.to_owned();
        // Whichever handler runs, answer only what we asked for below.
        let mut client = Self {
            from,
            id,
            ws,
            acks: 0,
        };
        client.call("join", "\"lobby\"").await?;
        Ok(client)
    }

    /// Sends an event with an ack and returns the ack's arguments.
    async fn call(&mut self, event: &str, args: &str) -> anyhow::Result<String> {
        self.acks += 1;
        let id = self.acks;
        self.ws.send(&format!("42{id}[\"{event}\",{args}]"));
        loop {
            let text = self.ws.text().await?;
            if let Some(ack) = text.strip_prefix(&format!("43{id}")) {
                return Ok(ack.to_owned());
            }
            // (The echo handler greets with `auth`; other events are not ours.)
        }
    }

    /// The next event named `name`: its arguments.
    async fn event(&mut self, name: &str) -> anyhow::Result<String> {
        let prefix = format!("42[\"{name}\",");
        loop {
            let text = self.ws.text().await?;
            if let Some(rest) = text.strip_prefix(&prefix) {
                return Ok(rest.trim_end_matches(']').to_owned());
            }
        }
    }

    /// Events named `name` that already arrived (none must be missing or doubled).
    fn arrived(&mut self, name: &str) -> (Vec<String>, bool) {
        let prefix = format!("42[\"{name}\",");
        let mut got = Vec::new();
        let mut closed = false;
        for frame in self.ws.pending() {
            match frame {
                Frame::Text(t) => {
                    if let Some(rest) = t.strip_prefix(&prefix) {
                        got.push(rest.trim_end_matches(']').to_owned());
                    }
                }
                Frame::Closed(_) => closed = true,
                Frame::Binary(_) => {}
            }
        }
        (got, closed)
    }
}

fn source(i: usize) -> IpAddr {
    format!("127.0.0.{}", 20 + i).parse().unwrap()
}

async fn connect_all(cluster: &Cluster) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        clients.push(Client::connect(&cluster.proxy, source(i)).await?);
    }
    Ok(clients)
}

/// Each client gets each broadcast once: `n` numbered news items from the
/// tenant API through node `via`, in order, nothing twice.
async fn broadcast_reaches_everyone(
    cluster: &Cluster,
    clients: &mut [Client],
    via: usize,
    tag: &str,
) -> anyhow::Result<()> {
    for n in 0..3 {
        cluster
            .tenant(
                Some(via),
                "POST",
                "/emit",
                Some(json!({ "room": "lobby", "event": "news", "args": [format!("{tag}-{n}")] })),
            )
            .await?;
    }
    for client in clients.iter_mut() {
        for n in 0..3 {
            let got = client
                .event("news")
                .await
                .with_context(|| format!("client {}", client.from))?;
            anyhow::ensure!(
                got == format!("\"{tag}-{n}\""),
                "client {} got {got}, wanted {tag}-{n}",
                client.from
            );
        }
    }
    // Nothing doubled, late.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for client in clients.iter_mut() {
        let (late, closed) = client.arrived("news");
        anyhow::ensure!(
            late.is_empty() && !closed,
            "client {}: {late:?} closed={closed}",
            client.from
        );
    }
    Ok(())
}

/// The whole story through one proxy and broker.
async fn story(broker: &str, proxy: Kind, kill: bool) -> anyhow::Result<()> {
    let mut cluster = Cluster::start(broker, proxy).await?;
    let mut clients = connect_all(&cluster).await?;
    let placement = cluster.placement().await?;
    let used: BTreeSet<usize> = clients.iter().map(|c| placement[&c.id]).collect();
    anyhow::ensure!(
        used.len() >= 2,
        "{proxy:?} sent every client to one node: {placement:?}"
    );
    cluster.wait_for_room_size("lobby", CLIENTS as u64).await?;

    // A client's room broadcast reaches the other eight, on every node, once.
    let ack = clients[0].call("to-room", "\"lobby\",\"hi\"").await?;
    anyhow::ensure!(ack.starts_with('['), "{ack}");
    for client in clients.iter_mut().skip(1) {
        anyhow::ensure!(
            client.event("room-message").await? == "\"hi\"",
            "client {}",
            client.from
        );
    }
    // The tenant API publishes through any node (and the proxy).
    for via in 0..NODES {
        broadcast_reaches_everyone(&cluster, &mut clients, via, &format!("via{via}")).await?;
    }
    let through_proxy = Admin::new(cluster.proxy.addr)
        .tenant("chat", &cluster.secret, "GET", "/rooms/lobby", None)
        .await?;
    anyhow::ensure!(
        through_proxy.json()["size"] == CLIENTS,
        "{}",
        through_proxy.body
    );

    // A deploy through one node's admin API: every node runs it, nobody drops.
    let report = cluster.nodes[1]
        .as_ref()
        .context("node 1")?
        .admin()
        .deploy("chat", &CHAT.bytes())
        .await?;
    anyhow::ensure!(report["deployment"]["version"] == 2, "{report}");
    let swapped = Instant::now();
    cluster.wait_for_version(2).await?;
    eprintln!(
        "{proxy:?}: version 2 live on every node {:?} after the deploy returned",
        swapped.elapsed()
    );
    for client in clients.iter_mut() {
        // `members` is the chat handler's: it answers with the room's size.
        let members = client.call("members", "\"lobby\"").await?;
        anyhow::ensure!(
            members == format!("[{CLIENTS}]"),
            "client {}: {members}",
            client.from
        );
        let (_, closed) = client.arrived("news");
        anyhow::ensure!(!closed, "client {} dropped during the deploy", client.from);
    }

    if kill {
        // Kill the node with the most clients; its clients come back through
        // the proxy; the others lose nothing meanwhile.
        let placement = cluster.placement().await?;
        let victim = (0..NODES)
            .max_by_key(|i| placement.values().filter(|n| *n == i).count())
            .unwrap_or(0);
        let survivor = (0..NODES).find(|i| *i != victim).unwrap_or(0);
        let (orphans, mut stayers): (Vec<Client>, Vec<Client>) = clients
            .into_iter()
            .partition(|c| placement[&c.id] == victim);
        anyhow::ensure!(!orphans.is_empty(), "no client on node {victim}");
        let killed = Instant::now();
        cluster.nodes[victim]
            .take()
            .context("victim")?
            .kill()
            .await?;
        // Numbered news every 100 ms through a surviving node while it happens.
        let ticker = {
            let addr = cluster.addrs[survivor];
            let secret = cluster.secret.clone();
            tokio::spawn(async move {
                for n in 0..20 {
                    let _ = Admin::new(addr)
                        .tenant(
                            "chat",
                            &secret,
                            "POST",
                            "/emit",
                            Some(json!({ "room": "lobby", "event": "tick", "args": [n] })),
                        )
                        .await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let mut back = Vec::new();
        for orphan in orphans {
            // A real client reconnects as soon as it sees the close.
            let mut ws = orphan.ws;
            while !matches!(ws.next().await?, Frame::Closed(_)) {}
            back.push(Client::connect(&cluster.proxy, orphan.from).await?);
        }
        let took = killed.elapsed();
        eprintln!(
            "{proxy:?}: {} clients of the killed node back through the proxy in {took:?}",
            back.len()
        );
        anyhow::ensure!(took < Duration::from_secs(2), "reconnecting took {took:?}");
        ticker.await?;
        for client in stayers.iter_mut() {
            let mut ticks = Vec::new();
            while ticks.len() < 20 {
                ticks.push(
                    client
                        .event("tick")
                        .await
                        .with_context(|| format!("stayer {} got {ticks:?}", client.from))?,
                );
            }
            let expected: Vec<String> = (0..20).map(|n| n.to_string()).collect();
            anyhow::ensure!(
                ticks == expected,
                "stayer {} lost ticks: {ticks:?}",
                client.from
            );
        }
        cluster.wait_for_nodes(NODES - 1).await?;
        clients = stayers.into_iter().chain(back).collect();
        cluster.wait_for_room_size("lobby", CLIENTS as u64).await?;
        broadcast_reaches_everyone(&cluster, &mut clients, survivor, "after-kill").await?;
    }
    drop(clients);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_and_redis() {
    let (Some(_), Some(redis)) = (env("EDDY_TEST_POSTGRES"), env("EDDY_TEST_REDIS")) else {
        return;
    };
    story(&redis, Kind::Nginx, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_and_redis() {
    let (Some(_), Some(redis)) = (env("EDDY_TEST_POSTGRES"), env("EDDY_TEST_REDIS")) else {
        return;
    };
    story(&redis, Kind::Haproxy, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_and_nats() {
    let (Some(_), Some(nats)) = (env("EDDY_TEST_POSTGRES"), env("EDDY_TEST_NATS")) else {
        return;
    };
    story(&nats, Kind::Nginx, false).await.unwrap();
}

/// A Redis of the test's own, to stop and start.
struct OwnRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> anyhow::Result<Self> {
        let mut redis = Self { port, child: None };
        redis.up().await?;
        Ok(redis)
    }

    async fn up(&mut self) -> anyhow::Result<()> {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("redis-server is not installed (apt-get install redis-server)")?;
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        eventually("redis answers", || async {
            Ok(tokio::net::TcpStream::connect(&addr).await.is_ok())
        })
        .await
    }

    async fn down(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_pauses_cross_node_delivery_and_it_comes_back() {
    if env("EDDY_TEST_POSTGRES").is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = OwnRedis::start(port).await.unwrap();
    let cluster = Cluster::start(&redis.url(), Kind::Nginx).await.unwrap();
    let mut clients = connect_all(&cluster).await.unwrap();
    cluster
        .wait_for_room_size("lobby", CLIENTS as u64)
        .await
        .unwrap();
    broadcast_reaches_everyone(&cluster, &mut clients, 0, "before")
        .await
        .unwrap();

    redis.down().await.unwrap();
    // Every node notices, says so on /readyz (still ready) and in metrics.
    eventually("every node reports the broker down", || async {
        for (_, node) in cluster.live() {
            if node.metric("eddy_broker_up{broker=\"redis\"}").await? != 0 {
                return Ok(false);
            }
            let ready = node.http().get("/readyz").await?;
            if ready.status != 200 || !ready.body.contains("degraded") {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .unwrap();
    // Local delivery goes on: node 0's own clients still get its broadcasts.
    let placement = cluster.placement().await.unwrap();
    cluster
        .tenant(
            Some(0),
            "POST",
            "/emit",
            Some(json!({ "room": "lobby", "event": "outage", "args": [1] })),
        )
        .await
        .unwrap();
    for client in clients.iter_mut().filter(|c| placement[&c.id] == 0) {
        assert_eq!(client.event("outage").await.unwrap(), "1");
    }
    // The registry does not depend on the broker: the app is intact.
    let app = cluster.nodes[1]
        .as_ref()
        .unwrap()
        .admin()
        .call("GET", "/apps/chat", None)
        .await
        .unwrap()
        .json();
    assert_eq!(app["active_version"], 1);

    redis.up().await.unwrap();
    eventually("every node reconnects", || async {
        for (_, node) in cluster.live() {
            if node.metric("eddy_broker_up{broker=\"redis\"}").await? != 1 {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .unwrap();
    cluster.wait_for_nodes(NODES).await.unwrap();
    cluster
        .wait_for_room_size("lobby", CLIENTS as u64)
        .await
        .unwrap();
    for client in clients.iter_mut() {
        client.arrived("outage");
    }
    broadcast_reaches_everyone(&cluster, &mut clients, 2, "after")
        .await
        .unwrap();
    for (_, node) in cluster.live() {
        assert!(
            node.metric("eddy_broker_reconnects_total{broker=\"redis\"}")
                .await
                .unwrap()
                >= 1
        );
    }
}

#[test]
fn the_deploy_configs_keep_their_markers() {
    for file in ["nginx/nginx.conf", "haproxy/haproxy.cfg"] {
        let template = std::fs::read_to_string(deploy_file(file)).unwrap();
        let filled = fill(&template, "LISTEN", &["A".into(), "B".into()]).unwrap();
        assert!(
            filled.contains("LISTEN") && filled.contains("A\n") && !filled.contains("10.0.0.11")
        );
    }
}
