//! The polling payload decoder: records separated by `\x1e`, binary ones in
//! base64. Whatever decodes must encode back to a payload that decodes to
//! the same records.
#![no_main]

use eddy_proto::payload::{self, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(records) = payload::decode(text).collect::<Result<Vec<_>, _>>() else {
        return;
    };
    let mut encoder = payload::Encoder::with_capacity(text.len());
    for record in &records {
        match record {
            Record::Text(packet) => {
                let mut frame = String::new();
                frame.push(packet.kind.as_char());
                frame.push_str(packet.data);
                encoder.push_text(&frame);
            }
            Record::Binary(data) => encoder.push_binary(data),
        }
    }
    let body = encoder.finish();
    let again: Vec<_> = payload::decode(&body)
        .collect::<Result<_, _>>()
        .expect("a re-encoded payload decodes");
    assert_eq!(records, again);
});
