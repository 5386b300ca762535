//! The cluster wire format: bytes from the broker are untrusted. Decoding
//! never panics, and whatever decodes encodes back to the same message.
#![no_main]

use bytes::Bytes;
use eddy_cluster::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(envelope) = Envelope::decode(&bytes) {
        let again = Envelope::decode(&envelope.encode()).expect("an encoded envelope decodes");
        assert_eq!(envelope, again);
    }
});
