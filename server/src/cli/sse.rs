//! Server-sent events read from a byte stream: the `data` of each event,
//! the rest (comments, `event`, `id`, `retry`) ignored. What it holds is
//! bounded: one event's bytes at most, so a server that never ends a line
//! cannot grow the CLI without limit.

use std::collections::VecDeque;

/// Longest event accepted (a log line is at most a few KiB).
const MAX_EVENT_BYTES: usize = 1 << 20;

#[derive(Default)]
pub(super) struct SseParser {
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    /// The data lines of the event being read.
    data: Option<String>,
    /// Complete events not yet taken.
    ready: VecDeque<String>,
}

impl SseParser {
    /// Takes the next chunk of the stream.
    pub(super) fn feed(&mut self, mut chunk: &[u8]) -> anyhow::Result<()> {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&chunk[..end]);
            chunk = &chunk[end + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.field(&line)?;
        }
        self.line.extend_from_slice(chunk);
        anyhow::ensure!(
            self.line.len() <= MAX_EVENT_BYTES,
            "the server sent a line of more than {MAX_EVENT_BYTES} bytes"
        );
        Ok(())
    }

    /// The next complete event's data.
    pub(super) fn next_event(&mut self) -> Option<String> {
        self.ready.pop_front()
    }

    fn field(&mut self, line: &[u8]) -> anyhow::Result<()> {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                self.ready.push_back(data);
            }
            return Ok(());
        }
        let line = String::from_utf8_lossy(line);
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        if name == "data" {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
            let size = self.data.as_ref().map_or(0, String::len);
            anyhow::ensure!(
                size <= MAX_EVENT_BYTES,
                "the server sent an event of more than {MAX_EVENT_BYTES} bytes"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(parser: &mut SseParser) -> Vec<String> {
        std::iter::from_fn(|| parser.next_event()).collect()
    }

    #[test]
    fn events_are_their_data_whatever_the_chunking() {
        let stream = b": keep-alive\n\ndata: {\"a\":1}\n\nevent: x\r\nid: 4\r\ndata:two\r\ndata: lines\r\n\r\ndata: open";
        for size in 1..stream.len() {
            let mut parser = SseParser::default();
            let mut seen = Vec::new();
            for chunk in stream.chunks(size) {
                parser.feed(chunk).unwrap();
                seen.extend(events(&mut parser));
            }
            assert_eq!(seen, ["{\"a\":1}", "two\nlines"], "chunks of {size}");
        }
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut parser = SseParser::default();
        let big = vec![b'x'; MAX_EVENT_BYTES / 2];
        parser.feed(b"data: ").unwrap();
        parser.feed(&big).unwrap();
        parser.feed(&big).unwrap_err();
    }

    #[test]
    fn an_event_of_endless_data_lines_is_bounded() {
        let mut parser = SseParser::default();
        let line = format!("data: {}\n", "x".repeat(1000));
        let result = (0..2000).try_for_each(|_| parser.feed(line.as_bytes()));
        assert!(result.is_err());
    }
}
