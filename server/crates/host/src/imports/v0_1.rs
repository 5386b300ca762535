//! `eddy:handler@0.1.0`'s imports, served by the current ones: each call is
//! converted to its 0.2 twin and the answer back. 0.1 has a subset of 0.2's
//! functions with the same meaning, so nothing here decides anything.

use crate::bindings::eddy::handler as now;
use crate::bindings::v0_1::eddy::handler as old;
use crate::state::HostState;

impl old::types::Host for HostState {}

fn target(to: old::sockets::Target) -> now::sockets::Target {
    use old::sockets::Target as T;
    match to {
        T::Socket(id) => now::sockets::Target::Socket(id),
        T::RoomsExcept(rooms) => now::sockets::Target::RoomsExcept(rooms),
        T::NamespaceExcept(except) => now::sockets::Target::NamespaceExcept(except),
    }
}

fn emit_error(e: now::sockets::EmitError) -> old::sockets::EmitError {
    use now::sockets::EmitError as E;
    match e {
        E::InvalidArgs => old::sockets::EmitError::InvalidArgs,
        E::InvalidEvent => old::sockets::EmitError::InvalidEvent,
        E::TooLarge => old::sockets::EmitError::TooLarge,
        E::LimitReached => old::sockets::EmitError::LimitReached,
    }
}

impl old::sockets::Host for HostState {
    fn emit(
        &mut self,
        to: old::sockets::Target,
        event: String,
        args: String,
        attachments: Vec<Vec<u8>>,
    ) -> wasmtime::Result<Result<u32, old::sockets::EmitError>> {
        let sent = now::sockets::Host::emit(self, target(to), event, args, attachments)?;
        Ok(sent.map_err(emit_error))
    }

    fn join(&mut self, socket: String, room: String) -> wasmtime::Result<bool> {
        now::sockets::Host::join(self, socket, room)
    }

    fn leave(&mut self, socket: String, room: String) -> wasmtime::Result<bool> {
        now::sockets::Host::leave(self, socket, room)
    }

    fn disconnect(&mut self, socket: String) -> wasmtime::Result<bool> {
        now::sockets::Host::disconnect(self, socket)
    }

    fn room_size(&mut self, room: String) -> wasmtime::Result<u32> {
        now::sockets::Host::room_size(self, room)
    }

    fn room_members(&mut self, room: String) -> wasmtime::Result<Vec<String>> {
        now::sockets::Host::room_members(self, room)
    }
}

fn kv_error(e: now::kv::KvError) -> old::kv::KvError {
    use now::kv::KvError as E;
    match e {
        E::QuotaExceeded => old::kv::KvError::QuotaExceeded,
        E::InvalidKey => old::kv::KvError::InvalidKey,
        E::NotANumber => old::kv::KvError::NotANumber,
        // 0.1's four calls never reach a bound of 0.2's new ones.
        E::Unavailable(why) | E::TooLarge(why) => old::kv::KvError::Unavailable(why),
    }
}

impl old::kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, old::kv::KvError> {
        now::kv::Host::get(self, key).await.map_err(kv_error)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> Result<(), old::kv::KvError> {
        now::kv::Host::set(self, key, value, ttl_ms)
            .await
            .map_err(kv_error)
    }

    async fn delete(&mut self, key: String) -> Result<bool, old::kv::KvError> {
        now::kv::Host::delete(self, key).await.map_err(kv_error)
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, old::kv::KvError> {
        now::kv::Host::increment(self, key, delta)
            .await
            .map_err(kv_error)
    }
}

impl old::log::Host for HostState {
    fn write(&mut self, level: old::log::Level, message: String) -> wasmtime::Result<()> {
        use old::log::Level as L;
        let level = match level {
            L::Trace => now::log::Level::Trace,
            L::Debug => now::log::Level::Debug,
            L::Info => now::log::Level::Info,
            L::Warn => now::log::Level::Warn,
            L::Error => now::log::Level::Error,
        };
        now::log::Host::write(self, level, message)
    }
}

impl old::clock::Host for HostState {
    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        now::clock::Host::now_ms(self)
    }
}

impl old::random::Host for HostState {
    fn bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        now::random::Host::bytes(self, len)
    }

    fn next_u64(&mut self) -> wasmtime::Result<u64> {
        now::random::Host::next_u64(self)
    }
}

/// The hooks' values, from the current contract's types to 0.1's and back:
/// the records are field for field the same.
pub(crate) mod hooks {
    use super::{now, old};

    pub(crate) fn socket_info(ctx: &now::types::SocketInfo) -> old::types::SocketInfo {
        old::types::SocketInfo {
            app: ctx.app.clone(),
            namespace: ctx.namespace.clone(),
            socket: ctx.socket.clone(),
            data: ctx.data.clone(),
        }
    }

    pub(crate) fn handshake(hs: &now::types::Handshake) -> old::types::Handshake {
        old::types::Handshake {
            auth: hs.auth.clone(),
            query: hs.query.clone(),
            headers: hs.headers.clone(),
            address: hs.address.clone(),
            issued_ms: hs.issued_ms,
        }
    }

    pub(crate) fn event(event: &now::types::Event) -> old::types::Event {
        old::types::Event {
            name: event.name.clone(),
            args: event.args.clone(),
            attachments: event.attachments.clone(),
            wants_ack: event.wants_ack,
        }
    }

    pub(crate) fn connected(
        reply: Result<old::types::ConnectReply, old::types::Reject>,
    ) -> Result<now::types::ConnectReply, now::types::Reject> {
        match reply {
            Ok(r) => Ok(now::types::ConnectReply {
                rooms: r.rooms,
                data: r.data,
            }),
            Err(r) => Err(now::types::Reject {
                message: r.message,
                data: r.data,
            }),
        }
    }

    pub(crate) fn handled(
        reply: Result<Option<old::types::Ack>, old::types::EventError>,
    ) -> Result<Option<now::types::Ack>, now::types::EventError> {
        match reply {
            Ok(ack) => Ok(ack.map(|a| now::types::Ack {
                args: a.args,
                attachments: a.attachments,
            })),
            Err(e) => Err(now::types::EventError {
                code: e.code,
                message: e.message,
            }),
        }
    }

    pub(crate) fn reason(reason: now::types::DisconnectReason) -> old::types::DisconnectReason {
        use now::types::DisconnectReason as R;
        use old::types::DisconnectReason as O;
        match reason {
            R::TransportClose => O::TransportClose,
            R::TransportError => O::TransportError,
            R::PingTimeout => O::PingTimeout,
            R::ParseError => O::ParseError,
            R::MessageTooLarge => O::MessageTooLarge,
            R::SlowConsumer => O::SlowConsumer,
            R::ConnectTimeout => O::ConnectTimeout,
            R::ServerShuttingDown => O::ServerShuttingDown,
            R::ForcedServerClose => O::ForcedServerClose,
            R::ClientNamespaceDisconnect => O::ClientNamespaceDisconnect,
            R::ServerNamespaceDisconnect => O::ServerNamespaceDisconnect,
        }
    }
}
