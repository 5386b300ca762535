//! Per-client-address limits: open connections, and new Engine.IO sessions
//! per second. One client address must not take the whole server (every
//! connection costs a file descriptor; every session a task and a queue),
//! nor walk past a proxy's per-address limit by opening many sessions over
//! one keep-alive connection.
//!
//! Behind a proxy every connection comes from the proxy: its address is not
//! the client's. Peers listed in `trusted_proxies` are not capped per
//! address; for them the client is the right-most `X-Forwarded-For` entry
//! that is not itself a trusted proxy. Anyone else's `X-Forwarded-For` is
//! ignored (a client could otherwise pick any address it likes).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use parking_lot::Mutex;

use crate::config::Config;
pub(crate) use crate::config::IpRange;
use crate::metrics::AddressRefusals;

/// Addresses tracked at once for the session rate. Entries whose bucket is
/// full again are dropped first; beyond this, new addresses are refused.
const MAX_TRACKED: usize = 65_536;

/// The key an address is counted under: IPv6 clients by their /64 (one
/// subscriber usually holds a whole /64 and could rotate through it).
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(net))
        }
        v4 => v4,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AddressLimits {
    /// Connections one address may hold open; 0 = no limit.
    pub max_connections: u32,
    /// New sessions per second from one address (bursts of twice); 0 = no limit.
    pub sessions_per_second: u32,
    pub trusted_proxies: Vec<IpRange>,
}

impl AddressLimits {
    pub(crate) fn from_config(c: &Config) -> Self {
        Self {
            max_connections: c.max_connections_per_address,
            sessions_per_second: c.sessions_per_second_per_address,
            trusted_proxies: c.trusted_proxies.clone(),
        }
    }
}

pub(crate) struct AddressGuard {
    limits: AddressLimits,
    pub refusals: AddressRefusals,
    connections: Mutex<HashMap<IpAddr, u32>>,
    sessions: RateTable,
    auth_failures: RateTable,
}

/// Failed authentications one address may make per second (bursts of
/// [`AUTH_FAILURE_BURST`]); past that, the admin and tenant APIs answer 429
/// without looking at the token. A token of 128 random bits is not guessed
/// at this pace; a fat-fingered operator is not locked out for long.
const AUTH_FAILURES_PER_SECOND: f64 = 2.0;
const AUTH_FAILURE_BURST: f64 = 10.0;

/// A token bucket per address, bounded in the addresses it tracks.
struct RateTable {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateTable {
    fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token (`take`) or only checks that one is there; `Err` says
    /// how long until one is. A rate of 0 is no limit.
    fn admit(&self, ip: IpAddr, now: Instant, take: bool) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let key = bucket_key(ip);
        let mut buckets = self.buckets.lock();
        if !buckets.contains_key(&key) {
            if !take {
                return Ok(());
            }
            if buckets.len() >= MAX_TRACKED {
                // Forget addresses whose bucket has refilled: they owe nothing.
                let full_after = Duration::from_secs_f64(self.burst / self.rate);
                buckets.retain(|_, b| now.duration_since(b.at) < full_after);
                if buckets.len() >= MAX_TRACKED {
                    return Err(Duration::from_secs(1));
                }
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate)
            .min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            if take {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

/// The address already holds `max_connections_per_address` connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this address holds as many connections as it may")]
pub(crate) struct AddressFull;

/// One open connection of an address; dropping it gives the slot back.
pub(crate) struct AddressSlot {
    guard: Arc<AddressGuard>,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut connections = self.guard.connections.lock();
        if let Some(n) = connections.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                connections.remove(&self.key);
            }
        }
    }
}

impl AddressGuard {
    pub(crate) fn new(limits: AddressLimits) -> Arc<Self> {
        Arc::new(Self {
            refusals: AddressRefusals::default(),
            connections: Mutex::new(HashMap::new()),
            sessions: RateTable::new(
                f64::from(limits.sessions_per_second),
                f64::from(limits.sessions_per_second) * 2.0,
            ),
            auth_failures: RateTable::new(AUTH_FAILURES_PER_SECOND, AUTH_FAILURE_BURST),
            limits,
        })
    }

    pub(crate) fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.limits.trusted_proxies.iter().any(|r| r.contains(ip))
    }

    /// A new connection from `peer`: a slot, none for a trusted proxy (whose
    /// connections carry many clients), or `Err` when the address is at its limit.
    pub(crate) fn connect(
        self: &Arc<Self>,
        peer: IpAddr,
    ) -> Result<Option<AddressSlot>, AddressFull> {
        if self.limits.max_connections == 0 || self.is_trusted_proxy(peer) {
            return Ok(None);
        }
        let key = bucket_key(peer);
        let mut connections = self.connections.lock();
        let n = connections.entry(key).or_insert(0);
        if *n >= self.limits.max_connections {
            self.refusals.connections.inc();
            return Err(AddressFull);
        }
        *n += 1;
        Ok(Some(AddressSlot {
            guard: self.clone(),
            key,
        }))
    }

    /// The client's address: the peer's, or, when the peer is a trusted
    /// proxy, the right-most forwarded address that is not a trusted proxy.
    pub(crate) fn client_address(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if !self.is_trusted_proxy(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        forwarded
            .iter()
            .rev()
            .filter_map(|hop| {
                hop.trim()
                    .parse::<IpAddr>()
                    .ok()
                    .map(|ip| ip.to_canonical())
            })
            .find(|ip| !self.is_trusted_proxy(*ip))
            .unwrap_or(peer)
    }

    /// The guard the accept loop put on a request, with the request's TCP
    /// peer and its client's address (see [`AddressGuard::client_address`]);
    /// `None` for a request that did not come through the accept loop.
    pub(crate) fn of_request(
        extensions: &Extensions,
        headers: &HeaderMap,
    ) -> Option<(Arc<Self>, SocketAddr, IpAddr)> {
        let guard = extensions.get::<Arc<Self>>()?;
        let ConnectInfo(peer) = extensions.get::<ConnectInfo<SocketAddr>>()?;
        Some((guard.clone(), *peer, guard.client_address(*peer, headers)))
    }

    /// Takes one new-session token for `client`, or says how long until
    /// one is available.
    pub(crate) fn open_session(&self, client: IpAddr) -> Result<(), Duration> {
        let admitted = self.open_session_at(client, Instant::now());
        if admitted.is_err() {
            self.refusals.sessions.inc();
        }
        admitted
    }

    fn open_session_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        self.sessions.admit(client, now, true)
    }

    /// `Err(wait)` while `client` has used up its failed authentications.
    pub(crate) fn auth_allowed(&self, client: IpAddr) -> Result<(), Duration> {
        self.auth_failures.admit(client, Instant::now(), false)
    }

    /// Counts a failed authentication from `client`.
    pub(crate) fn auth_failed(&self, client: IpAddr) {
        let _ = self.auth_failures.admit(client, Instant::now(), true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(
        max_connections: u32,
        sessions_per_second: u32,
        trusted: &[&str],
    ) -> Arc<AddressGuard> {
        AddressGuard::new(AddressLimits {
            max_connections,
            sessions_per_second,
            trusted_proxies: trusted.iter().map(|t| IpRange::parse(t).unwrap()).collect(),
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connections_are_capped_per_address_and_given_back() {
        let g = guard(2, 0, &["127.0.0.2"]);
        let a = g.connect(ip("127.0.0.1")).unwrap();
        let b = g.connect(ip("127.0.0.1")).unwrap();
        assert!(g.connect(ip("127.0.0.1")).is_err());
        assert!(
            g.connect(ip("127.0.0.3")).unwrap().is_some(),
            "another address"
        );
        assert!(
            g.connect(ip("127.0.0.2")).unwrap().is_none(),
            "a trusted proxy"
        );
        drop(a);
        assert!(g.connect(ip("127.0.0.1")).is_ok());
        drop(b);
        // IPv6 clients count per /64.
        let _x = g.connect(ip("2001:db8::1")).unwrap();
        let _y = g.connect(ip("2001:db8::2")).unwrap();
        assert!(g.connect(ip("2001:db8::ffff")).is_err());
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let g = guard(0, 0, &["10.0.0.0/8"]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 1.2.3.4, 10.0.0.9".parse().unwrap(),
        );
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        assert_eq!(g.client_address(proxy, &headers), ip("1.2.3.4"));
        let stranger: SocketAddr = "5.5.5.5:5000".parse().unwrap();
        assert_eq!(g.client_address(stranger, &headers), ip("5.5.5.5"));
        assert_eq!(g.client_address(proxy, &HeaderMap::new()), ip("10.0.0.1"));
    }

    #[test]
    fn sessions_refill_at_the_rate_with_bursts_of_twice() {
        let g = guard(0, 10, &[]);
        let t0 = Instant::now();
        let a = ip("1.1.1.1");
        for _ in 0..20 {
            assert!(g.open_session_at(a, t0).is_ok());
        }
        let wait = g.open_session_at(a, t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(
            g.open_session_at(ip("2.2.2.2"), t0).is_ok(),
            "others unaffected"
        );
        assert!(
            g.open_session_at(a, t0 + Duration::from_millis(100))
                .is_ok()
        );
        assert!(
            g.open_session_at(a, t0 + Duration::from_millis(100))
                .is_err()
        );
    }

    #[test]
    fn failed_authentications_are_throttled_per_address() {
        let g = guard(0, 0, &[]);
        let a = ip("3.3.3.3");
        assert!(
            g.auth_allowed(a).is_ok(),
            "no failures yet: not even tracked"
        );
        for _ in 0..AUTH_FAILURE_BURST as usize {
            assert!(g.auth_allowed(a).is_ok());
            g.auth_failed(a);
        }
        assert!(g.auth_allowed(a).is_err());
        assert!(g.auth_allowed(ip("4.4.4.4")).is_ok());
    }
}
