//! The schema migrations of both backends, embedded in the binary and run at start.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbConnection, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs what is pending and returns the names of the migrations applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE),
        DbConnection::Postgresql(conn) => conn.run_pending_migrations(POSTGRES),
    }
    .map_err(|error| StoreError::Unavailable(format!("migration failed: {error}")))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}
