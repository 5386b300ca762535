//! A client connection's place under the server's connection cap. The accept
//! loop hands one to each connection's requests; a websocket upgrade keeps it
//! for the socket's life (which outlives the HTTP connection).

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use super::AddressSlot;

/// Connections served over the cap, for probes and operators.
pub(crate) const OVERFLOW_CONNECTIONS: usize = 16;

/// Held by a client connection for as long as it is open: its place under
/// the server's cap and under its address's. Dropping the last clone gives
/// both back.
#[derive(Clone)]
pub(crate) struct ConnectionPermit(
    #[allow(dead_code)] Arc<(OwnedSemaphorePermit, Option<AddressSlot>)>,
);

impl ConnectionPermit {
    pub(crate) fn new(permit: OwnedSemaphorePermit, address: Option<AddressSlot>) -> Self {
        Self(Arc::new((permit, address)))
    }
}

/// Marks a connection accepted over the cap: it may reach probes, metrics
/// and the admin API, not open or serve sessions.
#[derive(Clone, Copy)]
pub(crate) struct OverflowConnection;
