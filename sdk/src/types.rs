//! What hooks receive and return.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What the client sent when it connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handshake {
    pub(crate) auth: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) address: Option<String>,
    pub(crate) issued_ms: u64,
}

impl Handshake {
    /// A handshake with this `auth` JSON object (for tests).
    pub fn with_auth(auth: Value) -> Self {
        Self {
            auth: auth.to_string(),
            ..Self::default()
        }
    }

    /// Adds a query parameter (for tests).
    pub fn query_param(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a request header (for tests; the name is lower-cased, as the
    /// server passes them).
    ///
    /// ```
    /// use eddy_sdk::{Handshake, json};
    /// let hs = Handshake::with_auth(json!({ "name": "Ada" }))
    ///     .with_header("User-Agent", "test")
    ///     .with_address("203.0.113.9:50000");
    /// assert_eq!(hs.header("user-agent"), Some("test"));
    /// assert_eq!(hs.address(), Some("203.0.113.9:50000"));
    /// ```
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets the client's address, `ip:port` (for tests).
    pub fn with_address(mut self, address: &str) -> Self {
        self.address = Some(address.into());
        self
    }

    /// Sets when the session opened, in milliseconds since the Unix epoch
    /// (for tests).
    pub fn with_issued_ms(mut self, issued_ms: u64) -> Self {
        self.issued_ms = issued_ms;
        self
    }

    /// The client's `auth` payload parsed as `T`, or `None` when it does not fit.
    pub fn auth<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.auth).ok()
    }

    /// The client's `auth` payload as JSON text (`{}` when it sent none).
    pub fn auth_raw(&self) -> &str {
        &self.auth
    }

    /// The first query parameter of the client's first request named `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A request header (lower-case name): origin, user-agent, referer,
    /// accept-language, x-forwarded-for or x-real-ip.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The client's address (`ip:port`) as the server saw it.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// When the session opened, in milliseconds since the Unix epoch.
    pub fn issued_ms(&self) -> u64 {
        self.issued_ms
    }
}

/// Acceptance of a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectReply {
    pub(crate) rooms: Vec<String>,
    pub(crate) data: Option<String>,
}

impl ConnectReply {
    /// Accepts the connection.
    pub fn accept() -> Self {
        Self::default()
    }

    /// Also joins `room` right away.
    pub fn join(mut self, room: impl Into<String>) -> Self {
        self.rooms.push(room.into());
        self
    }

    /// Attaches `data` to the socket; later hooks read it with [`crate::Context::data`].
    pub fn data<T: Serialize>(mut self, data: &T) -> Self {
        self.data = serde_json::to_string(data).ok();
        self
    }

    /// The rooms the socket joins.
    pub fn rooms(&self) -> &[String] {
        &self.rooms
    }
}

/// Refusal of a connection: the client gets `connect_error` with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub(crate) message: String,
    pub(crate) data: Option<String>,
}

impl Reject {
    /// Refuses with `message` (the client's `err.message`).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// Adds JSON data for the client (`err.data`).
    pub fn with_data<T: Serialize>(mut self, data: &T) -> Self {
        self.data = serde_json::to_string(data).ok();
        self
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// An event's arguments: a JSON array, kept as text until asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args(pub(crate) String);

impl Args {
    /// The arguments as JSON array text, e.g. `["lobby",{"text":"hi"}]`.
    pub fn raw(&self) -> &str {
        &self.0
    }

    /// All arguments parsed as `T`: a tuple (`(String, u32)`), a `Vec`, or
    /// `Vec<Value>`. A mismatch is a `bad_arguments` error for the client.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, EventError> {
        serde_json::from_str(&self.0).map_err(|e| EventError::bad_args(e.to_string()))
    }

    /// The argument at `index` parsed as `T`.
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, EventError> {
        let values: Vec<Value> = self.parse()?;
        let value = values
            .into_iter()
            .nth(index)
            .ok_or_else(|| EventError::bad_args(format!("missing argument {index}")))?;
        serde_json::from_value(value)
            .map_err(|e| EventError::bad_args(format!("argument {index}: {e}")))
    }
}

/// An event from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments. Binary arguments are placeholders
    /// (`{"_placeholder":true,"num":N}`) into [`Event::attachments`].
    pub args: Args,
    /// Binary attachments, in placeholder order.
    pub attachments: Vec<Vec<u8>>,
    /// The client waits for an ack.
    pub wants_ack: bool,
}

impl Event {
    /// An event with these JSON arguments (for tests).
    pub fn new(name: &str, args: Value) -> Self {
        let args = match args {
            Value::Array(_) => args,
            other => Value::Array(vec![other]),
        };
        Self {
            name: name.into(),
            args: Args(args.to_string()),
            attachments: Vec::new(),
            wants_ack: false,
        }
    }

    /// Marks the event as waiting for an ack (for tests).
    pub fn with_ack(mut self) -> Self {
        self.wants_ack = true;
        self
    }
}

/// An acknowledgement for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub(crate) args: String,
    pub(crate) attachments: Vec<Vec<u8>>,
}

impl Ack {
    /// An ack whose arguments are `args` serialized: pass a tuple for
    /// several arguments (`(1, "two")`), or use [`Ack::of`] for one.
    pub fn new<T: Serialize>(args: &T) -> Result<Self, EventError> {
        let value = serde_json::to_value(args)
            .map_err(|e| EventError::new("handler_error", e.to_string()))?;
        Ok(match value {
            Value::Array(_) => Self::raw(value.to_string()),
            other => Self::raw(Value::Array(vec![other]).to_string()),
        })
    }

    /// An ack with one argument.
    pub fn of<T: Serialize>(arg: &T) -> Self {
        let value = serde_json::to_value(arg).unwrap_or(Value::Null);
        Self::raw(Value::Array(vec![value]).to_string())
    }

    /// An ack from JSON array text as it is (echoing an event's args, say).
    pub fn raw(args: impl Into<String>) -> Self {
        Self {
            args: args.into(),
            attachments: Vec::new(),
        }
    }

    /// Attaches binary attachments referenced by placeholders in the args.
    pub fn with_attachments(mut self, attachments: Vec<Vec<u8>>) -> Self {
        self.attachments = attachments;
        self
    }

    /// The arguments as JSON array text.
    pub fn args(&self) -> &str {
        &self.args
    }
}

/// A handler's failure to process an event; an ack-waiting client receives
/// `[{"error":{"code":…,"message":…}}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// A short machine-readable code.
    pub code: String,
    /// A message for people.
    pub message: String,
}

impl EventError {
    /// An error with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The arguments were not what the event needs (`bad_arguments`).
    pub fn bad_args(message: impl Into<String>) -> Self {
        Self::new("bad_arguments", message)
    }
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<crate::EmitError> for EventError {
    fn from(e: crate::EmitError) -> Self {
        Self::new("emit_failed", e.to_string())
    }
}

impl From<crate::KvError> for EventError {
    fn from(e: crate::KvError) -> Self {
        Self::new("kv_failed", e.to_string())
    }
}

/// What `on_event` returns.
pub type EventResult = Result<Option<Ack>, EventError>;

/// What `on_timer` returns: an error goes to the app's log (no client is
/// waiting for it), so `?` works on every SDK call in a timer hook.
pub type TimerResult = Result<(), EventError>;

/// Why a socket left its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed the connection.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client stopped answering heartbeats.
    PingTimeout,
    /// The client sent something that is not Socket.IO.
    ParseError,
    /// The client sent a message over the size limit.
    MessageTooLarge,
    /// The client did not read its messages fast enough.
    SlowConsumer,
    /// The client joined no namespace in time.
    ConnectTimeout,
    /// The server is stopping.
    ServerShuttingDown,
    /// The server closed the connection on purpose.
    ForcedServerClose,
    /// The client left this namespace.
    ClientNamespaceDisconnect,
    /// A handler or an operator removed the socket from the namespace.
    ServerNamespaceDisconnect,
}
