use thiserror::Error;

/// Why a registry operation failed. `NotFound`, `Conflict` and `Invalid`
/// are the caller's to report; `Database` is ours (with its cause).
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// A change that would pass a tenant quota or a platform ceiling;
    /// `ceiling` names which (`tenant quota max_apps`, `platform ceiling
    /// max_connections`).
    #[error("{message}")]
    Quota { ceiling: String, message: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// A unique-constraint violation: somebody else got there first.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        e.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
    }
}
