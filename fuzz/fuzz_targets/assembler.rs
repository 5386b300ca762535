//! The binary-attachment assembler: a Socket.IO text packet and then binary
//! frames in any order and number. A completed packet carries exactly the
//! attachments it announced, and its placeholders all name one of them.
#![no_main]

use bytes::Bytes;
use eddy_proto::socketio::{Assembler, PacketKind, Progress, placeholders_valid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Frames are separated by 0xff; a frame starting with 0xfe is binary.
    let mut asm = Assembler::new(4);
    for frame in data.split(|b| *b == 0xff) {
        let progress = match frame.split_first() {
            Some((0xfe, bin)) => asm.binary(Bytes::copy_from_slice(bin)),
            _ => match std::str::from_utf8(frame) {
                Ok(text) => asm.text(text).map(|p| match p {
                    Progress::Complete(p) => Progress::Complete(p.into_owned()),
                    Progress::Incomplete { missing } => Progress::Incomplete { missing },
                }),
                Err(_) => continue,
            },
        };
        match progress {
            Ok(Progress::Complete(packet)) => {
                let binary = matches!(packet.kind, PacketKind::BinaryEvent | PacketKind::BinaryAck);
                assert!(binary || packet.attachments.is_empty());
                if binary {
                    let data = packet.data.as_deref().expect("a binary packet has data");
                    assert!(placeholders_valid(data, packet.attachments.len()));
                }
                assert!(!asm.is_pending());
            }
            Ok(Progress::Incomplete { missing }) => assert!(missing > 0 && asm.is_pending()),
            // A protocol error closes the connection: start over, as a new one would.
            Err(_) => asm = Assembler::new(4),
        }
    }
});
