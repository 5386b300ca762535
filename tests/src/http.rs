//! A minimal HTTP/1.1 client for exact polling tests: one connection per
//! request, status and body back as they came.

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::WAIT;

#[derive(Clone)]
pub struct Http {
    addr: SocketAddr,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.request("GET", path, Bytes::new(), &[]).await
    }

    pub async fn post(&self, path: &str, body: impl Into<Bytes>) -> anyhow::Result<Reply> {
        self.request("POST", path, body.into(), &[]).await
    }

    /// A fresh HTTP/1.1 connection (within [`WAIT`]).
    async fn connect(
        &self,
    ) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
        tokio::time::timeout(WAIT, async {
            let stream = tokio::net::TcpStream::connect(self.addr).await?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            anyhow::Ok(sender)
        })
        .await
        .with_context(|| format!("connecting to {} timed out", self.addr))?
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let mut sender = self.connect().await?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        let response = tokio::time::timeout(WAIT, sender.send_request(request))
            .await
            .with_context(|| format!("{method} {path} timed out"))??;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(WAIT, response.into_body().collect())
            .await
            .with_context(|| format!("{method} {path}: the body did not arrive in time"))??
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// A server-sent event stream being read: each [`EventStream::next_data`]
/// returns the data of the next event (comments and keep-alives skipped).
pub struct EventStream {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    body: hyper::body::Incoming,
    buffer: String,
}

impl Http {
    /// Opens a long-lived GET (a server-sent event stream).
    pub async fn stream(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<EventStream> {
        let mut sender = self.connect().await?;
        let mut request = Request::builder()
            .uri(path)
            .header("host", self.addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(
            WAIT,
            sender.send_request(request.body(Full::new(Bytes::new()))?),
        )
        .await
        .with_context(|| format!("GET {path} timed out"))??;
        Ok(EventStream {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.into_body(),
            buffer: String::new(),
        })
    }
}

impl EventStream {
    /// The next event's data; `None` when the server ended the stream.
    pub async fn next_data(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|l| l.strip_prefix(' ').unwrap_or(l))
                    .collect();
                if !data.is_empty() {
                    return Ok(Some(data.join("\n")));
                }
            }
            let frame = tokio::time::timeout(WAIT, self.body.frame())
                .await
                .context("no event within the wait")?;
            match frame {
                None => return Ok(None),
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// The next event's data as JSON.
    pub async fn next_json(&mut self) -> anyhow::Result<serde_json::Value> {
        let data = self.next_data().await?.context("the stream ended")?;
        Ok(serde_json::from_str(&data)?)
    }
}
