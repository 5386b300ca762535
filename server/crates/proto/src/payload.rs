//! The HTTP long-polling payload: Engine.IO packets joined by the record
//! separator `\x1e`; a binary packet is written as `b` followed by base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use crate::Error;
use crate::engine::{self, Packet};

/// The record separator between packets of one payload.
pub const SEPARATOR: char = '\x1e';

/// One packet of a polling payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    Text(Packet<'a>),
    /// A binary `message` packet, decoded from base64.
    Binary(Bytes),
}

/// Decodes a whole payload. Each record is decoded independently, so a
/// caller can process the valid prefix before it meets an invalid record.
pub fn decode(body: &str) -> impl Iterator<Item = Result<Record<'_>, Error>> {
    body.split(SEPARATOR).map(decode_record)
}

fn decode_record(record: &str) -> Result<Record<'_>, Error> {
    if let Some(b64) = record.strip_prefix('b') {
        let bytes = BASE64.decode(b64).map_err(|_| Error::InvalidBase64)?;
        return Ok(Record::Binary(Bytes::from(bytes)));
    }
    engine::decode_text(record).map(Record::Text)
}

/// Appends packets to a payload buffer, inserting separators.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: String,
}

impl Encoder {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: String::with_capacity(capacity),
        }
    }

    /// Appends an already encoded Engine.IO text packet (`4…`, `2`, `6`).
    pub fn push_text(&mut self, packet: &str) {
        self.separate();
        self.buf.push_str(packet);
    }

    /// Appends a binary `message` packet as `b<base64>`.
    pub fn push_binary(&mut self, data: &[u8]) {
        self.separate();
        self.buf.push('b');
        BASE64.encode_string(data, &mut self.buf);
    }

    /// Bytes the payload would have after appending a binary packet of `len` bytes.
    pub fn len_with_binary(&self, len: usize) -> usize {
        self.buf.len() + 2 + len.div_ceil(3) * 4
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn finish(self) -> String {
        self.buf
    }

    fn separate(&mut self) {
        if !self.buf.is_empty() {
            self.buf.push(SEPARATOR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PacketType;

    #[test]
    fn decodes_text_and_binary_records() {
        let got: Vec<_> = decode("4hello\x1ebAQIDBA==\x1e2").collect();
        assert_eq!(
            got,
            vec![
                Ok(Record::Text(Packet {
                    kind: PacketType::Message,
                    data: "hello"
                })),
                Ok(Record::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
                Ok(Record::Text(Packet {
                    kind: PacketType::Ping,
                    data: ""
                })),
            ]
        );
    }

    #[test]
    fn rejects_invalid_records_individually() {
        let got: Vec<_> = decode("4ok\x1eb***\x1e\x1e9").collect();
        assert!(got[0].is_ok());
        assert_eq!(got[1], Err(Error::InvalidBase64));
        assert_eq!(got[2], Err(Error::Empty));
        assert_eq!(got[3], Err(Error::UnknownEngineType('9')));
        assert_eq!(decode("").next(), Some(Err(Error::Empty)));
    }

    #[test]
    fn encodes_with_separators() {
        let mut enc = Encoder::default();
        enc.push_text("4hello");
        assert_eq!(enc.len_with_binary(4), enc.len() + 2 + 8);
        enc.push_binary(&[1, 2, 3, 4]);
        enc.push_text("6");
        assert_eq!(enc.finish(), "4hello\x1ebAQIDBA==\x1e6");
    }
}
