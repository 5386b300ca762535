//! A minimal Socket.IO websocket client for load: connect to the main
//! namespace, send events (with acks), read frames, answer pings.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Where to connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// The Engine.IO path, e.g. `/apps/demo/socket.io/` or `/socket.io/`.
    pub path: String,
}

pub struct Client {
    ws: WebSocketStream<TcpStream>,
}

/// A frame the scenario cares about.
pub enum Incoming {
    /// A Socket.IO ack: id and the raw arguments.
    Ack(u64, String),
    /// A Socket.IO event as raw JSON (`["name",…]`).
    Event(String),
}

/// Longest one client may take to connect and join (generous: a load run
/// opens thousands at once on a busy machine).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// Connects from `source` (a loopback address, so many clients do not
    /// exhaust one address's ephemeral ports) and joins the main namespace.
    /// Gives up after [`CONNECT_TIMEOUT`]: a server that accepts and never
    /// answers must not hang a load run.
    pub async fn connect(target: &Target, source: Option<IpAddr>) -> anyhow::Result<Self> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_unbounded(target, source))
            .await
            .with_context(|| {
                format!(
                    "no Socket.IO connection to {} within {CONNECT_TIMEOUT:?}",
                    target.addr
                )
            })?
    }

    async fn connect_unbounded(target: &Target, source: Option<IpAddr>) -> anyhow::Result<Self> {
        let socket = match target.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = source {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = socket.connect(target.addr).await.context("tcp connect")?;
        stream.set_nodelay(true)?;
        let url = format!(
            "ws://{}{}?EIO=4&transport=websocket",
            target.addr, target.path
        );
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .context("websocket handshake")?;
        let mut client = Self { ws };
        let open = client.next_text().await?;
        if !open.starts_with('0') {
            bail!("expected an open packet, got {open}");
        }
        client.send("40").await?;
        loop {
            let t = client.next_text().await?;
            if t.starts_with("40") {
                return Ok(client);
            }
            if t.starts_with("44") {
                bail!("connect refused: {t}");
            }
        }
    }

    pub async fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Queues a frame without flushing (pipelined senders flush once).
    pub async fn feed(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.feed(Message::text(text)).await?;
        Ok(())
    }

    pub async fn flush(&mut self) -> anyhow::Result<()> {
        self.ws.flush().await?;
        Ok(())
    }

    /// The next Engine.IO text frame, answering pings on the way.
    async fn next_text(&mut self) -> anyhow::Result<String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    self.ws.send(Message::text("3")).await?;
                }
                Some(Ok(Message::Text(t))) => return Ok(t.to_string()),
                Some(Ok(Message::Close(_))) | None => bail!("closed by the server"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// The next ack or event.
    pub async fn next(&mut self) -> anyhow::Result<Incoming> {
        loop {
            let t = self.next_text().await?;
            if let Some(rest) = t.strip_prefix("43") {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let id = rest[..digits].parse().context("ack id")?;
                return Ok(Incoming::Ack(id, rest[digits..].to_owned()));
            }
            if let Some(rest) = t.strip_prefix("42") {
                return Ok(Incoming::Event(rest.to_owned()));
            }
        }
    }

    /// Answers the server's pings that have already arrived, without
    /// waiting: a client that only sends (a publisher) must still answer
    /// heartbeats, or the server closes it after ping interval + timeout.
    pub async fn answer_pings(&mut self) -> anyhow::Result<()> {
        use futures_util::FutureExt;
        loop {
            match self.ws.next().now_or_never() {
                Some(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => {
                    self.ws.send(Message::text("3")).await?;
                }
                Some(Some(Ok(_))) => {}
                Some(Some(Err(e))) => return Err(e.into()),
                Some(None) => bail!("closed by the server"),
                None => return Ok(()),
            }
        }
    }

    /// Reads frames (answering pings) until the connection ends or `until` passes.
    pub async fn idle(&mut self, until: tokio::time::Instant) -> anyhow::Result<()> {
        loop {
            match tokio::time::timeout_at(until, self.next_text()).await {
                Err(_) => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// Loopback source addresses to spread clients over: 127.0.0.x, 127.0.0.x+1, …
/// The first one depends on the process, so back-to-back runs do not share
/// one address's ephemeral ports (closed connections linger in TIME_WAIT).
pub fn source_address(index: usize) -> IpAddr {
    let base = std::process::id() as usize;
    IpAddr::from([127, 0, 0, 1 + ((base + index) % 250) as u8])
}
