//! Log lines for the app's operators, shown live in the admin UI. The host
//! rate-limits them; a panic message is logged at `error` automatically.

use crate::host;

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}

/// Writes one line at `level`.
pub fn write(level: Level, message: impl AsRef<str>) {
    host::log(level, message.as_ref());
}

/// Writes a `trace` line.
pub fn trace(message: impl AsRef<str>) {
    write(Level::Trace, message);
}

/// Writes a `debug` line.
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message);
}

/// Writes an `info` line.
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message);
}

/// Writes a `warn` line.
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message);
}

/// Writes an `error` line.
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message);
}
