//! The registry's schema migrations, embedded in the binary: one table per
//! backend, read from `migrations/{sqlite,postgres}/NNNN_name.sql`.
//!
//! Written out here rather than with `sqlx::migrate!`: that macro alone pulls
//! sqlx's proc-macro stack (a second build of sqlx-core and both drivers)
//! into every build. Versions, descriptions and checksums are the ones the
//! macro produced, so databases it migrated carry on.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::db::Backend;

/// (version, description, SQL), in order.
type Table = &'static [(i64, &'static str, &'static str)];

const SQLITE: Table = &[
    (
        1,
        "registry",
        include_str!("../migrations/sqlite/0001_registry.sql"),
    ),
    (
        2,
        "app limits",
        include_str!("../migrations/sqlite/0002_app_limits.sql"),
    ),
    (
        3,
        "kv usage",
        include_str!("../migrations/sqlite/0003_kv_usage.sql"),
    ),
    (
        4,
        "token lifecycle",
        include_str!("../migrations/sqlite/0004_token_lifecycle.sql"),
    ),
    (
        5,
        "tenants",
        include_str!("../migrations/sqlite/0005_tenants.sql"),
    ),
    (
        6,
        "handlers 0 2",
        include_str!("../migrations/sqlite/0006_handlers_0_2.sql"),
    ),
];

const POSTGRES: Table = &[
    (
        1,
        "registry",
        include_str!("../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        "app limits",
        include_str!("../migrations/postgres/0002_app_limits.sql"),
    ),
    (
        3,
        "kv usage",
        include_str!("../migrations/postgres/0003_kv_usage.sql"),
    ),
    (
        4,
        "token lifecycle",
        include_str!("../migrations/postgres/0004_token_lifecycle.sql"),
    ),
    (
        5,
        "tenants",
        include_str!("../migrations/postgres/0005_tenants.sql"),
    ),
    (
        6,
        "handlers 0 2",
        include_str!("../migrations/postgres/0006_handlers_0_2.sql"),
    ),
];

fn table(backend: Backend) -> Table {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// The migrator for `backend`.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    migrator_to(backend, i64::MAX)
}

/// The migrator for `backend` up to `version` (an older release's schema).
pub(crate) fn migrator_to(backend: Backend, version: i64) -> Migrator {
    let migrations = table(backend)
        .iter()
        .filter(|(v, _, _)| *v <= version)
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `migrations/<backend>/` is in its table, in order, and
    /// named after its version and description (as `sqlx::migrate!` reads them).
    #[test]
    fn the_tables_list_every_migration_file() {
        for (backend, dir) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let listed: Vec<String> = table(backend)
                .iter()
                .map(|(version, description, _)| {
                    format!("{version:04}_{}.sql", description.replace(' ', "_"))
                })
                .collect();
            assert_eq!(files, listed, "{dir}");
            for ((_, _, sql), file) in table(backend).iter().zip(&files) {
                assert_eq!(*sql, std::fs::read_to_string(path.join(file)).unwrap());
                assert!(!sql.contains("-- no-transaction"), "{file}");
            }
        }
    }
}
