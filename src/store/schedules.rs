//! Pending scheduled state changes: writing, listing, and claiming the due ones for the
//! scheduler. A schedule row lives until it fires or is deleted.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::per_backend;
use super::schema::{schedules, users};
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError};
use crate::domain::schedule::Schedule;
use crate::domain::{LifecycleState, ScheduleId, UserId};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = schedules)]
struct ScheduleRow {
    id: String,
    user_id: String,
    target_state: String,
    requested_at: chrono::NaiveDateTime,
    run_at: chrono::NaiveDateTime,
    send_activation_email: bool,
    activation_email_override: Option<String>,
    created_by: String,
    created_at: chrono::NaiveDateTime,
}

impl ScheduleRow {
    fn from_schedule(schedule: &Schedule) -> Self {
        Self {
            id: schedule.id.to_string(),
            user_id: schedule.user_id.to_string(),
            target_state: schedule.target.as_str().to_owned(),
            requested_at: to_db(schedule.requested_at),
            run_at: to_db(schedule.run_at),
            send_activation_email: schedule.send_activation_email,
            activation_email_override: schedule.activation_email_override.clone(),
            created_by: schedule.created_by.clone(),
            created_at: to_db(schedule.created_at),
        }
    }

    fn into_schedule(self) -> Result<Schedule, StoreError> {
        let corrupt = |field: &str, error: &dyn std::fmt::Display| {
            StoreError::corrupt(format!("schedule {}: {field}: {error}", self.id))
        };
        Ok(Schedule {
            id: self.id.parse().map_err(|e| corrupt("id", &e))?,
            user_id: self.user_id.parse().map_err(|e| corrupt("user_id", &e))?,
            target: self
                .target_state
                .parse()
                .map_err(|e| corrupt("target_state", &e))?,
            requested_at: from_db(self.requested_at),
            run_at: from_db(self.run_at),
            send_activation_email: self.send_activation_email,
            activation_email_override: self.activation_email_override.clone(),
            created_by: self.created_by.clone(),
            created_at: from_db(self.created_at),
        })
    }
}

fn into_schedules(rows: Vec<ScheduleRow>) -> Result<Vec<Schedule>, StoreError> {
    rows.into_iter().map(ScheduleRow::into_schedule).collect()
}

/// Rows per multi-row statement: SQLite caps the bound parameters of one statement.
const CHUNK: usize = 500;

/// Stores new schedules. Call inside a write transaction together with their audit events.
pub fn insert(conn: &mut DbConnection, new: &[Schedule]) -> Result<(), StoreError> {
    let rows: Vec<ScheduleRow> = new.iter().map(ScheduleRow::from_schedule).collect();
    for chunk in rows.chunks(CHUNK) {
        per_backend!(&mut *conn, |c| diesel::insert_into(schedules::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// The schedule with this id, if it is still pending.
pub fn find(conn: &mut DbConnection, id: ScheduleId) -> Result<Option<Schedule>, StoreError> {
    schedules::table
        .find(id.to_string())
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?
        .map(ScheduleRow::into_schedule)
        .transpose()
}

/// One condition a listed schedule must meet.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleCondition {
    /// The schedule is one of these users'.
    UserIn(Vec<UserId>),
    UserIsNot(UserId),
    TargetIs(LifecycleState),
    TargetIsNot(LifecycleState),
    /// The time the change really runs, compared with this instant.
    RunAt(Comparison, DateTime<Utc>),
    IdIs(ScheduleId),
}

/// How a stored time compares with the one in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    Before,
    AtOrBefore,
    After,
    AtOrAfter,
}

/// One page of the pending schedules that meet every condition, soonest first.
pub fn list(
    conn: &mut DbConnection,
    conditions: &[ScheduleCondition],
    skip: i64,
    limit: i64,
) -> Result<Vec<Schedule>, StoreError> {
    let mut query = schedules::table
        .order((schedules::run_at.asc(), schedules::id.asc()))
        .offset(skip)
        .limit(limit)
        .select(ScheduleRow::as_select())
        .into_boxed();
    for condition in conditions {
        query = match condition {
            ScheduleCondition::UserIn(users) => {
                let ids: Vec<String> = users.iter().map(UserId::to_string).collect();
                query.filter(schedules::user_id.eq_any(ids))
            }
            ScheduleCondition::UserIsNot(user) => {
                query.filter(schedules::user_id.ne(user.to_string()))
            }
            ScheduleCondition::TargetIs(state) => {
                query.filter(schedules::target_state.eq(state.as_str()))
            }
            ScheduleCondition::TargetIsNot(state) => {
                query.filter(schedules::target_state.ne(state.as_str()))
            }
            ScheduleCondition::RunAt(comparison, time) => {
                let time = to_db(*time);
                match comparison {
                    Comparison::Equal => query.filter(schedules::run_at.eq(time)),
                    Comparison::Before => query.filter(schedules::run_at.lt(time)),
                    Comparison::AtOrBefore => query.filter(schedules::run_at.le(time)),
                    Comparison::After => query.filter(schedules::run_at.gt(time)),
                    Comparison::AtOrAfter => query.filter(schedules::run_at.ge(time)),
                }
            }
            ScheduleCondition::IdIs(id) => query.filter(schedules::id.eq(id.to_string())),
        };
    }
    into_schedules(query.load(conn)?)
}

/// Every pending schedule of these users, soonest first.
pub fn for_users(conn: &mut DbConnection, users: &[UserId]) -> Result<Vec<Schedule>, StoreError> {
    let ids: Vec<String> = users.iter().map(UserId::to_string).collect();
    let ordered = (schedules::run_at.asc(), schedules::id.asc());
    // `= ?` for one user is prepared once, and found again by its type on the concrete
    // connection; `IN (…)` is prepared again on every call.
    let rows = match ids.as_slice() {
        [one] => per_backend!(&mut *conn, |c| schedules::table
            .filter(schedules::user_id.eq(one))
            .order(ordered)
            .select(ScheduleRow::as_select())
            .load(c))?,
        _ => schedules::table
            .filter(schedules::user_id.eq_any(&ids))
            .order(ordered)
            .select(ScheduleRow::as_select())
            .load(conn)?,
    };
    into_schedules(rows)
}

/// Deletes one schedule; false when it was not there.
pub fn delete(conn: &mut DbConnection, id: ScheduleId) -> Result<bool, StoreError> {
    let deleted = diesel::delete(schedules::table.find(id.to_string())).execute(conn)?;
    Ok(deleted > 0)
}

/// Deletes these schedules, in chunks.
pub fn delete_many(conn: &mut DbConnection, ids: &[ScheduleId]) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for chunk in ids.chunks(CHUNK) {
        let chunk: Vec<String> = chunk.iter().map(ScheduleId::to_string).collect();
        deleted +=
            diesel::delete(schedules::table.filter(schedules::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

/// Deletes every pending schedule of a user and returns what was deleted.
pub fn delete_for_user(conn: &mut DbConnection, user: UserId) -> Result<Vec<Schedule>, StoreError> {
    let pending = for_users(conn, &[user])?;
    diesel::delete(schedules::table.filter(schedules::user_id.eq(user.to_string())))
        .execute(conn)?;
    Ok(pending)
}

/// Claims up to `limit` schedules due at `now` (run time at or before it), soonest first,
/// leaving out `passed_over` (schedules this run already looked at and left for later).
///
/// Must run inside a write transaction, which the claim lasts for. On PostgreSQL the rows are
/// locked with `FOR UPDATE SKIP LOCKED`, so another server claiming at the same time gets other
/// rows and never waits; on SQLite the write transaction is the database's only writer.
/// The caller deletes each fired schedule in the same transaction, so once it commits no one
/// can claim it again.
pub fn claim_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
    passed_over: &[ScheduleId],
) -> Result<Vec<Schedule>, StoreError> {
    let passed_over: Vec<String> = passed_over.iter().map(ScheduleId::to_string).collect();
    // A macro, not a closure: the selection's backend type differs per arm.
    macro_rules! due {
        () => {
            schedules::table
                .filter(schedules::run_at.le(to_db(now)))
                .filter(schedules::id.ne_all(passed_over.clone()))
                .order((schedules::run_at.asc(), schedules::id.asc()))
                .limit(limit)
                .select(ScheduleRow::as_select())
        };
    }
    let rows = match conn {
        DbConnection::Postgresql(pg) => due!().for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(sqlite) => due!().load(sqlite)?,
    };
    into_schedules(rows)
}

/// Locks the rows of these users until the transaction ends (PostgreSQL; SQLite's write
/// transaction already excludes other writers). Taking every user lock of a batch up front, in
/// id order, before the first audit event takes the audit trail's head lock, means a batch
/// never holds the head while waiting for a user that another transaction holds while waiting
/// for the head, which would be a deadlock.
pub fn lock_users(conn: &mut DbConnection, ids: &[UserId]) -> Result<(), StoreError> {
    if let DbConnection::Postgresql(pg) = conn {
        let mut ids: Vec<String> = ids.iter().map(UserId::to_string).collect();
        ids.sort();
        ids.dedup();
        users::table
            .filter(users::id.eq_any(ids))
            .order(users::id.asc())
            .select(users::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// How many schedules are pending.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(schedules::table.count().get_result(conn)?)
}
