//! The codec on a typical event: decode what a client sends, encode what
//! the server sends back.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use eddy_proto::{engine, socketio};

/// A chat message as a browser would send it, with an ack id.
const FRAME: &str = r#"42/chat,17["message",{"room":"lobby","text":"hello there, how is everyone doing today?","ts":1764201600000}]"#;

pub(crate) fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Bytes(FRAME.len() as u64));
    group.bench_function("decode_event", |b| {
        let mut assembler = socketio::Assembler::new(16);
        b.iter(|| {
            let packet = engine::decode_text(black_box(FRAME)).unwrap();
            let socketio::Progress::Complete(p) = assembler.text(packet.data).unwrap() else {
                unreachable!()
            };
            let parts = socketio::split_event(p.data.as_deref().unwrap()).unwrap();
            black_box((p.id, parts.name.len(), parts.args.len()))
        })
    });
    group.bench_function("encode_event", |b| {
        let args = r#"{"room":"lobby","text":"hello there, how is everyone doing today?","ts":1764201600000}"#;
        b.iter(|| {
            let mut out = String::with_capacity(128);
            out.push('4');
            socketio::write_event(&mut out, black_box("/chat"), None, black_box("message"), black_box(args), 0);
            black_box(out)
        })
    });
    group.finish();
}
