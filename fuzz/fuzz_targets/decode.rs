//! Feeds arbitrary bytes through every decoder: polling payloads, Engine.IO
//! text frames, and Socket.IO packets with interleaved binary attachments.
//! The only acceptable outcomes are a value or an `Error`; never a panic.
#![no_main]

use bytes::Bytes;
use eddy_proto::{engine, payload, socketio};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else {
        let mut asm = socketio::Assembler::new(8);
        let _ = asm.binary(Bytes::copy_from_slice(rest));
        return;
    };
    for record in payload::decode(text) {
        let _ = record;
    }
    if let Ok(packet) = engine::decode_text(text) {
        let mut asm = socketio::Assembler::new(8);
        // Split the frame: the first part is the packet, the rest arrive as attachments.
        let split = (selector as usize).min(packet.data.len());
        let (head, tail) = packet.data.split_at(packet.data.floor_char_boundary(split));
        if let Ok(socketio::Progress::Complete(p)) = asm.text(head) {
            if let Some(data) = p.data.as_deref() {
                if matches!(p.kind, socketio::PacketKind::Event | socketio::PacketKind::BinaryEvent) {
                    socketio::split_event(data).expect("a decoded event always splits");
                }
            }
        }
        for chunk in tail.as_bytes().chunks(3) {
            let _ = asm.binary(Bytes::copy_from_slice(chunk));
        }
    }
});
