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

    /// Connects from the source address `from` (a 127.0.0.x: a proxy that
    /// hashes client addresses then sees different clients).
    pub async fn connect_from(url: &str, from: std::net::IpAddr) -> anyhow::Result<Self> {
        // ws://HOST:PORT/…
        let authority = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .context("no host in the url")?;
        let addr: std::net::SocketAddr = authority.parse()?;
        let connect = async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(std::net::SocketAddr::new(from, 0))?;
            let stream = socket.connect(addr).await?;
            let (inner, _) =
                tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await?;
            anyhow::Ok(inner)
        };
        let inner = tokio::time::timeout(WAIT, connect)
            .await
            .context("websocket connect timed out")??;
        Ok(Self { inner })
    }

    pub async fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.inner.send(Message::text(text)).await?;
        Ok(())
    }

    /// A text frame carrying `bytes` as they are, valid UTF-8 or not (what a
    /// broken or hostile client may send).
    pub async fn send_raw_text(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        let frame = Frame::message(
            Bytes::copy_from_slice(bytes),
            OpCode::Data(Data::Text),
            true,
        );
        self.inner.send(Message::Frame(frame)).await?;
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

/// A websocket client that behaves like a real one while the test looks
/// elsewhere: a task reads every frame, answers Engine.IO pings, and queues
/// the rest.
pub struct LiveWs {
    out: tokio::sync::mpsc::UnboundedSender<String>,
    frames: tokio::sync::mpsc::UnboundedReceiver<Frame>,
    task: tokio::task::JoinHandle<()>,
}

impl RawWs {
    pub fn live(self) -> LiveWs {
        let (out, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (frames_tx, frames) = tokio::sync::mpsc::unbounded_channel();
        let mut inner = self.inner;
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    text = outgoing.recv() => match text {
                        Some(text) => {
                            if inner.send(Message::text(text)).await.is_err() {
                                let _ = frames_tx.send(Frame::Closed(None));
                                return;
                            }
                        }
                        None => return,
                    },
                    message = inner.next() => {
                        let frame = match message {
                            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                                if inner.send(Message::text("3")).await.is_err() {
                                    Frame::Closed(None)
                                } else {
                                    continue;
                                }
                            }
                            Some(Ok(Message::Text(t))) => Frame::Text(t.to_string()),
                            Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
                            Some(Ok(Message::Close(c))) => {
                                Frame::Closed(c.map(|c| (c.code.into(), c.reason.to_string())))
                            }
                            Some(Ok(_)) => continue,
                            None | Some(Err(_)) => Frame::Closed(None),
                        };
                        let closed = matches!(frame, Frame::Closed(_));
                        let _ = frames_tx.send(frame);
                        if closed {
                            return;
                        }
                    }
                }
            }
        });
        LiveWs { out, frames, task }
    }
}

impl LiveWs {
    pub fn send(&self, text: &str) {
        let _ = self.out.send(text.to_owned());
    }

    /// The next frame (pings are answered, not returned).
    pub async fn next(&mut self) -> anyhow::Result<Frame> {
        tokio::time::timeout(WAIT, self.frames.recv())
            .await
            .context("no frame within the wait")?
            .context("the client task ended")
    }

    /// The next text frame; an error if the socket closed.
    pub async fn text(&mut self) -> anyhow::Result<String> {
        match self.next().await? {
            Frame::Text(t) => Ok(t),
            other => bail!("expected a text frame, got {other:?}"),
        }
    }

    /// Frames that arrived by now, without waiting.
    pub fn pending(&mut self) -> Vec<Frame> {
        let mut all = Vec::new();
        while let Ok(frame) = self.frames.try_recv() {
            all.push(frame);
        }
        all
    }

    /// Whether the connection is still open (as far as the reader knows).
    pub fn is_open(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for LiveWs {
    fn drop(&mut self) {
        self.task.abort();
    }
}
