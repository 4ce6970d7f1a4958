//! Passive checkpoints of SQLite's write-ahead log beside the group-commit writer
//! (`group_commit`).
//!
//! The connection that commits past a thousand pages of log copies them into the database
//! file, syncs it, and so lets the next write start the log over. For the one thread that
//! writes for the whole process, that copy is a stall of every write queued behind it. A
//! thread of its own copies the log every [`MIN_INTERVAL`] while writes go on, since a
//! passive checkpoint blocks neither the writer nor readers; the writer's own checkpoint then
//! finds little left to copy. (Checkpointing only here would never start the log over: SQLite
//! does that when a write begins with the whole log copied, which a steady stream of writes
//! never lets this thread see.)

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;

use super::connection::ConnectionManager;
use super::{DbConnection, StoreError};

/// Checkpoints at most this often: a page written many times in between is copied once.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// The writer's side of the checkpointer; the thread stops when it is dropped.
#[derive(Debug)]
pub(super) struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    pub(super) fn start(manager: ConnectionManager) -> Result<Self, StoreError> {
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("roster-sqlite-checkpointer".into())
            .spawn(move || serve(&manager, &woken))
            .map_err(|error| {
                StoreError::unavailable(format!("cannot start the checkpointer: {error}"))
            })?;
        Ok(Self { wake })
    }

    /// Says that a commit added to the log; never waits.
    pub(super) fn committed(&self) {
        match self.wake.try_send(()) {
            // Full: a wake is already waiting, which covers this commit too.
            Ok(()) | Err(TrySendError::Full(())) => {}
            // The writer's own checkpoints still keep the log in bounds.
            Err(TrySendError::Disconnected(())) => {
                tracing::warn!("the SQLite checkpointer has stopped");
            }
        }
    }
}

fn serve(manager: &ConnectionManager, woken: &Receiver<()>) {
    let mut conn: Option<DbConnection> = None;
    let mut last = Instant::now();
    while woken.recv().is_ok() {
        if let Some(wait) = MIN_INTERVAL.checked_sub(last.elapsed()) {
            std::thread::sleep(wait);
        }
        // Commits made meanwhile are covered by this checkpoint.
        while woken.try_recv().is_ok() {}
        let open = match conn.take() {
            Some(open) => Ok(open),
            None => manager.connect().map_err(StoreError::unavailable),
        };
        match open.and_then(|mut open| {
            open.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?;
            Ok(open)
        }) {
            Ok(open) => conn = Some(open),
            // Only slower writes follow: the writer's own checkpoints still run.
            Err(error) => {
                tracing::warn!(error.message = %error, "checkpointing the SQLite log failed")
            }
        }
        last = Instant::now();
    }
}
