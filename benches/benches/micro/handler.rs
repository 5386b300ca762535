//! What it costs to run an event through a handler: the built-in native
//! `echo` next to the same behaviour as a WebAssembly component (the `echo`
//! plugin), both through the `Handler` seam with a real socket, plus the
//! bare component call through eddy-host.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use eddy::bench::App;
use eddy::bench::Config;
use eddy::bench::{ConnectReply, Handler, SocketContext, SocketEvent, WasmHandler};
use eddy::bench::{EngineSettings, HandshakeInfo, Layer, Session, Transport};
use eddy::bench::{SioLayer, Socket};
use eddy_host::{EngineOptions, HandlerPool, HostEngine, Limits};

const ARGS: &str = r#"["hello there",{"n":42,"tags":["a","b"]}]"#;

fn socket(app: &Arc<App>) -> (Arc<Session>, Arc<SocketContext>) {
    let settings = Arc::new(EngineSettings::from_config(&Config::default()));
    let session = Session::new(
        Layer::SocketIo(SioLayer::new(app.clone())),
        Transport::WebSocket,
        HandshakeInfo::default(),
        settings,
        &app.sessions,
    );
    let socket = Socket::new(
        app.clone(),
        app.namespace("/").expect("a namespace"),
        &session,
    );
    assert!(socket.accept(ConnectReply::default()));
    (session, Arc::new(SocketContext::new(socket)))
}

fn event(name: &str) -> SocketEvent<'_> {
    SocketEvent {
        name,
        args: ARGS,
        attachments: &[],
        wants_ack: true,
    }
}

pub(crate) fn handlers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = HostEngine::new(EngineOptions {
        max_instances: 16,
        ..EngineOptions::default()
    })
    .unwrap();
    let wasm = eddy_tests::plugins::ECHO.bytes();
    let loaded = engine.load(&wasm).unwrap();
    let pool = Arc::new(
        rt.block_on(HandlerPool::new(&engine, &loaded, Limits::default()))
            .unwrap(),
    );
    let wasm_handler: Arc<dyn Handler> = Arc::new(WasmHandler::new(pool.clone()));
    let native_handler = eddy::bench::builtin(eddy::bench::BuiltinHandler::Echo);

    let mut group = c.benchmark_group("handler");
    for (label, handler) in [("native", &native_handler), ("wasm", &wasm_handler)] {
        let settings = EngineSettings::from_config(&Config::default());
        let app = App::builtin("bench", handler.clone(), &settings);
        let (session, cx) = socket(&app);
        let mut out = Vec::new();
        session.outbox.drain(&mut out, usize::MAX);
        out.clear();
        group.bench_function(format!("{label}_ack"), |b| {
            b.iter(|| {
                let ack = rt
                    .block_on(handler.on_event(&cx, event("message-with-ack")))
                    .unwrap();
                black_box(ack)
            })
        });
        group.bench_function(format!("{label}_emit_back"), |b| {
            b.iter(|| {
                rt.block_on(handler.on_event(&cx, event("message")))
                    .unwrap();
                session.outbox.drain(&mut out, usize::MAX);
                assert_eq!(out.len(), 1);
                out.clear();
            })
        });
    }
    group.finish();
}
