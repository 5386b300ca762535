//! The typed values of the configuration: each one is checked while it is
//! deserialized, so an error carries the key (and the layer) it came from.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::AppConfig;

/// A value that never prints: `Debug` and `config check` show it redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// The key that encrypts app secrets at rest: 32 bytes, written as 64 hex
/// digits or as base64. Like [`Secret`], it never prints, and an error
/// about it never repeats what was given (a near miss of the real key is
/// still most of the key).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// What `EDDY_SECRET_KEY` must look like, for errors.
    pub(super) const FORMAT: &str =
        "give 32 bytes as 64 hex digits or as base64 (generate one with `openssl rand -hex 32`)";

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("empty; {}", Self::FORMAT));
        }
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| e.to_string())?
        } else {
            use base64::Engine as _;
            let engines = [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            engines
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or_else(|| format!("neither 64 hex digits nor base64; {}", Self::FORMAT))?
        };
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("{} bytes, not 32; {}", b.len(), Self::FORMAT))?;
        Ok(Self(bytes))
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Serialize for SecretKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for SecretKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// The native handlers an app in the config file can be served by
/// (diagnostics and benchmarks; tenant handlers are components in the registry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinHandler {
    /// Acknowledges every event with its arguments and emits it back.
    #[default]
    Echo,
}

/// An address range: `10.0.0.0/8`, `::1`, `192.168.1.7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    base: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let base: IpAddr = addr.trim().parse().ok()?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Self { base, prefix })
    }

    /// An IPv4-mapped IPv6 address is in the ranges of its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip.to_canonical()) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// As operators write it: one address alone, a range with its prefix.
impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = if self.base.is_ipv4() { 32 } else { 128 };
        if self.prefix == bits {
            write!(f, "{}", self.base)
        } else {
            write!(f, "{}/{}", self.base, self.prefix)
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
            .ok_or_else(|| format!("{text:?} is not an address or a range like 10.0.0.0/8"))
    }
}

impl Serialize for IpRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

// Checks run while a field is deserialized (`deserialize_with`), so that
// the error is reported against the key and the layer that set it.

/// Durations, caps and sizes for which 0 would stop the server working.
pub(super) fn positive<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default + PartialEq,
{
    let value = T::deserialize(d)?;
    if value == T::default() {
        return Err(D::Error::custom("must be greater than 0"));
    }
    Ok(value)
}

/// tungstenite reads a frame header into this buffer before growing it.
pub(super) fn ws_read_buffer<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let value = usize::deserialize(d)?;
    if value < 256 {
        return Err(D::Error::custom("must be at least 256 bytes"));
    }
    Ok(value)
}

/// An address, or nothing when empty: an empty variable or flag unsets it.
pub(super) fn optional_address<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(D::Error::custom)
}

pub(super) fn broker_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let url = String::deserialize(d)?;
    eddy_cluster::BrokerUrl::parse(&url).map_err(D::Error::custom)?;
    Ok(url)
}

pub(super) fn broker_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let prefix = String::deserialize(d)?;
    if !eddy_cluster::topics::valid_prefix(&prefix) {
        return Err(D::Error::custom(
            "use letters, digits, - and _ (at most 64)",
        ));
    }
    Ok(prefix)
}

pub(super) fn slug<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let slug = String::deserialize(d)?;
    eddy_store::validate_slug(&slug).map_err(D::Error::custom)?;
    Ok(slug)
}

pub(super) fn apps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AppConfig>, D::Error> {
    let apps = Vec::<AppConfig>::deserialize(d)?;
    let mut seen = HashSet::new();
    if let Some(twice) = apps.iter().find(|app| !seen.insert(app.slug.as_str())) {
        return Err(D::Error::custom(format!(
            "app {:?} is defined twice",
            twice.slug
        )));
    }
    Ok(apps)
}

/// `scheme://user:secret@host/…` → `scheme://user:<redacted>@host/…`; a URL
/// with no password is unchanged. Query parameters named `password` are
/// redacted too.
pub(super) fn redact_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "<redacted>");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=<redacted>"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{base}{query}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains(ip("10.9.8.7")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(IpRange::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("1.2.3.4")));
        for bad in ["10.0.0.0/33", "nope", "1.2.3.4/x", ""] {
            assert!(IpRange::parse(bad).is_none(), "{bad}");
        }
        for text in ["10.0.0.0/8", "10.0.0.2", "::1", "fd00::/8"] {
            assert_eq!(IpRange::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn a_secret_key_is_32_bytes_in_hex_or_base64_and_never_prints() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let key = SecretKey::parse(hex).unwrap();
        assert_eq!(key.expose()[..3], [0x00, 0x11, 0x22]);
        assert_eq!(key.expose()[31], 0xff);
        use base64::Engine as _;
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let text = engine.encode(key.expose());
            assert_eq!(SecretKey::parse(&text).unwrap(), key, "{text}");
        }
        for bad in [
            "",
            "  ",
            &hex[..62],
            "zz",
            &format!("{hex}00"),
            "not base64!",
        ] {
            let err = SecretKey::parse(bad).unwrap_err();
            assert!(err.contains("openssl rand -hex 32"), "{bad:?}: {err}");
        }
        // 16 bytes of base64 is a key of the wrong size, and says so.
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert!(
            SecretKey::parse(&short)
                .unwrap_err()
                .starts_with("16 bytes, not 32")
        );
        assert_eq!(format!("{key:?}"), "\"<redacted>\"");
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"<redacted>\"");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://eddy:hunter2@db:5432/eddy?sslmode=require&password=x"),
            "postgres://eddy:<redacted>@db:5432/eddy?sslmode=require&password=<redacted>"
        );
        assert_eq!(
            redact_password("redis://:s3cret@cache:6379/0"),
            "redis://:<redacted>@cache:6379/0"
        );
        assert_eq!(redact_password("nats://host:4222"), "nats://host:4222");
        assert_eq!(redact_password("local"), "local");
    }
}
