//! Write transactions that behave the same on both backends.

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::{DbConnection, StoreError, outbox};

type Manager = <DbConnection as Connection>::TransactionManager;

/// True inside a transaction (or a savepoint) on this connection.
pub fn in_transaction(conn: &mut DbConnection) -> bool {
    Manager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .is_ok_and(|depth| depth.is_some())
}

/// Runs `work` in a transaction that commits if it returns `Ok` and rolls back otherwise.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front: a
/// deferred transaction that reads first and writes later fails at once with "database is
/// locked" when another writer got in between, whereas an immediate one waits its turn.
/// Nested calls become savepoints. When the outermost one commits after queuing provisioning
/// jobs, the dispatchers are woken.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let nested = Manager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(StoreError::from)?
        .is_some();
    match conn {
        DbConnection::Sqlite(sqlite) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
        _ => Manager::begin_transaction(conn),
    }
    .map_err(StoreError::from)?;
    let outcome = match work(conn) {
        Ok(value) => Manager::commit_transaction(conn)
            .map(|()| value)
            .map_err(|error| StoreError::from(error).into()),
        Err(error) => {
            if let Err(rollback_error) = Manager::rollback_transaction(conn) {
                tracing::warn!(error.message = %rollback_error, "rolling back a transaction failed");
            }
            Err(error)
        }
    };
    if !nested {
        outbox::transaction_ended(outcome.is_ok());
    }
    outcome
}
