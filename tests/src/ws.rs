//! A raw websocket client that sees every Engine.IO frame.

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::WAIT;

pub struct RawWs {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What arrived next.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// The server closed the websocket: close code and reason.
    Closed(Option<(u16, String)>),
}

impl RawWs {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (inner, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .context("websocket connect timed out")??;
        Ok(Self { inner })
    }

    pub async fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.inner.send(Message::text(text)).await?;
        Ok(())
    }

    pub async fn send_binary(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.inner
            .send(Message::binary(Bytes::copy_from_slice(data)))
            .await?;
        Ok(())
    }

    /// The next frame (ws-level pings are answered by tungstenite and skipped).
    pub async fn next(&mut self) -> anyhow::Result<Frame> {
        loop {
            let message = tokio::time::timeout(WAIT, self.inner.next())
                .await
                .context("no frame within the wait")?;
            return Ok(match message {
                None => Frame::Closed(None),
                Some(Err(_)) => Frame::Closed(None),
                Some(Ok(Message::Text(t))) => Frame::Text(t.to_string()),
                Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
                Some(Ok(Message::Close(c))) => {
                    Frame::Closed(c.map(|c| (c.code.into(), c.reason.to_string())))
                }
                Some(Ok(_)) => continue,
            });
        }
    }

    /// The next text frame that is not an Engine.IO ping ("2").
    pub async fn text(&mut self) -> anyhow::Result<String> {
        loop {
            match self.next().await? {
                Frame::Text(t) if t == "2" => continue,
                Frame::Text(t) => return Ok(t),
                other => bail!("expected a text frame, got {other:?}"),
            }
        }
    }

    pub async fn binary(&mut self) -> anyhow::Result<Vec<u8>> {
        match self.next().await? {
            Frame::Binary(b) => Ok(b),
            other => bail!("expected a binary frame, got {other:?}"),
        }
    }

    /// Waits for the server to close, skipping other frames; returns the close frame.
    pub async fn closed(&mut self) -> anyhow::Result<Option<(u16, String)>> {
        loop {
            if let Frame::Closed(c) = self.next().await? {
                return Ok(c);
            }
        }
    }

    /// Opens a Socket.IO connection to the main namespace: reads the open
    /// packet, sends `40`, reads the CONNECT reply and the echo's `auth` event.
    pub async fn socketio_handshake(&mut self) -> anyhow::Result<String> {
        let open = self.text().await?;
        anyhow::ensure!(open.starts_with('0'), "expected open, got {open}");
        self.send("40").await?;
        let connect = self.text().await?;
        anyhow::ensure!(
            connect.starts_with("40{\"sid\":"),
            "expected CONNECT, got {connect}"
        );
        let auth = self.text().await?;
        anyhow::ensure!(auth == "42[\"auth\",{}]", "expected auth, got {auth}");
        Ok(connect)
    }
}
