//! A broadcast to a 1,000-member room through the real data plane: encode
//! once, queue the shared frame in every member's outbox, drain them (what
//! the writers do). No network: this is the server's own cost.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput};
use eddy::bench::App;
use eddy::bench::Config;
use eddy::bench::{ConnectReply, SocketContext, Target};
use eddy::bench::{EngineSettings, HandshakeInfo, Layer, Session, Transport};
use eddy::bench::{SioLayer, Socket};

const MEMBERS: usize = 1000;

fn room(members: usize) -> (Vec<Arc<Session>>, SocketContext) {
    let settings = Arc::new(EngineSettings::from_config(&Config::default()));
    let app = App::builtin(
        "bench",
        eddy::bench::builtin(eddy::bench::BuiltinHandler::Echo),
        &settings,
    );
    let nsp = app.namespace("/").expect("a namespace");
    let mut sessions = Vec::new();
    let mut sender = None;
    for _ in 0..members {
        let session = Session::new(
            Layer::SocketIo(SioLayer::new(app.clone())),
            Transport::WebSocket,
            HandshakeInfo::default(),
            settings.clone(),
            &app.sessions,
        );
        let socket = Socket::new(app.clone(), nsp.clone(), &session);
        assert!(socket.accept(ConnectReply {
            rooms: vec!["lobby".into()],
            data: None
        }));
        sender.get_or_insert(socket);
        sessions.push(session);
    }
    drain(&sessions);
    (sessions, SocketContext::new(sender.unwrap()))
}

fn drain(sessions: &[Arc<Session>]) -> usize {
    let mut out = Vec::new();
    let mut n = 0;
    for s in sessions {
        s.outbox.drain(&mut out, usize::MAX);
        n += out.len();
        out.clear();
    }
    n
}

pub(crate) fn broadcast(c: &mut Criterion) {
    let (sessions, cx) = room(MEMBERS);
    let mut group = c.benchmark_group("broadcast");
    group.throughput(Throughput::Elements(MEMBERS as u64));
    group.bench_function("room_1000_emit_and_drain", |b| {
        b.iter(|| {
            let n = cx.emit(
                Target::Rooms {
                    rooms: &["lobby"],
                    except: &[],
                },
                "message",
                black_box(r#"[{"from":"alice","text":"hello everyone in the lobby"}]"#),
                &[],
            );
            assert_eq!(n, MEMBERS);
            black_box(drain(&sessions))
        })
    });
    group.bench_function("room_1000_encode_once", |b| {
        b.iter(|| {
            eddy::bench::encode_event(
                "/",
                "message",
                None,
                black_box(r#"[{"from":"alice","text":"hello everyone in the lobby"}]"#),
                0,
            )
        })
    });
    group.finish();
}
