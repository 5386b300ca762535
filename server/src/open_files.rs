//! What the process may open and who may read what it writes: the
//! open-files limit, and private file modes for tenant data.
//!
//! The open-files limit. Every client connection is a file descriptor; a
//! server that runs out of them cannot accept anything, not even a health
//! probe. At start the soft limit is raised to the hard limit, and the
//! connection cap is kept below it with room for everything else the process
//! opens (the registry, the listener, compiled components, logs).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for what is not a client connection: the registry's
/// pool, the listener, the broker, compiled-artifact files, overflow
/// connections for probes.
pub(crate) const RESERVED: usize = 128;

/// Raises the soft open-files limit to the hard one; returns the limit now
/// in force (`None` when unlimited).
pub(crate) fn raise_soft_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(%error, "cannot raise the open-files limit to the hard limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// Files the server creates from now on are its own: the registry holds
/// tenant data and credential hashes, the cache tenant code. The data
/// directory is made (or tightened to) 0700.
pub(crate) fn make_private(data_dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)?;
    let mode = std::fs::metadata(data_dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::info!(dir = %data_dir.display(), "made the data directory private (0700)");
    }
    Ok(())
}

/// `configured`, lowered so that client connections cannot exhaust the
/// open-files limit.
pub(crate) fn connection_cap(configured: usize) -> usize {
    let Some(limit) = getrlimit(Resource::Nofile).current else {
        return configured;
    };
    let allowed = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(RESERVED)
        .max(1);
    if allowed < configured {
        tracing::info!(
            max_connections = configured,
            open_files_limit = limit,
            cap = allowed,
            "max_connections is above what the open-files limit allows; capping it (raise the limit, e.g. LimitNOFILE in the systemd unit)"
        );
    }
    configured.min(allowed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_data_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("eddy-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::make_private(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(dir.join("f"), b"x").unwrap();
        let file = std::fs::metadata(dir.join("f"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(file & 0o077, 0, "new files are private: {file:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_cap_leaves_room_for_other_files() {
        let limit = super::raise_soft_limit().unwrap_or(u64::MAX);
        let cap = super::connection_cap(usize::MAX);
        assert!(cap as u64 <= limit.saturating_sub(super::RESERVED as u64).max(1));
        assert_eq!(super::connection_cap(10), 10);
    }
}
