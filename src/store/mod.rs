//! Storage on SQLite (embedded, the default) or PostgreSQL, through diesel and an r2d2 pool.
//! This is the only module that speaks SQL; everything above it works with domain types.

pub mod api_keys;
pub mod audit;
pub mod bulk_jobs;
mod checkpoint;
mod connection;
pub mod email_outbox;
mod error;
mod group_commit;
pub mod groups;
pub mod integrations;
mod migrate;
mod one_of;
pub mod organization;
pub mod outbox;
pub mod password_tokens;
pub mod resources;
mod reusable_update;
pub mod schedules;
pub mod schema;
pub mod scim_query;
pub mod settings;
mod sqlite_settings;
mod time;
mod transaction;
pub mod user_queries;
pub mod users;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use thread_local::ThreadLocal;

pub use connection::{Backend, DbConnection, redact_url};
pub use error::{StoreError, UniqueField};
pub use transaction::{in_transaction, write_transaction};

use connection::ConnectionManager;
use group_commit::GroupCommit;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `postgres://…`, or a path (optionally `sqlite://path`) to an SQLite file.
    pub url: String,
    /// Connections kept open at most. SQLite has one writer at a time, so a few suffice there.
    pub max_connections: u32,
    /// How long a caller waits for a connection before the database counts as unavailable.
    pub connect_timeout: Duration,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let max_connections = match Backend::of_url(&url) {
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        };
        Self {
            url,
            max_connections,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A handle on the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager>,
    manager: ConnectionManager,
    backend: Backend,
    /// On SQLite, each thread's own read-only connection for [`Store::read`].
    readers: Arc<ThreadLocal<RefCell<DbConnection>>>,
    /// On SQLite, the thread that applies [`Store::write`]s.
    writer: Option<Arc<GroupCommit>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A connection lent by the pool.
pub type Conn = PooledConnection<ConnectionManager>;

impl Store {
    /// Opens the pool and checks that one connection can be made, so that a wrong URL or a
    /// database that is down is reported at once, with the database's own reason.
    pub fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        let manager = ConnectionManager::new(&options.url);
        let backend = manager.backend();
        // Try once directly: the pool would only report a timeout, not why connecting failed.
        diesel::r2d2::ManageConnection::connect(&manager).map_err(StoreError::unavailable)?;
        let pool = Pool::builder()
            // A connection to a local SQLite file cannot go stale, so checking it with a query
            // at every checkout only costs time; a PostgreSQL connection can be dropped by the
            // server and is still checked. Readiness (`ping`) queries the database itself.
            .test_on_check_out(backend == Backend::Postgres)
            .max_size(options.max_connections)
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            .build(manager.clone())
            .map_err(StoreError::unavailable)?;
        let writer = match backend {
            Backend::Sqlite => Some(Arc::new(GroupCommit::start(manager.clone())?)),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            manager,
            backend,
            readers: Arc::default(),
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations this binary carries that the database has not seen yet.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        migrate::run_pending(&mut conn)
    }

    /// Borrows a connection for blocking work (CLI commands, tests, workers' blocking steps).
    pub fn conn(&self) -> Result<Conn, StoreError> {
        self.pool.get().map_err(StoreError::unavailable)
    }

    /// Runs blocking database work off the async runtime, keeping the caller's tracing span and
    /// re-raising a panic from the closure instead of turning it into an error.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = store.conn()?;
            work(&mut conn)
        });
        match task.await {
            Ok(result) => result,
            Err(join_error) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            Err(_) => Err(StoreError::unavailable("the database task was cancelled").into()),
        }
    }

    /// Runs `work` in a write transaction that commits if it returns `Ok`. Keep it short, with
    /// the reads and computing it needs done before (a password hashed, say).
    ///
    /// On SQLite, which has one writer at a time, every write of the process goes to one
    /// thread, which commits the writes waiting at that moment together, each in a savepoint
    /// of its own (`group_commit`): a failed write is undone alone. The outcome arrives once
    /// the commit is done. On PostgreSQL the write runs on a pooled connection, as
    /// [`Store::run`] does.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(work).await,
            None => self.run(move |conn| write_transaction(conn, work)).await,
        }
    }

    /// Runs a short read, such as finding one user or one page of them.
    ///
    /// On SQLite the read runs right here, on a read-only connection this thread keeps: it is a
    /// lookup in a file the operating system has cached, done in microseconds, and handing it
    /// to a blocking thread and back cost several times more than the read itself. A read never
    /// waits for a writer there (WAL). On PostgreSQL every query is a round trip to the server,
    /// so the read goes to a blocking thread as [`Store::run`] does.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if self.backend != Backend::Sqlite {
            return self.run(work).await;
        }
        let reader = self
            .readers
            .get_or_try(|| self.open_reader().map(RefCell::new))?;
        match reader.try_borrow_mut() {
            Ok(mut conn) => work(&mut conn),
            // Only a read started from inside another read on this thread gets here.
            Err(_) => {
                let mut conn = self.conn()?;
                work(&mut conn)
            }
        }
    }

    fn open_reader(&self) -> Result<DbConnection, StoreError> {
        use diesel::connection::SimpleConnection;
        let mut conn = self.manager.connect().map_err(StoreError::unavailable)?;
        conn.batch_execute("PRAGMA query_only = ON")?;
        Ok(conn)
    }

    /// True when the database answers a trivial query now.
    pub async fn ping(&self) -> bool {
        self.run(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1").map_err(StoreError::from)
        })
        .await
        .is_ok()
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
