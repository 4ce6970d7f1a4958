//! The provisioning outbox: one row per (user, resource) to bring up to date, written in the
//! transaction of the change that caused it, and claimed by dispatchers with a lease.
//!
//! All pending rows of one (user, resource) pair form one unit of work: only the oldest can be
//! claimed, and a claim covers every row of the pair that existed when it was made. The job
//! applies the user's current state, which those rows' changes all led to, so nothing is lost
//! and two dispatchers never work on one pair at once.

use std::cell::Cell;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::one_of::one_of;
use super::schema::{outbox, resources};
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError, write_transaction};
use crate::domain::{ResourceId, UserId};

/// The pending rows of one pair.
macro_rules! pair {
    ($user:expr, $resource:expr) => {
        outbox::table
            .filter(outbox::kind.eq(PROVISION))
            .filter(outbox::status.eq("pending"))
            .filter(outbox::user_id.eq($user))
            .filter(outbox::target_id.eq($resource))
    };
}

/// The kind of the rows this module writes (the table is shared with other outboxes).
pub const PROVISION: &str = "provision";

static COMMITTED: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

thread_local! {
    /// Whether the write transaction open on this thread queued a job. A transaction runs on
    /// one thread from its start to its commit, so the flag follows it.
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// Tells the dispatchers of this process to look for work now rather than at their next poll.
pub fn wake() {
    COMMITTED.notify_one();
}

/// Resolves when [`wake`] is called (or was called since the last wait).
pub async fn woken() {
    COMMITTED.notified().await;
}

/// Called by [`write_transaction`] when its outermost transaction ends. Waking only after the
/// commit matters on PostgreSQL, where a dispatcher woken earlier would not see the jobs yet
/// and would wait for its next poll; and a transaction that queued nothing, which is most
/// changes of users without accounts anywhere, wakes nobody.
pub(super) fn transaction_ended(committed: bool) {
    if QUEUED.take() && committed {
        #[cfg(test)]
        WAKES_FROM_THIS_THREAD.set(WAKES_FROM_THIS_THREAD.get() + 1);
        wake();
    }
}

#[cfg(test)]
thread_local! {
    /// How often commits on this thread woke the dispatchers: a test can watch its own commits
    /// while other tests commit on other threads.
    pub(super) static WAKES_FROM_THIS_THREAD: Cell<usize> = const { Cell::new(0) };
}

/// The (user, resource) pairs with provisioning still pending for any of these users.
pub fn pending_for_users(
    conn: &mut DbConnection,
    users: &[UserId],
) -> Result<Vec<(UserId, ResourceId)>, StoreError> {
    let ids: Vec<String> = users.iter().map(UserId::to_string).collect();
    let rows: Vec<(Option<String>, Option<String>)> = outbox::table
        .filter(outbox::kind.eq(PROVISION))
        .filter(outbox::status.eq("pending"))
        // A row without a user matches none of them either way.
        .filter(one_of!(
            outbox::table,
            outbox::user_id.assume_not_null(),
            &ids
        ))
        .select((outbox::user_id, outbox::target_id))
        .distinct()
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(user, resource)| Some((user?.parse().ok()?, resource?.parse().ok()?)))
        .collect())
}

/// Queues work for `user` on `resource`, and makes the pair's waiting work due now: a new
/// change must not wait out a backoff earned by an older one. Call it inside a
/// [`write_transaction`]: the dispatchers are woken when that commits.
pub fn enqueue(
    conn: &mut DbConnection,
    user: UserId,
    resource: ResourceId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = to_db(now);
    diesel::update(
        outbox::table
            .filter(outbox::kind.eq(PROVISION))
            .filter(outbox::user_id.eq(user.to_string()))
            .filter(outbox::target_id.eq(resource.to_string()))
            .filter(outbox::status.eq("pending"))
            .filter(outbox::next_attempt_at.gt(now)),
    )
    .set(outbox::next_attempt_at.eq(now))
    .execute(conn)?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(PROVISION),
            outbox::user_id.eq(user.to_string()),
            outbox::target_id.eq(resource.to_string()),
            outbox::payload.eq("{}"),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    QUEUED.set(true);
    Ok(())
}

/// Work on one (user, resource) pair, held by one dispatcher until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The oldest pending row of the pair.
    pub id: i64,
    /// The newest row of the pair the claim covers.
    pub up_to: i64,
    pub user: UserId,
    pub resource: ResourceId,
    /// Failed attempts so far (for the backoff).
    pub attempts: i32,
}

type Row = (i64, Option<String>, Option<String>, i32);

/// Claims up to `limit` due pairs of targets that are not paused, for `lease`.
pub fn claim(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let now_db = to_db(now);
    write_transaction(conn, |conn| {
        let earlier = diesel::alias!(outbox as earlier);
        let paused = resources::table
            .filter(resources::paused_reason.is_not_null())
            .select(resources::id.nullable());
        // Only the oldest pending row of a pair is a candidate, so a pair has one claimant.
        macro_rules! candidates {
            () => {
                outbox::table
                    .filter(outbox::kind.eq(PROVISION))
                    .filter(outbox::status.eq("pending"))
                    .filter(outbox::next_attempt_at.le(now_db))
                    .filter(
                        outbox::claimed_until
                            .is_null()
                            .or(outbox::claimed_until.lt(now_db)),
                    )
                    .filter(outbox::target_id.ne_all(paused))
                    .filter(diesel::dsl::not(diesel::dsl::exists(
                        earlier
                            .filter(earlier.field(outbox::kind).eq(PROVISION))
                            .filter(earlier.field(outbox::status).eq("pending"))
                            .filter(earlier.field(outbox::user_id).eq(outbox::user_id))
                            .filter(earlier.field(outbox::target_id).eq(outbox::target_id))
                            .filter(earlier.field(outbox::id).lt(outbox::id)),
                    )))
                    .order(outbox::id.asc())
                    .limit(limit)
                    .select((
                        outbox::id,
                        outbox::user_id,
                        outbox::target_id,
                        outbox::attempts,
                    ))
            };
        }
        // Row locks exist only on PostgreSQL, where several servers may claim at once;
        // SQLite's `BEGIN IMMEDIATE` already lets one claimant in at a time.
        let rows: Vec<Row> = match conn {
            DbConnection::Postgresql(c) => candidates!().for_update().skip_locked().load(c)?,
            DbConnection::Sqlite(c) => candidates!().load(c)?,
        };
        let until = to_db(now + lease);
        let mut claimed = Vec::with_capacity(rows.len());
        for (id, user, resource, attempts) in rows {
            let (Some(user), Some(resource)) = (user, resource) else {
                return Err(StoreError::corrupt(format!(
                    "outbox job {id} has no target"
                )));
            };
            let up_to: Option<i64> = pair!(&user, &resource)
                .select(diesel::dsl::max(outbox::id))
                .first(conn)?;
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::claimed_until.eq(until),
                    outbox::updated_at.eq(now_db),
                ))
                .execute(conn)?;
            let corrupt = |what: &str| StoreError::corrupt(format!("outbox job {id}: bad {what}"));
            claimed.push(ClaimedJob {
                id,
                up_to: up_to.unwrap_or(id),
                user: user.parse().map_err(|_| corrupt("user id"))?,
                resource: resource.parse().map_err(|_| corrupt("target id"))?,
                attempts,
            });
        }
        Ok(claimed)
    })
}

/// The rows a claim covers.
macro_rules! covered {
    ($job:expr, $user:ident, $resource:ident) => {
        pair!(&$user, &$resource).filter(outbox::id.le($job.up_to))
    };
}

/// The claimed work was applied: its rows are done.
pub fn complete(
    conn: &mut DbConnection,
    job: &ClaimedJob,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (user, resource) = (job.user.to_string(), job.resource.to_string());
    diesel::update(covered!(job, user, resource))
        .set((
            outbox::status.eq("done"),
            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
            outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The claimed work failed for a reason that may pass: try again at `next_attempt_at`.
/// `count_attempt` is false when the target, not the job, was at fault (paused target).
pub fn retry_later(
    conn: &mut DbConnection,
    job: &ClaimedJob,
    next_attempt_at: DateTime<Utc>,
    error: &str,
    count_attempt: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (user, resource) = (job.user.to_string(), job.resource.to_string());
    let attempts = if count_attempt {
        job.attempts + 1
    } else {
        job.attempts
    };
    diesel::update(outbox::table.find(job.id))
        .set(outbox::attempts.eq(attempts))
        .execute(conn)?;
    diesel::update(covered!(job, user, resource))
        .set((
            outbox::next_attempt_at.eq(to_db(next_attempt_at)),
            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
            outbox::last_error.eq(Some(error)),
            outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The claimed work failed for good: park it with the error for an admin to look at. One row
/// stands for the pair; the other rows it covered are folded into it (retrying it applies the
/// user's state as it is then, which includes their changes).
pub fn park(
    conn: &mut DbConnection,
    job: &ClaimedJob,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (user, resource) = (job.user.to_string(), job.resource.to_string());
    diesel::update(covered!(job, user, resource).filter(outbox::id.ne(job.id)))
        .set((
            outbox::status.eq("done"),
            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
            outbox::last_error.eq(Some(format!("folded into parked job {}", job.id))),
            outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    diesel::update(outbox::table.find(job.id))
        .set((
            outbox::status.eq("parked"),
            outbox::attempts.eq(job.attempts + 1),
            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
            outbox::last_error.eq(Some(error)),
            outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// An outbox row as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub user: Option<String>,
    pub resource: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

type RecordRow = (
    i64,
    Option<String>,
    Option<String>,
    String,
    i32,
    chrono::NaiveDateTime,
    Option<String>,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
);

fn record(row: RecordRow) -> JobRecord {
    JobRecord {
        id: row.0,
        user: row.1,
        resource: row.2,
        status: row.3,
        attempts: row.4,
        next_attempt_at: from_db(row.5),
        last_error: row.6,
        created_at: from_db(row.7),
        updated_at: from_db(row.8),
    }
}

const RECORD_COLUMNS: (
    outbox::id,
    outbox::user_id,
    outbox::target_id,
    outbox::status,
    outbox::attempts,
    outbox::next_attempt_at,
    outbox::last_error,
    outbox::created_at,
    outbox::updated_at,
) = (
    outbox::id,
    outbox::user_id,
    outbox::target_id,
    outbox::status,
    outbox::attempts,
    outbox::next_attempt_at,
    outbox::last_error,
    outbox::created_at,
    outbox::updated_at,
);

/// Provisioning rows with `status`, oldest first.
pub fn jobs_with_status(
    conn: &mut DbConnection,
    status: &str,
    limit: i64,
) -> Result<Vec<JobRecord>, StoreError> {
    let rows: Vec<RecordRow> = outbox::table
        .filter(outbox::kind.eq(PROVISION))
        .filter(outbox::status.eq(status))
        .order(outbox::id.asc())
        .limit(limit)
        .select(RECORD_COLUMNS)
        .load(conn)?;
    Ok(rows.into_iter().map(record).collect())
}

/// Provisioning rows of one user, oldest first.
pub fn jobs_of_user(conn: &mut DbConnection, user: UserId) -> Result<Vec<JobRecord>, StoreError> {
    let rows: Vec<RecordRow> = outbox::table
        .filter(outbox::kind.eq(PROVISION))
        .filter(outbox::user_id.eq(user.to_string()))
        .order(outbox::id.asc())
        .select(RECORD_COLUMNS)
        .load(conn)?;
    Ok(rows.into_iter().map(record).collect())
}

/// Puts a parked row back in the queue, due now. False when no parked row has that id.
pub fn retry_parked(
    conn: &mut DbConnection,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let now = to_db(now);
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::kind.eq(PROVISION))
            .filter(outbox::status.eq("parked")),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
        outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Deletes applied provisioning rows last changed before `before`. Pending and parked rows stay;
/// what an applied job did lives on in the audit trail, so the table keeps only live work.
pub fn prune_done(conn: &mut DbConnection, before: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        outbox::table
            .filter(outbox::kind.eq(PROVISION))
            .filter(outbox::status.eq("done"))
            .filter(outbox::updated_at.lt(to_db(before))),
    )
    .execute(conn)?)
}

/// How many provisioning rows wait to be applied.
pub fn pending_count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(outbox::table
        .filter(outbox::kind.eq(PROVISION))
        .filter(outbox::status.eq("pending"))
        .count()
        .get_result(conn)?)
}
