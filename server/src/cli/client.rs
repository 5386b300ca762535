//! A small HTTP/1.1 client for the admin API, over plain TCP or TLS
//! (`tls.rs`): one connection per request, JSON in and out, problem+json
//! errors turned into their message, and server-sent event streams read an
//! event at a time. Every request has a timeout: a server that accepts and
//! never answers must not hold the CLI (or the script running it) forever;
//! a stream, which may rightly be quiet, is bounded by its keep-alives
//! instead.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::sse::SseParser;
use super::tls::Tls;
use super::url::ServerUrl;

pub(super) struct AdminClient {
    url: ServerUrl,
    /// For an `https://` server.
    tls: Option<Tls>,
    token: String,
    /// For one whole request: connect, send, and read the answer.
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

/// Longest to wait for a connection, TCP and TLS (within the request's
/// timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl AdminClient {
    /// A client of `server`; `ca_file` adds trusted roots for `https://`.
    pub(super) fn new(
        server: &str,
        token: String,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let url = ServerUrl::parse(server)?;
        let tls = if url.tls {
            Some(Tls::new(&url.host, ca_file)?)
        } else {
            None
        };
        Ok(Self {
            url,
            tls,
            token,
            timeout,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        })
    }

    pub(super) fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send("GET", path, None, Bytes::new())
    }

    pub(super) fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(
            "POST",
            path,
            Some("application/json"),
            Bytes::from(body.to_string()),
        )
    }

    pub(super) fn put_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(
            "PUT",
            path,
            Some("application/json"),
            Bytes::from(body.to_string()),
        )
    }

    pub(super) fn patch_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(
            "PATCH",
            path,
            Some("application/json"),
            Bytes::from(body.to_string()),
        )
    }

    pub(super) fn post_bytes(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Value> {
        self.send("POST", path, Some(content_type), Bytes::from(body))
    }

    pub(super) fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send("DELETE", path, None, Bytes::new())
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<Value> {
        let uri = format!("{}/admin/api/v1{path}", self.url.base_path);
        let exchange = self.exchange(method, &uri, content_type, body);
        self.runtime.block_on(async {
            tokio::time::timeout(self.timeout, exchange)
                .await
                .unwrap_or_else(|_| {
                    bail!(
                        "{method} {uri}: no answer from {} within {} s (--timeout-secs)",
                        self.url.authority,
                        self.timeout.as_secs_f64()
                    )
                })
        })
    }

    async fn exchange(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<Value> {
        let response = self.respond(method, uri, content_type, body).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value = json_or_text(&bytes);
        if !status.is_success() {
            return Err(refusal(status, &value));
        }
        Ok(value)
    }

    /// Connects, sends one request and returns the response with its body
    /// unread.
    async fn respond(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<hyper::Response<Incoming>> {
        let connect_timeout = CONNECT_TIMEOUT.min(self.timeout);
        let authority = &self.url.authority;
        let connecting = tokio::net::TcpStream::connect((self.url.host.as_str(), self.url.port));
        let tcp = match tokio::time::timeout(connect_timeout, connecting).await {
            Ok(connected) => {
                connected.with_context(|| format!("cannot reach the server at {authority}"))?
            }
            Err(_elapsed) => bail!(
                "cannot reach the server at {authority} within {} s",
                connect_timeout.as_secs_f64()
            ),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", authority)
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request.body(Full::new(body))?;
        let Some(tls) = &self.tls else {
            return send(tcp, request).await;
        };
        let handshake = tls.handshake(tcp, authority);
        match tokio::time::timeout(connect_timeout, handshake).await {
            Ok(stream) => send(stream?, request).await,
            Err(_elapsed) => bail!(
                "no TLS handshake with {authority} within {} s",
                connect_timeout.as_secs_f64()
            ),
        }
    }

    /// Opens a server-sent event stream (`GET path`); its events come from
    /// [`AdminClient::next_event`]. The request's timeout bounds the wait
    /// for the response's head, not the stream.
    pub(super) fn open_stream(&self, path: &str) -> anyhow::Result<EventStream> {
        let uri = format!("{}/admin/api/v1{path}", self.url.base_path);
        let opening = async {
            let response = self.respond("GET", &uri, None, Bytes::new()).await?;
            let status = response.status();
            if !status.is_success() {
                let limited = Limited::new(response.into_body(), MAX_ERROR_BYTES);
                let bytes = limited
                    .collect()
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .to_bytes();
                return Err(refusal(status, &json_or_text(&bytes)));
            }
            Ok::<_, anyhow::Error>(EventStream {
                body: response.into_body(),
                parser: SseParser::default(),
            })
        };
        self.runtime.block_on(async {
            tokio::time::timeout(self.timeout, opening)
                .await
                .unwrap_or_else(|_| {
                    bail!(
                        "GET {uri}: no answer from {} within {} s (--timeout-secs)",
                        self.url.authority,
                        self.timeout.as_secs_f64()
                    )
                })
        })
    }

    /// The next event's data, or `None` when the server ended the stream.
    pub(super) fn next_event(&self, stream: &mut EventStream) -> anyhow::Result<Option<String>> {
        self.runtime.block_on(async {
            loop {
                if let Some(data) = stream.parser.next_event() {
                    return Ok(Some(data));
                }
                let frame = match tokio::time::timeout(STREAM_IDLE, stream.body.frame()).await {
                    Err(_elapsed) => bail!(
                        "the server sent nothing for {} s (not even a keep-alive): the connection is lost",
                        STREAM_IDLE.as_secs()
                    ),
                    Ok(None) => return Ok(None),
                    Ok(Some(frame)) => frame?,
                };
                if let Ok(data) = frame.into_data() {
                    stream.parser.feed(&data)?;
                }
            }
        })
    }
}

/// Sends `request` as the one request of a new HTTP/1.1 connection over
/// `io`; the response comes back with its body unread (the connection lives
/// on in a task until the body is read or dropped).
async fn send<T>(io: T, request: Request<Full<Bytes>>) -> anyhow::Result<hyper::Response<Incoming>>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

/// An open server-sent event stream.
pub(super) struct EventStream {
    body: Incoming,
    parser: SseParser,
}

/// The server sends a keep-alive comment every 15 s; silence four times
/// that long means the connection is gone without a close.
const STREAM_IDLE: Duration = Duration::from_secs(60);

/// A refusal's body is a short problem document; more is not read.
const MAX_ERROR_BYTES: usize = 64 * 1024;

fn json_or_text(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

/// A problem+json body as the error people read: its detail, the deploy
/// step that refused, the status.
fn refusal(status: hyper::StatusCode, value: &Value) -> anyhow::Error {
    let detail = value["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string());
    match value["step"].as_str() {
        Some(step) => anyhow::anyhow!("{detail} (step: {step}; HTTP {})", status.as_u16()),
        None => anyhow::anyhow!("{detail} (HTTP {})", status.as_u16()),
    }
}
