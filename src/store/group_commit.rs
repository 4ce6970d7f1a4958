//! Group commit on SQLite: one thread applies every write of the process, and commits the
//! writes that queued up while it was busy in one transaction, each in a savepoint of its own.
//!
//! SQLite has one writer at a time. Writers on several threads take turns through its lock,
//! and one that finds the lock taken sleeps in the busy handler for up to tens of milliseconds
//! before it looks again. Each commit also writes every page it changed to the write-ahead
//! log, and consecutive writes change many of the same pages (the end of the audit trail, its
//! head, the newest entries of the time indexes), which one commit for many writes writes once.
//! A thread beside the writer copies the log into the database file as it grows
//! (`checkpoint`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender};

use tokio::sync::oneshot;

use diesel::r2d2::ManageConnection;

use super::checkpoint::Checkpointer;
use super::connection::ConnectionManager;
use super::{DbConnection, StoreError, write_transaction};

/// At most this many writes share one commit, so that none waits long behind the others.
const MAX_BATCH: usize = 64;

/// The sending end of the writer's queue; the writer thread stops when it is dropped.
#[derive(Debug)]
pub(super) struct GroupCommit {
    jobs: Sender<Box<dyn Job>>,
}

/// What happened to a job, as its caller learns it.
enum Delivery<T, E> {
    Done(Result<T, E>),
    Panicked(Box<dyn Any + Send>),
}

/// How a job's run went, as the batch needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    /// Its changes stay in the batch's transaction.
    Kept,
    /// It failed and its savepoint was rolled back; the rest of the batch goes on.
    RolledBack,
    /// It panicked, leaving the transaction in an unknown state: the batch is abandoned.
    Panicked,
}

/// One write waiting in the queue, with the channel its outcome goes back on.
trait Job: Send {
    fn run(&mut self, conn: &mut DbConnection) -> Ran;
    /// Sends the outcome; `failure` replaces a kept outcome when the batch did not commit.
    fn deliver(self: Box<Self>, failure: Option<&StoreError>);
}

struct Pending<T, E, F> {
    work: Option<F>,
    span: tracing::Span,
    delivery: Option<Delivery<T, E>>,
    reply: oneshot::Sender<Delivery<T, E>>,
}

impl<T, E, F> Job for Pending<T, E, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection) -> Ran {
        let Some(work) = self.work.take() else {
            return Ran::RolledBack;
        };
        let _entered = self.span.enter();
        // Nested in the batch's transaction, this is a savepoint: a failed write is undone
        // without touching the others.
        match catch_unwind(AssertUnwindSafe(|| write_transaction(conn, work))) {
            Ok(outcome) => {
                let ran = if outcome.is_ok() {
                    Ran::Kept
                } else {
                    Ran::RolledBack
                };
                self.delivery = Some(Delivery::Done(outcome));
                ran
            }
            Err(payload) => {
                self.delivery = Some(Delivery::Panicked(payload));
                Ran::Panicked
            }
        }
    }

    fn deliver(self: Box<Self>, failure: Option<&StoreError>) {
        let delivery = match (self.delivery, failure) {
            (Some(Delivery::Done(Ok(_))), Some(failure)) => {
                Delivery::Done(Err(StoreError::unavailable(failure).into()))
            }
            (Some(delivery), _) => delivery,
            (None, failure) => Delivery::Done(Err(StoreError::unavailable(
                failure.map_or_else(|| "the write never ran".to_owned(), ToString::to_string),
            )
            .into())),
        };
        // The caller may have gone away (a dropped request); its write still happened.
        let _ = self.reply.send(delivery);
    }
}

impl GroupCommit {
    /// Starts the writer thread, which opens its own connection with `manager`.
    pub(super) fn start(manager: ConnectionManager) -> Result<Self, StoreError> {
        let (jobs, queue) = std::sync::mpsc::channel();
        let checkpointer = Checkpointer::start(manager.clone())?;
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || serve(&manager, &queue, &checkpointer))
            .map_err(|error| {
                StoreError::unavailable(format!("cannot start the writer: {error}"))
            })?;
        Ok(Self { jobs })
    }

    /// Queues `work` and waits for its outcome, which arrives once its batch has committed.
    /// A panic in `work` is raised again here.
    pub(super) async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            span: tracing::Span::current(),
            delivery: None,
            reply,
        };
        if self.jobs.send(Box::new(job)).is_err() {
            return Err(StoreError::unavailable("the database writer has stopped").into());
        }
        match outcome.await {
            Ok(Delivery::Done(result)) => result,
            Ok(Delivery::Panicked(payload)) => std::panic::resume_unwind(payload),
            Err(_) => Err(StoreError::unavailable("the database writer has stopped").into()),
        }
    }
}

/// The writer thread: takes the first waiting write, adds those that queued up behind it, and
/// commits them together, until the queue closes.
fn serve(manager: &ConnectionManager, queue: &Receiver<Box<dyn Job>>, checkpointer: &Checkpointer) {
    let mut conn: Option<DbConnection> = None;
    while let Ok(first) = queue.recv() {
        let open = match conn.take() {
            Some(open) => Ok(open),
            None => manager.connect().map_err(StoreError::unavailable),
        };
        let mut open = match open {
            Ok(open) => open,
            Err(error) => {
                tracing::error!(error.message = %error, "the database writer cannot connect");
                first.deliver(Some(&error));
                continue;
            }
        };
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        let mut panicked = false;
        let committed = write_transaction(&mut open, |conn| {
            let mut next = Some(first);
            while let Some(mut job) = next.take() {
                let ran = job.run(conn);
                batch.push(job);
                if ran == Ran::Panicked {
                    panicked = true;
                    return Err(StoreError::unavailable(
                        "another write in the same commit failed; try again",
                    ));
                }
                if batch.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            Ok(())
        });
        let failure = committed.err();
        if failure.is_none() {
            checkpointer.committed();
        }
        if let Some(error) = &failure
            && !panicked
        {
            tracing::warn!(error.message = %error, writes = batch.len(), "a group of writes did not commit");
        }
        // After a panic the transaction's nesting is unknown: the connection is closed, which
        // rolls back whatever is left of it, and the next batch opens a new one.
        if !panicked {
            conn = Some(open);
        }
        for job in batch {
            job.deliver(failure.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::on_each_backend;
    use super::super::{Store, StoreError};
    use diesel::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime")
    }

    fn count(store: &Store, prefix: &str) -> i64 {
        use super::super::schema::settings::dsl;
        dsl::settings
            .filter(dsl::key.like(format!("{prefix}%")))
            .count()
            .get_result(&mut store.conn().expect("conn"))
            .expect("count")
    }

    fn put(key: String) -> impl FnOnce(&mut super::DbConnection) -> Result<(), StoreError> {
        use super::super::schema::settings::dsl;
        move |conn| {
            diesel::insert_into(dsl::settings)
                .values((
                    dsl::key.eq(key),
                    dsl::value.eq("1"),
                    dsl::updated_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            Ok(())
        }
    }

    #[test]
    fn concurrent_writes_all_commit_and_a_failing_one_leaves_the_others() {
        on_each_backend(|store| {
            runtime().block_on(async {
                let writes = (0..200).map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        store
                            .write(move |conn| {
                                put(format!("group-commit-{i:03}"))(conn)?;
                                if i % 10 == 0 {
                                    return Err(StoreError::Gone);
                                }
                                Ok(i)
                            })
                            .await
                    })
                });
                let outcomes = futures_join(writes).await;
                for (i, outcome) in outcomes.into_iter().enumerate() {
                    match outcome {
                        Ok(value) => assert_eq!(value, i),
                        Err(StoreError::Gone) => assert_eq!(i % 10, 0),
                        Err(other) => panic!("write {i}: {other}"),
                    }
                }
            });
            assert_eq!(
                count(store, "group-commit-"),
                180,
                "the failed writes left nothing"
            );
        });
    }

    #[test]
    fn a_panicking_write_panics_its_caller_and_the_writer_goes_on() {
        on_each_backend(|store| {
            runtime().block_on(async {
                let panicking = tokio::spawn({
                    let store = store.clone();
                    async move {
                        store
                            .write(|conn| {
                                put("panicked-write".into())(conn)?;
                                panic!("a bug in a write");
                                #[allow(unreachable_code)]
                                Ok::<(), StoreError>(())
                            })
                            .await
                    }
                });
                let error = panicking.await.expect_err("the panic reaches the caller");
                assert!(error.is_panic());
                store
                    .write(put("after-panic".into()))
                    .await
                    .expect("later writes still work");
            });
            assert_eq!(count(store, "panicked-write"), 0);
            assert_eq!(count(store, "after-panic"), 1);
        });
    }

    async fn futures_join<T>(
        handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, StoreError>>>,
    ) -> Vec<Result<T, StoreError>> {
        let mut outcomes = Vec::new();
        for handle in handles.collect::<Vec<_>>() {
            outcomes.push(handle.await.expect("no panic"));
        }
        outcomes
    }
}
