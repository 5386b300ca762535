//! One server per SQLite data directory. Two processes on one registry
//! file would each keep their own live snapshot and drift apart silently
//! (neither hears of the other's changes), and the in-process write queue
//! of `eddy-store` would no longer see every writer. So the server holds an
//! advisory lock on `eddy.lock` in the database's directory for its whole
//! life, with its pid written in it for the message the next one prints.
//! The OS drops the lock when the process ends, crash included: nothing
//! stale to clean up. (PostgreSQL registries are meant to be shared by a
//! cluster's nodes; they take no lock.)

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

pub(crate) const LOCK_FILE: &str = "eddy.lock";

/// The held lock; released when dropped (or when the process exits).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (created if missing), or says which process holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "another process".to_owned(),
                    pid => format!("another eddy process (pid {pid})"),
                };
                return Err(format!(
                    "the data directory {} is in use by {holder}; stop it, or give this server \
                     its own --data-dir (nodes that share a registry use PostgreSQL)",
                    dir.display()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(Self { _file: file })
    }
}

/// The directory whose lock guards a `sqlite://PATH` registry, or `None`
/// for another kind of database.
pub(crate) fn sqlite_dir(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = Path::new(rest.split('?').next().unwrap_or(rest));
    Some(match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = std::env::temp_dir().join(format!("eddy-dir-lock-{}", std::process::id()));
        let held = DirLock::acquire(&dir).unwrap();
        let pid = std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        // A second open file description conflicts like another process would.
        let refused = DirLock::acquire(&dir).unwrap_err();
        assert!(
            refused.contains(&format!("pid {}", std::process::id())),
            "{refused}"
        );
        drop(held);
        let again = DirLock::acquire(&dir).unwrap();
        drop(again);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn only_sqlite_urls_have_a_directory() {
        assert_eq!(
            sqlite_dir("sqlite://./eddy-data/eddy.db"),
            Some(PathBuf::from("./eddy-data"))
        );
        assert_eq!(
            sqlite_dir("sqlite:/var/lib/eddy/r.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/eddy"))
        );
        assert_eq!(sqlite_dir("sqlite://eddy.db"), Some(PathBuf::from(".")));
        assert_eq!(sqlite_dir("postgres://db/eddy"), None);
    }
}
