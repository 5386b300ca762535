//! Random credentials and their stored form. Credentials are 256 random
//! bits, so a plain SHA-256 is a sound hash for them (nothing to brute-force
//! as with passwords); comparison is constant-time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A credential in clear text. It prints redacted; read it once with
/// [`Secret::expose`] to hand it to its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh random credential with a readable prefix (`sk_`, `et_`, …).
    pub fn generate(prefix: &str) -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn from_string(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The stored form of a credential: hex SHA-256.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two hashes without an early exit.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_redacted() {
        let a = Secret::generate("sk_");
        let b = Secret::generate("sk_");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("sk_") && a.expose().len() == 46);
        assert_eq!(format!("{a:?}"), "Secret(…)");
        assert!(same_hash(&a.hash(), &hash_secret(a.expose())));
        assert!(!same_hash(&a.hash(), &b.hash()));
    }
}
