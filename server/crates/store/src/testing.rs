//! Test support shared by this crate's conformance suite and the
//! integration tests (`eddy-tests` enables the `testing` feature): each
//! test gets a fresh schema on the PostgreSQL server that
//! `EDDY_TEST_POSTGRES` names, so tests share the server but no data.

/// The variable naming the PostgreSQL server for tests (CI sets it).
pub const POSTGRES_VAR: &str = "EDDY_TEST_POSTGRES";

/// Schemas made here are named `eddy_test_<pid>_<random>` (the query for
/// leftovers spells it too): the pid lets a later run drop what a finished
/// run left behind.
const PREFIX: &str = "eddy_test_";

/// The PostgreSQL server for tests, when `EDDY_TEST_POSTGRES` is set.
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_VAR).ok()
}

/// A fresh, empty schema on the PostgreSQL server at `base`, and a URL
/// whose connections use it (`Store::connect` it, or hand it to a server).
/// Schemas of earlier runs whose process is gone are dropped first.
///
/// # Panics
///
/// When the server is unreachable or refuses the schema: a test that was
/// told to use PostgreSQL must not quietly skip it.
pub async fn postgres_schema(base: &str) -> String {
    use sqlx::{AssertSqlSafe, Connection, Executor};

    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is set but {base} is unreachable: {e}"));
    let leftovers: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(schema_name AS TEXT) FROM information_schema.schemata \
         WHERE schema_name LIKE 'eddy\\_test\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for old in leftovers {
        // Only our own names (eddy_test_<pid>_<hex>), and only when that
        // process is gone.
        let pid = old[PREFIX.len()..].split('_').next().unwrap_or_default();
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let drop = format!("DROP SCHEMA IF EXISTS {old} CASCADE");
            // Another run may be dropping it too: best effort.
            let _ = conn.execute(AssertSqlSafe(drop)).await;
        }
    }
    let schema = format!(
        "{PREFIX}{}_{:016x}",
        std::process::id(),
        rand::random::<u64>()
    );
    conn.execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .unwrap_or_else(|e| panic!("create schema {schema} on {base}: {e}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
