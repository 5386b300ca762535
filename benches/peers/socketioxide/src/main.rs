//! The Rust reference peer for Eddy's benchmarks: a socketioxide 0.18 server
//! whose native handlers do the same work as Eddy's `echo` app and the Node
//! peer (`benches/peers/node/server.js`), on the same path and with the same
//! heartbeat, so `loadgen` drives all three with one command.
//!
//!   socketioxide-peer --port 8081 [--host 127.0.0.1] [--path /apps/demo/socket.io/] [--redis redis://127.0.0.1:6379]
//!
//! With --redis, rooms span every process started with the same Redis (the
//! official socketioxide-redis adapter; its wire format is its own, so these
//! processes form a cluster with each other, not with Node peers): the
//! cluster comparison. Prints "listening on PORT" once ready; SIGTERM or
//! SIGINT closes every socket and exits 0.
//!
//! Differences that are socketioxide's, not this program's: its first ping
//! goes out as soon as a session opens (Node's after `pingInterval`), so a
//! client must read within `pingTimeout` of connecting; and an event a client
//! sends before the CONNECT reply may close the session (clients wait for
//! it). No CORS headers: Node's `cors: *` matters to browsers only.
//!
//! Build: `cargo build --release --manifest-path benches/peers/socketioxide/Cargo.toml`
//! (its own workspace, lock file and `target/`).

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rmpv::Value;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};
use socketioxide::adapter::{Adapter, Emitter};
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::Socket;
use socketioxide::{SocketIo, SocketIoBuilder};
use socketioxide_redis::drivers::redis::redis_client as redis;
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// A room name: socketioxide's `Room`, which it does not export.
type Room = Cow<'static, str>;

const USAGE: &str = "usage: socketioxide-peer [--port 8081] [--host 127.0.0.1] \
                     [--path /apps/demo/socket.io/] [--redis redis://HOST:PORT]";

struct Options {
    host: String,
    port: u16,
    path: String,
    redis: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        host: "127.0.0.1".into(),
        port: 8081,
        path: "/apps/demo/socket.io/".into(),
        redis: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // `--name value` or `--name=value`, as Node's parseArgs takes them.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match name.as_str() {
            "--port" => {
                options.port = value()?
                    .parse()
                    .map_err(|e| format!("--port: {e}\n{USAGE}"))?
            }
            "--host" => options.host = value()?,
            "--path" => options.path = value()?,
            "--redis" => options.redis = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// Every argument of an event, however many, read and written as a serde
/// tuple: socketioxide then hands a handler all of them (not only the first)
/// and emits them back as separate arguments (not as one array).
struct Args(Vec<Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the event's arguments")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Args, S::Error> {
                let mut args = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(Args(args))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

/// Whether the client asked for an ack: `to-room` counts the room only then.
struct WantsAck(bool);

impl<A: Adapter> FromMessageParts<A> for WantsAck {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(WantsAck(ack_id.is_some()))
    }
}

/// Sockets of this server in `room` (with the Redis adapter too: rooms are
/// kept per server, as Node's `io.sockets.adapter.rooms`).
fn local_room_size<A: Adapter>(socket: &SocketRef<A>, room: Room) -> usize {
    socket.within(room).sockets().len()
}

// The same contract as Eddy's echo (server/src/dispatch/echo.rs).

/// Registers the event handlers. A connect middleware, because socketioxide
/// awaits middlewares before it sends the CONNECT packet, while it runs the
/// connect handler as a task spawned after it: an event the client sends as
/// soon as it is connected (as loadgen's `join`) always finds its handler.
async fn register<A: Adapter>(socket: SocketRef<A>) -> Result<(), Infallible> {
    socket.on("message", on_message::<A>);
    socket.on("message-with-ack", on_message_with_ack::<A>);
    socket.on("join", on_join::<A>);
    socket.on("leave", on_leave::<A>);
    socket.on("to-room", on_to_room::<A>);
    Ok(())
}

async fn on_connect<A: Adapter>(socket: SocketRef<A>, TryData(auth): TryData<Value>) {
    // Without an auth payload socketioxide reads `{}`.
    let auth = auth.unwrap_or_else(|_| Value::Map(Vec::new()));
    let _ = socket.emit("auth", &auth);
}

async fn on_message<A: Adapter>(socket: SocketRef<A>, Data(args): Data<Args>) {
    let _ = socket.emit("message-back", &args);
}

async fn on_message_with_ack<A: Adapter>(Data(args): Data<Args>, ack: AckSender<A>) {
    let _ = ack.send(&args);
}

async fn on_join<A: Adapter>(socket: SocketRef<A>, Data(room): Data<String>, ack: AckSender<A>) {
    let room = Room::Owned(room);
    socket.join(room.clone());
    let _ = ack.send(&local_room_size(&socket, room));
}

async fn on_leave<A: Adapter>(socket: SocketRef<A>, Data(room): Data<String>, ack: AckSender<A>) {
    let room = Room::Owned(room);
    socket.leave(room.clone());
    let _ = ack.send(&local_room_size(&socket, room));
}

async fn on_to_room<A: Adapter>(
    socket: SocketRef<A>,
    WantsAck(wants_ack): WantsAck,
    Data(Args(mut args)): Data<Args>,
    ack: AckSender<A>,
) {
    if args.is_empty() {
        return;
    }
    let Value::String(room) = args.remove(0) else {
        return;
    };
    let Some(room) = room.into_str() else {
        return;
    };
    let room = Room::Owned(room);
    // `to` leaves the sender out.
    let _ = socket
        .to(room.clone())
        .emit("room-message", &Args(args))
        .await;
    if wants_ack {
        let _ = ack.send(&local_room_size(&socket, room).saturating_sub(1));
    }
}

/// Node's options: heartbeat, max payload (`maxHttpBufferSize: 1e6`).
fn builder(path: &str) -> SocketIoBuilder {
    SocketIo::builder()
        .req_path(path.to_owned())
        .ping_interval(Duration::from_millis(25_000))
        .ping_timeout(Duration::from_millis(20_000))
        .max_payload(1_000_000)
        .ws_max_message_size(1_000_000)
        // Packets queued per socket before an emit to it fails (default
        // 128); Node queues without bound, Eddy bounds its queue at 4096.
        .max_buffer_size(4096)
}

/// socketioxide-redis's redis driver speaks RESP3; say so in the URL unless
/// it names a protocol.
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

async fn redis_builder(
    path: &str,
    url: &str,
) -> Result<SocketIoBuilder<RedisAdapter<Emitter>>, String> {
    let client = redis::Client::open(resp3(url)).map_err(|e| format!("--redis {url}: {e}"))?;
    let config = RedisAdapterConfig::new()
        .with_prefix(format!("eddy-bench-{path}"))
        // Messages from other servers queued for this one; past it the
        // driver drops them (default 1024). Node's adapter never drops.
        .with_stream_buffer(65_536);
    let adapter = RedisAdapterCtr::new_with_redis_config(&client, config)
        .await
        .map_err(|e| format!("--redis {url}: {e}"))?;
    Ok(builder(path).with_adapter::<RedisAdapter<Emitter>>(adapter))
}

/// Binds, announces, serves until SIGTERM or SIGINT, then closes every socket.
async fn run<A, F>(
    options: &Options,
    builder: SocketIoBuilder<A>,
    add_namespace: impl FnOnce(SocketIo<A>) -> F,
) -> Result<(), String>
where
    A: Adapter,
    F: Future<Output = Result<(), String>>,
{
    let (svc, io) = builder.build_svc();
    add_namespace(io.clone()).await?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| format!("listen on {}:{}: {e}", options.host, options.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    println!("listening on {port}");
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // As Node's HTTP server (noDelay) does.
                    let _ = stream.set_nodelay(true);
                    let svc = svc.clone();
                    tokio::spawn(async move {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .with_upgrades()
                            .await;
                    });
                }
                // Out of descriptors, say: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    io.close().await;
    Ok(())
}

#[tokio::main]
async fn main() {
    let result = match parse_args() {
        Err(e) => Err(e),
        Ok(options) => match options.redis.clone() {
            None => {
                run(&options, builder(&options.path), |io| async move {
                    io.ns("/", on_connect.with(register));
                    Ok(())
                })
                .await
            }
            Some(url) => match redis_builder(&options.path, &url).await {
                Err(e) => Err(e),
                Ok(builder) => {
                    run(&options, builder, |io| async move {
                        io.ns("/", on_connect.with(register))
                            .await
                            .map_err(|e| format!("--redis {url}: {e}"))
                    })
                    .await
                }
            },
        },
    };
    if let Err(e) = result {
        eprintln!("socketioxide-peer: {e}");
        std::process::exit(1);
    }
}
