//! App secrets encrypted at rest: the one place that seals and opens them,
//! with the server's `secret_key` (`EDDY_SECRET_KEY`).
//!
//! A sealed value is `version (1) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖
//! tag (16)`. The nonce is random per value (a 96-bit random nonce is safe
//! for far more values than 256 per app will ever make). The associated
//! data binds the ciphertext to its app id and name: copied to another app
//! or another name in the registry, it does not open. The version byte
//! leaves room for another scheme or key later without guessing.
//!
//! A leaf: it imports nothing of the crate.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use thiserror::Error;

/// The scheme above; the first byte of every sealed value.
const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// What sealing adds to a value: version, nonce and tag.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
/// Separates this use of the key from any other one it might get.
const CONTEXT: &[u8] = b"eddy app config v1\0";

// The registry leaves a secret this much room beyond the plaintext limit.
const _: () = assert!(OVERHEAD <= eddy_store::MAX_SEALING_OVERHEAD);

/// The server's secret key, ready to seal and open app secrets.
pub(crate) struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

/// A sealed value that does not open: another key sealed it, or it was
/// changed, or copied from another app or name. Which one, nobody can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the secret cannot be decrypted with this server's secret key")]
pub(crate) struct Unreadable;

/// The system's random number generator failed (sealing needs a nonce).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the system's random number generator failed")]
pub(crate) struct NoRandomness;

impl Sealer {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, key).expect("AES-256 takes a 32-byte key");
        Self {
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        }
    }

    /// `plaintext` sealed for config `name` of app `app_id`.
    pub(crate) fn seal(
        &self,
        app_id: i64,
        name: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, NoRandomness> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| NoRandomness)?;
        let mut sealed = Vec::with_capacity(plaintext.len() + OVERHEAD);
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        // It fails only past GCM's limit of 64 GiB; a value is at most 64 KiB.
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to(app_id, name)),
                &mut body,
            )
            .expect("a config value is far under AES-GCM's length limit");
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// The plaintext of a value [`Sealer::seal`] made for this app and name.
    pub(crate) fn open(
        &self,
        app_id: i64,
        name: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, Unreadable> {
        let [VERSION, rest @ ..] = sealed else {
            return Err(Unreadable);
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(Unreadable);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unreadable)?;
        let mut body = body.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(bound_to(app_id, name)), &mut body)
            .map_err(|_| Unreadable)?;
        let len = plaintext.len();
        body.truncate(len);
        Ok(body)
    }
}

/// The associated data: the context, the app id (fixed width) and the
/// name (last, so no two pairs give the same bytes).
fn bound_to(app_id: i64, name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(CONTEXT.len() + 8 + name.len());
    aad.extend_from_slice(CONTEXT);
    aad.extend_from_slice(&app_id.to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&[byte; 32])
    }

    #[test]
    fn a_sealed_value_opens_for_its_app_and_name() {
        let s = sealer(1);
        let sealed = s.seal(7, "API_KEY", b"hunter2").unwrap();
        assert_eq!(sealed.len(), b"hunter2".len() + OVERHEAD);
        assert_eq!(sealed[0], VERSION);
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"), "not in clear");
        assert_eq!(s.open(7, "API_KEY", &sealed).unwrap(), b"hunter2");
        // Empty and large values too.
        let empty = s.seal(7, "e", b"").unwrap();
        assert_eq!(s.open(7, "e", &empty).unwrap(), b"");
        let big = vec![0xa5; 64 * 1024];
        assert_eq!(s.open(7, "b", &s.seal(7, "b", &big).unwrap()).unwrap(), big);
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let s = sealer(1);
        let a = s.seal(7, "k", b"same").unwrap();
        let b = s.seal(7, "k", b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[1..1 + NONCE_LEN], b[1..1 + NONCE_LEN]);
    }

    #[test]
    fn a_changed_value_does_not_open() {
        let s = sealer(1);
        let sealed = s.seal(7, "k", b"value").unwrap();
        for at in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[at] ^= 0x01;
            assert_eq!(s.open(7, "k", &bad), Err(Unreadable), "byte {at} flipped");
        }
        for cut in 0..sealed.len() {
            assert_eq!(
                s.open(7, "k", &sealed[..cut]),
                Err(Unreadable),
                "cut at {cut}"
            );
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(s.open(7, "k", &longer), Err(Unreadable));
    }

    #[test]
    fn a_value_copied_to_another_app_or_name_does_not_open() {
        let s = sealer(1);
        let sealed = s.seal(7, "k", b"value").unwrap();
        assert_eq!(s.open(8, "k", &sealed), Err(Unreadable));
        assert_eq!(s.open(7, "K", &sealed), Err(Unreadable));
        assert_eq!(s.open(7, "k2", &sealed), Err(Unreadable));
        assert_eq!(s.open(-7, "k", &sealed), Err(Unreadable));
    }

    #[test]
    fn another_key_cannot_open_it() {
        let sealed = sealer(1).seal(7, "k", b"value").unwrap();
        assert_eq!(sealer(2).open(7, "k", &sealed), Err(Unreadable));
        assert_eq!(sealer(1).open(7, "k", &sealed).unwrap(), b"value");
    }
}
