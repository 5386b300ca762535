//! Who a node is: a random id for the life of its process, and the short
//! tag that starts its sockets' ids.

use std::fmt;

/// A node, for the life of its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u64);

impl NodeId {
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// Six characters that start the ids of the node's sockets, so a
    /// command for a socket goes to its node alone.
    pub fn tag(self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..6)
            .map(|i| ALPHABET[((self.0 >> (i * 6)) & 63) as usize] as char)
            .collect()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Characters of a socket id that name its node (see [`NodeId::tag`]).
pub const TAG_LEN: usize = 6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_six_url_safe_characters() {
        let a = NodeId(0).tag();
        let b = NodeId(u64::MAX).tag();
        assert_eq!(a, "AAAAAA");
        assert_eq!(b, "______");
        let random = NodeId::random().tag();
        assert_eq!(random.len(), TAG_LEN);
        assert!(
            random
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}
