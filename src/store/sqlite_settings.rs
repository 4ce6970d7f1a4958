//! What every SQLite connection is set up with before the pool lends it.

use diesel::SqliteConnection;
use diesel::connection::SimpleConnection;

/// WAL so readers do not block the writer, a busy timeout so concurrent writers wait instead of
/// failing, foreign keys enforced, and no fsync per commit (WAL keeps that durable enough:
/// a power cut can lose the last commits, never corrupt the file).
///
/// Temporary storage stays in memory: each write of a group commit runs in a savepoint whose
/// undo pages SQLite would otherwise spill to a temporary file, a write and often a file
/// creation per commit. Sorts that no index covers stay in memory too; a batch's undo pages
/// and a sorted page of users are small beside the process's memory.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                       PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                       PRAGMA temp_store = MEMORY;";

pub fn apply(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(PRAGMAS)?;
    keep_query_plans_across_bindings(conn);
    Ok(())
}

/// Turns on SQLite's query planner stability guarantee.
///
/// Without it, SQLite plans `LIMIT ?` and `LIKE ?` around the value bound the first time and
/// throws the compiled statement away whenever that parameter is bound again, so every
/// `.first()` and every page of a list was parsed and planned anew even though diesel keeps
/// the prepared statement. The plans it would tailor to a value only matter for a literal
/// `LIMIT 0` or a `LIKE` prefix on an index, which Roster's queries do not rely on.
#[allow(unsafe_code)]
fn keep_query_plans_across_bindings(conn: &mut SqliteConnection) {
    // SAFETY: the handle comes from a live connection borrowed mutably for the whole call, and
    // SQLITE_DBCONFIG_ENABLE_QPSG takes exactly an int and a nullable int pointer.
    let outcome = unsafe {
        conn.with_raw_connection(|db| {
            libsqlite3_sys::sqlite3_db_config(
                db,
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as std::ffi::c_int,
                std::ptr::null_mut::<std::ffi::c_int>(),
            )
        })
    };
    if outcome != libsqlite3_sys::SQLITE_OK {
        // Only slower, never wrong: statements are then re-planned as before.
        tracing::warn!(
            sqlite.code = outcome,
            "SQLite refused to keep query plans across bindings"
        );
    }
}
