//! Topic names (Redis channels, NATS subjects). A node subscribes to a room
//! topic only while it has members of that room, so a broadcast reaches only
//! the nodes that need it.
//!
//! - `{p}.ctl`: registry changes (every node);
//! - `{p}.nodes`: heartbeats (every node);
//! - `{p}.counts`: room member counts (every node);
//! - `{p}.nsp.{app}.{nsp}`: whole-namespace broadcasts (nodes with sockets in it);
//! - `{p}.room.{app}.{nsp}.{room}`: room broadcasts (nodes with members);
//! - `{p}.node.{tag}`: commands for the sockets of one node.
//!
//! Names that are not plain tokens (`/`, dots, spaces, long names) are
//! replaced by a hash; receivers always check the real names inside the
//! message, so a hash collision costs a wasted delivery, never a wrong one.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
}

/// A prefix keeps clusters apart on a shared broker.
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.len() <= 64 && prefix.bytes().all(plain)
}

fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `name` as one topic token.
fn token(name: &str) -> Cow<'_, str> {
    if !name.is_empty() && name.len() <= 64 && name.bytes().all(plain) {
        return Cow::Borrowed(name);
    }
    let digest = Sha256::digest(name.as_bytes());
    let mut out = String::with_capacity(25);
    out.push('~');
    for b in &digest[..12] {
        out.push_str(&format!("{b:02x}"));
    }
    Cow::Owned(out)
}

impl Topics {
    pub fn new(prefix: &str) -> Self {
        debug_assert!(valid_prefix(prefix));
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub fn control(&self) -> String {
        format!("{}.ctl", self.prefix)
    }

    pub fn nodes(&self) -> String {
        format!("{}.nodes", self.prefix)
    }

    pub fn counts(&self) -> String {
        format!("{}.counts", self.prefix)
    }

    pub fn namespace(&self, app: &str, namespace: &str) -> String {
        format!("{}.nsp.{}.{}", self.prefix, token(app), token(namespace))
    }

    pub fn room(&self, app: &str, namespace: &str, room: &str) -> String {
        format!(
            "{}.room.{}.{}.{}",
            self.prefix,
            token(app),
            token(namespace),
            token(room)
        )
    }

    pub fn node(&self, tag: &str) -> String {
        format!("{}.node.{}", self.prefix, token(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_tokens() {
        let t = Topics::new("eddy");
        assert_eq!(
            t.room("chat", "lobby", "blue-team_1"),
            "eddy.room.chat.lobby.blue-team_1"
        );
        let odd = t.room("chat", "/", "a.b c*>");
        let parts: Vec<&str> = odd.split('.').collect();
        assert_eq!(parts.len(), 5, "{odd}");
        assert!(parts[3].starts_with('~') && parts[4].starts_with('~'));
        assert_ne!(t.room("chat", "/", "x"), t.room("chat", "/", "y"));
        assert_eq!(t.room("chat", "/", "é"), t.room("chat", "/", "é"));
        assert!(!odd.contains(' ') && !odd.contains('*') && !odd.contains('>'));
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(valid_prefix("eddy"));
        assert!(valid_prefix("test-123_a"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a.b"));
        assert!(!valid_prefix("a b"));
    }
}
