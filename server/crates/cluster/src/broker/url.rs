//! Which broker connects the nodes, from the `broker_url` setting.

use crate::ClusterError;

/// Which broker connects the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerUrl {
    /// One node: nothing leaves the process.
    Local,
    Redis(String),
    Nats(String),
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<Self, ClusterError> {
        if url == "local" {
            Ok(Self::Local)
        } else if url.starts_with("redis://") || url.starts_with("rediss://") {
            redis::Client::open(url).map_err(|e| ClusterError::BadUrl(format!("{e}")))?;
            Ok(Self::Redis(url.to_owned()))
        } else if url.starts_with("nats://") {
            Ok(Self::Nats(url.to_owned()))
        } else {
            Err(ClusterError::BadUrl(
                "the broker is `local`, `redis://…` or `nats://…`".into(),
            ))
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Redis(_) => "redis",
            Self::Nats(_) => "nats",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_are_checked() {
        assert_eq!(BrokerUrl::parse("local").unwrap(), BrokerUrl::Local);
        assert_eq!(
            BrokerUrl::parse("redis://127.0.0.1:6379").unwrap().kind(),
            "redis"
        );
        assert_eq!(
            BrokerUrl::parse("nats://127.0.0.1:4222").unwrap().kind(),
            "nats"
        );
        assert!(BrokerUrl::parse("kafka://x").is_err());
        assert!(BrokerUrl::parse("").is_err());
    }
}
