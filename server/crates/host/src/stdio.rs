//! The guest's stdout and stderr: captured per call (bounded) and handed to
//! the app's log, so `println!` works and a noisy guest cannot grow memory.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes kept per call and stream; the rest is dropped (and says so).
const CAPACITY: usize = 8 * 1024;

#[derive(Clone, Default)]
pub(crate) struct GuestOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    dropped: usize,
}

impl GuestOutput {
    /// What was written since the last call, as lines.
    pub(crate) fn take_lines(&self) -> Vec<String> {
        let mut c = self.inner.lock();
        if c.bytes.is_empty() && c.dropped == 0 {
            return Vec::new();
        }
        let text = String::from_utf8_lossy(&c.bytes).into_owned();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if c.dropped > 0 {
            lines.push(format!("… {} more bytes of output dropped", c.dropped));
        }
        c.bytes.clear();
        c.dropped = 0;
        lines
    }

    fn write(&self, data: &[u8]) {
        let mut c = self.inner.lock();
        let room = CAPACITY.saturating_sub(c.bytes.len());
        let kept = data.len().min(room);
        c.bytes.extend_from_slice(&data[..kept]);
        c.dropped += data.len() - kept;
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(tokio::io::sink())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        GuestOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: excess output is dropped, never an error the
        // guest's `println!` would panic on.
        Ok(64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_up_to_capacity() {
        let out = GuestOutput::default();
        out.write(b"one\ntwo\n");
        assert_eq!(out.take_lines(), ["one", "two"]);
        assert!(out.take_lines().is_empty());
        out.write(&vec![b'x'; CAPACITY + 10]);
        let lines = out.take_lines();
        assert_eq!(lines.last().unwrap(), "… 10 more bytes of output dropped");
    }
}
