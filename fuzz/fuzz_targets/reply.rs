//! The check on a handler's reply arguments (`args_valid`): a JSON array
//! whose placeholders name the attachments it carries. Whatever passes must
//! make a packet that the server's own decoder (and so any client) accepts.
#![no_main]

use bytes::Bytes;
use eddy_proto::socketio::{Assembler, Progress, args_valid, array_inner, write_ack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &str)| {
    let (count, args) = input;
    let attachments = usize::from(count % 4);
    if !args_valid(args, attachments) {
        return;
    }
    // (Not compared with serde_json::Value: a number like 1E999999 is valid
    // JSON that a Value cannot hold, and JavaScript reads it as Infinity.)
    let inner = array_inner(args).expect("an accepted reply is bracketed");
    let mut frame = String::new();
    write_ack(&mut frame, "/", 1, inner, attachments);
    let mut asm = Assembler::new(4);
    let mut complete = matches!(asm.text(&frame), Ok(Progress::Complete(_)));
    for _ in 0..attachments {
        complete = matches!(asm.binary(Bytes::new()), Ok(Progress::Complete(_)));
    }
    assert!(complete, "{frame:?} did not complete with {attachments} attachments");
});
