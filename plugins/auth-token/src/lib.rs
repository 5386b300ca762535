//! `auth-token`: refuses connections without a valid signed token. Shows
//! authentication in `on_connect`, refusal reasons the client sees in
//! `connect_error`, and per-user rooms.
//!
//! A token is `user.expires_ms.signature`, where `signature` is the hex
//! HMAC-SHA256 of `user.expires_ms` under the app's secret. The tenant's
//! backend mints tokens; clients pass them as `auth: { token }`. The secret
//! is the key-value entry `auth-token:secret` (set it from your backend);
//! without one, the demo secret `eddy-demo-secret` applies and a warning is
//! logged.
//!
//! - a valid token: accepted, the socket joins `user:<user>`;
//! - `whoami` → ack with the user.

use eddy_sdk::{Ack, ConnectReply, Context, Event, EventResult, Handler, Handshake, Reject, kv};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub struct AuthToken;

pub const DEMO_SECRET: &str = "eddy-demo-secret";
const SECRET_KEY: &str = "auth-token:secret";

fn secret() -> Vec<u8> {
    match kv::get(SECRET_KEY) {
        Ok(Some(secret)) if !secret.is_empty() => secret,
        _ => {
            eddy_sdk::log::warn("auth-token: no secret in kv `auth-token:secret`; using the demo secret");
            DEMO_SECRET.as_bytes().to_vec()
        }
    }
}

/// Checks a token and returns its user.
pub fn verify(token: &str, secret: &[u8], now_ms: u64) -> Result<String, &'static str> {
    let mut parts = token.rsplitn(2, '.');
    let (Some(signature), Some(signed)) = (parts.next(), parts.next()) else {
        return Err("malformed token");
    };
    let (user, expires) = signed.rsplit_once('.').ok_or("malformed token")?;
    let expires: u64 = expires.parse().map_err(|_| "malformed token")?;
    let signature = decode_hex(signature).ok_or("malformed token")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| "bad secret")?;
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature).map_err(|_| "bad signature")?;
    if expires <= now_ms {
        return Err("token expired");
    }
    if user.is_empty() {
        return Err("malformed token");
    }
    Ok(user.to_owned())
}

/// Mints a token (what a tenant's backend does; used by the tests).
pub fn sign(user: &str, expires_ms: u64, secret: &[u8]) -> String {
    let signed = format!("{user}.{expires_ms}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("{signed}.{hex}")
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[eddy_sdk::handler]
impl Handler for AuthToken {
    fn on_connect(_cx: &Context, handshake: &Handshake) -> Result<ConnectReply, Reject> {
        let token = handshake
            .auth::<serde_json::Value>()
            .and_then(|a| a["token"].as_str().map(str::to_owned))
            .ok_or_else(|| Reject::new("missing token"))?;
        let user = verify(&token, &secret(), eddy_sdk::now_ms()).map_err(Reject::new)?;
        Ok(ConnectReply::accept().join(format!("user:{user}")).data(&user))
    }

    fn on_event(cx: &Context, event: Event) -> EventResult {
        match event.name.as_str() {
            "whoami" => Ok(Some(Ack::of(&cx.data::<String>()))),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::json;
    use eddy_sdk::testing::MockHost;

    #[test]
    fn accepts_only_valid_unexpired_tokens() {
        let host = MockHost::new();
        let now = eddy_sdk::now_ms();
        let good = sign("ada", now + 60_000, DEMO_SECRET.as_bytes());
        let cx = host.connect::<AuthToken>("s", &Handshake::with_auth(json!({ "token": good }))).unwrap();
        assert_eq!(host.rooms_of("s"), ["user:ada"]);
        let who = host.event::<AuthToken>(&cx, Event::new("whoami", json!([]))).unwrap();
        assert_eq!(who.unwrap().args(), "[\"ada\"]");
        let cases = [
            (json!({}), "missing token"),
            (json!({ "token": "nonsense" }), "malformed token"),
            (json!({ "token": sign("ada", now - 1, DEMO_SECRET.as_bytes()) }), "token expired"),
            (json!({ "token": sign("ada", now + 60_000, b"other secret") }), "bad signature"),
        ];
        for (auth, why) in cases {
            let err = host.connect::<AuthToken>("x", &Handshake::with_auth(auth)).unwrap_err();
            assert_eq!(err.message(), why);
        }
    }
}
