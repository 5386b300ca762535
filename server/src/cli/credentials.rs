//! The credentials `eddy login` stores: one server URL, its admin token and
//! (for a server whose certificate a private CA signed) the CA file's path,
//! in a TOML file only its owner can read (mode 0600), so the admin
//! commands work without a token in the environment or on the command line
//! (where other users could read it from the process list).
//!
//! The file is `EDDY_CREDENTIALS`, else `$XDG_CONFIG_HOME/eddy/credentials.toml`,
//! else `~/.config/eddy/credentials.toml`.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Credentials {
    /// The server's base URL, as given at login.
    pub(super) server: String,
    /// The admin token it accepted.
    pub(super) token: String,
    /// The PEM file of extra certificate authorities the login trusted
    /// (an absolute path: the file stays where it is). Files written
    /// before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ca_file: Option<PathBuf>,
}

/// Where the credentials live, from the environment (`var` reads it).
pub(super) fn path_from(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(file) = set("EDDY_CREDENTIALS") {
        return Ok(PathBuf::from(file));
    }
    let config = match (set("XDG_CONFIG_HOME"), set("HOME")) {
        (Some(xdg), _) => PathBuf::from(xdg),
        (None, Some(home)) => Path::new(&home).join(".config"),
        (None, None) => {
            anyhow::bail!("no place for credentials: set EDDY_CREDENTIALS, XDG_CONFIG_HOME or HOME")
        }
    };
    Ok(config.join("eddy").join("credentials.toml"))
}

pub(super) fn path() -> anyhow::Result<PathBuf> {
    path_from(|name| std::env::var(name).ok())
}

/// The stored credentials, or `None` when nobody logged in.
pub(super) fn read(path: &Path) -> anyhow::Result<Option<Credentials>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        eprintln!(
            "eddy: warning: {} can be read by other users (mode {:o}); `chmod 600` it, or log in again",
            path.display(),
            mode & 0o777
        );
    }
    let credentials = toml::from_str(&text)
        .with_context(|| format!("{} is not a credentials file", path.display()))?;
    Ok(Some(credentials))
}

/// Replaces the file at once: a new file of mode 0600 beside it, renamed
/// over it, so no reader sees half a file and the token is never readable
/// by others, not even for a moment.
pub(super) fn write(path: &Path, credentials: &Credentials) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .context("the credentials path names no file")?
        .to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let text = format!(
        "# Written by `eddy login`; `eddy logout` deletes it.\n{}",
        toml::to_string(credentials)?
    );
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Deletes the file; false when there was none.
pub(super) fn remove(path: &Path) -> anyhow::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot delete {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("eddy-credentials-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn alice() -> Credentials {
        Credentials {
            server: "http://127.0.0.1:8080".into(),
            token: "et_alice".into(),
            ca_file: None,
        }
    }

    #[test]
    fn written_credentials_read_back_and_only_their_owner_can_read_them() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("eddy").join("credentials.toml");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, &alice()).unwrap();
        assert_eq!(read(&path).unwrap(), Some(alice()));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        // A second login replaces the file whole, still 0600, with no
        // temporary file left beside it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let bob = Credentials {
            server: "https://10.0.0.2:8443".into(),
            token: "et_bob".into(),
            ca_file: Some("/etc/eddy/ca.pem".into()),
        };
        write(&path, &bob).unwrap();
        assert_eq!(read(&path).unwrap(), Some(bob));
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["credentials.toml"]);

        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
        assert_eq!(read(&path).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_without_a_ca_file_reads_as_none_and_none_is_not_written() {
        let dir = temp_dir("no-ca");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.toml");
        std::fs::write(
            &path,
            "server = \"http://127.0.0.1:8080\"\ntoken = \"et_alice\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read(&path).unwrap(), Some(alice()));
        write(&path, &alice()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("ca_file"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_credentials_is_an_error_naming_it() {
        let dir = temp_dir("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.toml");
        std::fs::write(&path, "server = 1\n").unwrap();
        let error = format!("{:#}", read(&path).unwrap_err());
        assert!(error.contains("is not a credentials file"), "{error}");
        assert!(error.contains(&*path.to_string_lossy()), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_path_is_eddy_credentials_else_the_xdg_config_dir_else_home() {
        use crate::cli::fake_env as env;
        let all = [
            ("EDDY_CREDENTIALS", "/tmp/c.toml"),
            ("XDG_CONFIG_HOME", "/xdg"),
            ("HOME", "/home/a"),
        ];
        assert_eq!(path_from(env(&all)).unwrap(), Path::new("/tmp/c.toml"));
        assert_eq!(
            path_from(env(&all[1..])).unwrap(),
            Path::new("/xdg/eddy/credentials.toml")
        );
        assert_eq!(
            path_from(env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/home/a")])).unwrap(),
            Path::new("/home/a/.config/eddy/credentials.toml")
        );
        assert!(path_from(env(&[])).is_err());
    }
}
