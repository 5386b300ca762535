//! Connecting, per-backend settings, migrations, transactions.

use std::path::Path;
use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Executor, Row};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the registry. Cheap to clone (a connection pool inside).
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// SQLite only: writers queue here, first come first served, before
    /// they take a connection and the database's write lock.
    write_gate: Option<Arc<Mutex<()>>>,
}

/// A write transaction (see [`Store::begin`]). Derefs to its connection,
/// so `&mut *tx` runs a query in it; dropped without `commit`, it rolls back.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Store {
    /// Connects to `sqlite://path` (created if missing) or `postgres://…`
    /// and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema.
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
            )));
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new().max_connections(match backend {
            // SQLite serialises writers anyway; a few connections serve readers.
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        });
        let options = match backend {
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options,
        };
        let pool = options.connect(&url).await?;
        let write_gate = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            write_gate,
        })
    }

    /// Applies pending migrations (also done by [`Store::connect`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrations::migrator(self.backend)
            .run(&self.pool)
            .await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Row-locking suffix for a `SELECT` that precedes a write in the same
    /// transaction (SQLite locks the whole database on write instead).
    pub(crate) fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`): a transaction that reads then writes would
    /// otherwise fail with "database is locked" when another writer got in
    /// between, instead of waiting its turn.
    ///
    /// SQLite writers first queue on an in-process FIFO gate. Without it
    /// they meet at the database lock, whose busy handler *sleeps* (1, 2, 5,
    /// … 100 ms) between tries while writers already running take the lock
    /// again, so a write can lose its turn over and over to a flood of
    /// others (the hardening probe saw another app's admin writes slow down
    /// 37× during one app's key-value flood). With the gate a write waits
    /// only for the writes queued before it, and holds no pool connection
    /// while it waits. (The data directory lock keeps other processes off
    /// the file, so the gate sees every writer.)
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        let turn = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Checks the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let row: AnyRow = sqlx::query("SELECT 1 AS one").fetch_one(&self.pool).await?;
        let _: i32 = row
            .try_get::<i32, _>("one")
            .or_else(|_| row.try_get::<i64, _>("one").map(|v| v as i32))?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://path`: creates the directory, and the file on first use.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Invalid(
            "the registry needs a file: sqlite://PATH".into(),
        ));
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Invalid(format!("cannot create {}: {e}", parent.display())))?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else {
        format!("mode=rwc{}{query}", if query.is_empty() { "" } else { "&" })
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Marks SQL assembled from this crate's own constant pieces (column lists,
/// a locking suffix) as safe: no caller data is ever formatted into SQL;
/// values always go through bind parameters.
pub(crate) fn audited(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_urls_create_the_file() {
        assert_eq!(
            super::sqlite_url("sqlite://x.db").unwrap(),
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            super::sqlite_url("sqlite:x.db?cache=shared").unwrap(),
            "sqlite://x.db?mode=rwc&cache=shared"
        );
        assert_eq!(
            super::sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
        assert!(super::sqlite_url("sqlite::memory:").is_err());
    }
}
