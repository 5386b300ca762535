//! Engine.IO v4 packets.
//!
//! A text frame is one ASCII digit (the packet type) followed by optional
//! data; a binary frame is always a `message` packet carrying raw bytes.

use crate::Error;

/// The seven Engine.IO packet types, by their wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Open = 0,
    Close = 1,
    Ping = 2,
    Pong = 3,
    Message = 4,
    Upgrade = 5,
    Noop = 6,
}

impl PacketType {
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '0' => Self::Open,
            '1' => Self::Close,
            '2' => Self::Ping,
            '3' => Self::Pong,
            '4' => Self::Message,
            '5' => Self::Upgrade,
            '6' => Self::Noop,
            _ => return None,
        })
    }

    pub fn as_char(self) -> char {
        (b'0' + self as u8) as char
    }
}

/// A decoded text packet, borrowing its data from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub kind: PacketType,
    /// Everything after the type digit (`"probe"` for `2probe`, the
    /// Socket.IO packet for a `message`); empty when absent.
    pub data: &'a str,
}

/// Decodes one text frame (a websocket text message or one record of a
/// polling payload).
pub fn decode_text(frame: &str) -> Result<Packet<'_>, Error> {
    let mut chars = frame.chars();
    let first = chars.next().ok_or(Error::Empty)?;
    let kind = PacketType::from_char(first).ok_or(Error::UnknownEngineType(first))?;
    Ok(Packet {
        kind,
        data: &frame[1..],
    })
}

/// The handshake the server sends in the `open` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake<'a> {
    pub sid: &'a str,
    /// `["websocket"]` when the session was opened over polling, `[]` over websocket.
    pub upgrades: &'a [&'a str],
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub max_payload: u64,
}

/// Encodes the `open` packet: `0{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`.
///
/// The key set is exactly the five keys real clients and the protocol test
/// suites check for.
pub fn encode_open(hs: &Handshake<'_>) -> String {
    let mut out = String::with_capacity(120);
    out.push_str("0{\"sid\":");
    crate::json::write_str(&mut out, hs.sid);
    out.push_str(",\"upgrades\":[");
    for (i, u) in hs.upgrades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        crate::json::write_str(&mut out, u);
    }
    use std::fmt::Write;
    let _ = write!(
        out,
        "],\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
        hs.ping_interval_ms, hs.ping_timeout_ms, hs.max_payload
    );
    out
}

/// The fixed control packets the server sends.
pub const PING: &str = "2";
pub const PONG: &str = "3";
pub const PONG_PROBE: &str = "3probe";
pub const CLOSE: &str = "1";
pub const NOOP: &str = "6";

/// The Engine.IO HTTP error codes (the JSON body of a 400 response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    pub fn message(self) -> &'static str {
        match self {
            Self::UnknownTransport => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest => "Bad request",
            Self::Forbidden => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_type() {
        let table = [
            ("0{}", PacketType::Open, "{}"),
            ("1", PacketType::Close, ""),
            ("2", PacketType::Ping, ""),
            ("2probe", PacketType::Ping, "probe"),
            ("3probe", PacketType::Pong, "probe"),
            ("4hello", PacketType::Message, "hello"),
            ("4", PacketType::Message, ""),
            ("5", PacketType::Upgrade, ""),
            ("6", PacketType::Noop, ""),
            ("4héllo", PacketType::Message, "héllo"),
        ];
        for (frame, kind, data) in table {
            assert_eq!(decode_text(frame), Ok(Packet { kind, data }), "{frame}");
        }
    }

    #[test]
    fn rejects_bad_frames() {
        assert_eq!(decode_text(""), Err(Error::Empty));
        assert_eq!(decode_text("abc"), Err(Error::UnknownEngineType('a')));
        assert_eq!(decode_text("7"), Err(Error::UnknownEngineType('7')));
        assert_eq!(decode_text("é"), Err(Error::UnknownEngineType('é')));
    }

    #[test]
    fn open_packet_has_exactly_the_five_keys() {
        let open = encode_open(&Handshake {
            sid: "abc\"d",
            upgrades: &["websocket"],
            ping_interval_ms: 300,
            ping_timeout_ms: 200,
            max_payload: 1_000_000,
        });
        assert!(open.starts_with('0'));
        let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "maxPayload",
                "pingInterval",
                "pingTimeout",
                "sid",
                "upgrades"
            ]
        );
        assert_eq!(v["sid"], "abc\"d");
        assert_eq!(v["upgrades"], serde_json::json!(["websocket"]));
        assert_eq!(v["pingInterval"], 300);
        assert_eq!(v["pingTimeout"], 200);
        assert_eq!(v["maxPayload"], 1_000_000);
        let ws = encode_open(&Handshake {
            upgrades: &[],
            ..Handshake {
                sid: "x",
                upgrades: &[],
                ping_interval_ms: 1,
                ping_timeout_ms: 2,
                max_payload: 3,
            }
        });
        assert!(ws.contains("\"upgrades\":[]"));
    }
}
