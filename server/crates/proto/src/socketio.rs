//! Socket.IO v5 packets: `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`.
//!
//! Decoding validates the JSON payload and its shape per packet type the way
//! the reference parser does, so a handler never sees a malformed event.
//! Encoding writes straight into a caller-owned `String`, so a broadcast is
//! encoded once and shared.

use std::borrow::Cow;
use std::fmt::Write as _;

use bytes::Bytes;

use crate::Error;
use crate::json;

mod placeholders;

pub use placeholders::placeholders_valid;

/// The largest ack id a JavaScript client can represent exactly
/// (`Number.MAX_SAFE_INTEGER`); larger ids are refused, not echoed rounded.
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// The seven Socket.IO packet types, by their wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Connect = 0,
    Disconnect = 1,
    Event = 2,
    Ack = 3,
    ConnectError = 4,
    BinaryEvent = 5,
    BinaryAck = 6,
}

impl PacketKind {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    fn as_char(self) -> char {
        (b'0' + self as u8) as char
    }

    fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::Disconnect => "DISCONNECT",
            Self::Event | Self::BinaryEvent => "EVENT",
            Self::Ack | Self::BinaryAck => "ACK",
            Self::ConnectError => "CONNECT_ERROR",
        }
    }
}

/// Event names a client may not emit: the client library uses them itself.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A decoded packet. Borrowed from the frame when it arrived whole; owned
/// when it had to wait for binary attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub kind: PacketKind,
    /// The namespace, `/` when the packet named none.
    pub nsp: Cow<'a, str>,
    pub id: Option<u64>,
    /// The raw JSON payload, already validated for this packet type.
    pub data: Option<Cow<'a, str>>,
    /// Binary attachments, in placeholder order (empty for text packets).
    pub attachments: Vec<Bytes>,
}

impl Packet<'_> {
    pub fn into_owned(self) -> Packet<'static> {
        Packet {
            kind: self.kind,
            nsp: Cow::Owned(self.nsp.into_owned()),
            id: self.id,
            data: self.data.map(|d| Cow::Owned(d.into_owned())),
            attachments: self.attachments,
        }
    }
}

/// The outcome of feeding one frame to an [`Assembler`].
#[derive(Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    Complete(Packet<'a>),
    /// A binary packet is still missing this many attachment frames.
    Incomplete {
        missing: usize,
    },
}

/// Turns Engine.IO messages into Socket.IO packets, holding a binary packet
/// until all of its attachments have arrived.
#[derive(Debug)]
pub struct Assembler {
    max_attachments: usize,
    pending: Option<(Packet<'static>, usize)>,
}

impl Assembler {
    /// `max_attachments` bounds how many binary frames one packet may announce.
    pub fn new(max_attachments: usize) -> Self {
        Self {
            max_attachments,
            pending: None,
        }
    }

    /// Feeds a text message.
    pub fn text<'a>(&mut self, frame: &'a str) -> Result<Progress<'a>, Error> {
        if let Some((_, expected)) = &self.pending {
            return Err(Error::AttachmentsPending(*expected));
        }
        let (packet, expected) = decode(frame, self.max_attachments)?;
        if expected == 0 {
            return Ok(Progress::Complete(packet));
        }
        let mut packet = packet.into_owned();
        packet.attachments.reserve_exact(expected);
        self.pending = Some((packet, expected));
        Ok(Progress::Incomplete { missing: expected })
    }

    /// Feeds a binary message (one attachment).
    pub fn binary(&mut self, data: Bytes) -> Result<Progress<'static>, Error> {
        let Some((packet, expected)) = &mut self.pending else {
            return Err(Error::UnexpectedBinary);
        };
        packet.attachments.push(data);
        let missing = *expected - packet.attachments.len();
        if missing > 0 {
            return Ok(Progress::Incomplete { missing });
        }
        let (packet, _) = self.pending.take().expect("pending packet checked above");
        Ok(Progress::Complete(packet))
    }

    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// Decodes a text packet; returns it with the number of attachments it announced.
fn decode(frame: &str, max_attachments: usize) -> Result<(Packet<'_>, usize), Error> {
    let bytes = frame.as_bytes();
    let first = *bytes.first().ok_or(Error::Empty)?;
    let kind = PacketKind::from_byte(first)
        .ok_or_else(|| Error::UnknownSocketType(frame.chars().next().unwrap_or('?')))?;
    let mut i = 1;

    let mut expected = 0;
    if kind.is_binary() {
        let digits = count_digits(&bytes[i..]);
        if digits == 0 || bytes.get(i + digits) != Some(&b'-') {
            return Err(Error::InvalidAttachmentCount);
        }
        expected = frame[i..i + digits]
            .parse::<usize>()
            .map_err(|_| Error::InvalidAttachmentCount)?;
        if expected > max_attachments {
            return Err(Error::TooManyAttachments {
                count: expected,
                max: max_attachments,
            });
        }
        i += digits + 1;
    }

    let nsp = if bytes.get(i) == Some(&b'/') {
        let end = frame[i..].find(',').map_or(frame.len(), |p| i + p);
        let nsp = &frame[i..end];
        i = (end + 1).min(frame.len());
        nsp
    } else {
        "/"
    };

    let digits = count_digits(&bytes[i..]);
    let id = if digits > 0 {
        let id = frame[i..i + digits]
            .parse::<u64>()
            .ok()
            .filter(|id| *id <= MAX_ACK_ID)
            .ok_or(Error::InvalidAckId)?;
        i += digits;
        Some(id)
    } else {
        None
    };

    let data = if i < frame.len() {
        let data = &frame[i..];
        validate_payload(kind, data)?;
        if kind.is_binary() && !placeholders::placeholders_valid(data, expected) {
            return Err(Error::IllegalAttachments);
        }
        Some(data)
    } else {
        validate_missing_payload(kind)?;
        None
    };

    Ok((
        Packet {
            kind,
            nsp: Cow::Borrowed(nsp),
            id,
            data: data.map(Cow::Borrowed),
            attachments: Vec::new(),
        },
        expected,
    ))
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

fn validate_missing_payload(kind: PacketKind) -> Result<(), Error> {
    match kind {
        PacketKind::Connect | PacketKind::Disconnect => Ok(()),
        _ => Err(Error::InvalidPayload(kind.name())),
    }
}

fn validate_payload(kind: PacketKind, data: &str) -> Result<(), Error> {
    if !json::is_valid(data) {
        return Err(Error::InvalidJson);
    }
    let shape = Err(Error::InvalidPayload(kind.name()));
    let first = data.trim_start().as_bytes().first().copied();
    match kind {
        PacketKind::Connect => match first {
            Some(b'{') => Ok(()),
            _ => shape,
        },
        PacketKind::Disconnect => shape,
        PacketKind::ConnectError => match first {
            Some(b'{' | b'"') => Ok(()),
            _ => shape,
        },
        PacketKind::Ack | PacketKind::BinaryAck => match first {
            Some(b'[') => Ok(()),
            _ => shape,
        },
        PacketKind::Event | PacketKind::BinaryEvent => split_event(data).map(|_| ()),
    }
}

/// True when `args` is a JSON array whose placeholders all name one of
/// `attachments` binary attachments: what the server may send as the
/// arguments of an event or ack. A handler's reply is checked with this
/// before any client sees it.
pub fn args_valid(args: &str, attachments: usize) -> bool {
    args.trim_start().starts_with('[')
        && json::is_valid(args)
        && placeholders::placeholders_valid(args, attachments)
}

/// True when `text` is one syntactically valid JSON document.
pub fn is_json(text: &str) -> bool {
    json::is_valid(text)
}

/// An event payload split into its name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventParts<'a> {
    pub name: Cow<'a, str>,
    /// The arguments after the name, as the inside of a JSON array
    /// (`1,"2"` for `["name",1,"2"]`; empty when there are none).
    pub args: &'a str,
}

/// Splits a validated EVENT payload `["name", args…]` into name and arguments.
///
/// A numeric event name (allowed by the reference parser) is returned as its
/// decimal text.
pub fn split_event(data: &str) -> Result<EventParts<'_>, Error> {
    let shape = || Error::InvalidPayload("EVENT");
    let inner = array_inner(data).ok_or_else(shape)?;
    let lead = inner.len() - inner.trim_start().len();
    let rest = &inner[lead..];
    let (name, after): (Cow<'_, str>, &str) = match rest.as_bytes().first() {
        Some(b'"') => {
            let len = json::string_literal_len(rest).ok_or_else(shape)?;
            let literal = &rest[..len];
            let name = if literal.contains('\\') {
                Cow::Owned(serde_json::from_str::<String>(literal).map_err(|_| shape())?)
            } else {
                Cow::Borrowed(&literal[1..len - 1])
            };
            (name, &rest[len..])
        }
        Some(b'-' | b'0'..=b'9') => {
            let len = rest
                .find(|c: char| c == ',' || c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            let number = &rest[..len];
            serde_json::from_str::<serde_json::Number>(number).map_err(|_| shape())?;
            (Cow::Borrowed(number), &rest[len..])
        }
        _ => return Err(shape()),
    };
    if RESERVED_EVENTS.contains(&name.as_ref()) {
        return Err(Error::ReservedEventName(name.into_owned()));
    }
    let after = after.trim_start();
    let args = match after.strip_prefix(',') {
        Some(args) => args.trim(),
        None if after.is_empty() => "",
        None => return Err(shape()),
    };
    Ok(EventParts { name, args })
}

/// The inside of a JSON array text (`1,2` for ` [1,2] `), or `None` when the
/// text is not bracketed. The text is expected to be valid JSON already.
pub fn array_inner(array: &str) -> Option<&str> {
    array
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
}

/// Writes a packet header: type, attachment count, namespace, ack id.
fn write_header(
    out: &mut String,
    kind: PacketKind,
    attachments: usize,
    nsp: &str,
    id: Option<u64>,
) {
    out.push(kind.as_char());
    if attachments > 0 {
        let _ = write!(out, "{attachments}-");
    }
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
}

/// `2/nsp,id["name",args]`, or `5N-…` with attachments.
pub fn write_event(
    out: &mut String,
    nsp: &str,
    id: Option<u64>,
    name: &str,
    args: &str,
    attachments: usize,
) {
    let kind = if attachments > 0 {
        PacketKind::BinaryEvent
    } else {
        PacketKind::Event
    };
    write_header(out, kind, attachments, nsp, id);
    out.push('[');
    json::write_str(out, name);
    if !args.is_empty() {
        out.push(',');
        out.push_str(args);
    }
    out.push(']');
}

/// `3/nsp,id[args]`, or `6N-…` with attachments.
pub fn write_ack(out: &mut String, nsp: &str, id: u64, args: &str, attachments: usize) {
    let kind = if attachments > 0 {
        PacketKind::BinaryAck
    } else {
        PacketKind::Ack
    };
    write_header(out, kind, attachments, nsp, Some(id));
    out.push('[');
    out.push_str(args);
    out.push(']');
}

/// `0/nsp,{"sid":"…"}`: the server's reply to an accepted CONNECT.
pub fn write_connect(out: &mut String, nsp: &str, sid: &str) {
    write_header(out, PacketKind::Connect, 0, nsp, None);
    out.push_str("{\"sid\":");
    json::write_str(out, sid);
    out.push('}');
}

/// `4/nsp,{"message":"…"}`, with an optional `data` JSON value.
pub fn write_connect_error(out: &mut String, nsp: &str, message: &str, data: Option<&str>) {
    write_header(out, PacketKind::ConnectError, 0, nsp, None);
    out.push_str("{\"message\":");
    json::write_str(out, message);
    if let Some(data) = data {
        out.push_str(",\"data\":");
        out.push_str(data);
    }
    out.push('}');
}

/// `1/nsp,`: the server closed this namespace's socket.
pub fn write_disconnect(out: &mut String, nsp: &str) {
    write_header(out, PacketKind::Disconnect, 0, nsp, None);
}

#[cfg(test)]
mod tests;
