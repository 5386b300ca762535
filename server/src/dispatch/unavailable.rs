//! The handler of an app that cannot run events: no version deployed yet,
//! or its active version failed to load. Clients are told why.

use std::sync::Arc;

use eddy_proto::codes::ClientErrorCode;

use super::{
    Ack, ConnectEvent, ConnectReject, ConnectReply, EventError, Handler, HandlerFuture,
    SocketContext, SocketEvent,
};
use crate::socket::DisconnectReason;

pub(crate) struct UnavailableHandler {
    message: String,
}

impl UnavailableHandler {
    pub(crate) fn no_deployment() -> Self {
        Self {
            message: "this app has no active deployment".into(),
        }
    }

    pub(crate) fn broken(_why: &str) -> Self {
        // The cause goes to the server log; clients get the short version.
        Self {
            message: "this app's handler is unavailable".into(),
        }
    }
}

impl Handler for UnavailableHandler {
    fn describe(&self) -> String {
        "unavailable".into()
    }

    fn on_connect<'a>(
        &'a self,
        _cx: &'a Arc<SocketContext>,
        _event: ConnectEvent<'a>,
    ) -> HandlerFuture<'a, Result<ConnectReply, ConnectReject>> {
        Box::pin(async move { Err(ConnectReject::new(self.message.clone())) })
    }

    fn on_event<'a>(
        &'a self,
        _cx: &'a Arc<SocketContext>,
        _event: SocketEvent<'a>,
    ) -> HandlerFuture<'a, Result<Option<Ack>, EventError>> {
        Box::pin(async move {
            Err(EventError::server(
                ClientErrorCode::AppUnavailable,
                self.message.clone(),
            ))
        })
    }

    fn on_disconnect<'a>(
        &'a self,
        _cx: &'a Arc<SocketContext>,
        _reason: DisconnectReason,
    ) -> HandlerFuture<'a, ()> {
        Box::pin(async {})
    }
}
