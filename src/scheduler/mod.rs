//! The scheduler: fires scheduled state changes that have fallen due. [`run_due`] is one step
//! with "now" passed in, so tests choose the time; [`worker`] calls it periodically inside
//! `roster serve`.
//!
//! Due schedules are claimed a batch at a time, each batch in one write transaction that applies
//! the state changes and deletes the fired schedules, so a schedule that fired is gone and one
//! that did not is still there, whatever happens to the process. On PostgreSQL the claim skips
//! rows another server has locked, so several servers on one database fire each schedule once.

pub mod worker;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::activation_email::EmailRequest;
use crate::domain::audit::{AuditResource, EventType, NewAuditEvent};
use crate::domain::lifecycle::{LifecycleError, Transition, Trigger};
use crate::domain::schedule::Schedule;
use crate::domain::{Email, LifecycleState, ScheduleId, UserId};
use crate::service::ServiceError;
use crate::service::email::queue_activation_email;
use crate::service::users::{Actor, StateChange, change_state, change_states};
use crate::store::{DbConnection, audit, schedules, users, write_transaction};

/// Schedules claimed and applied per transaction: large enough to amortize a commit, small
/// enough that locks are held briefly and a failure redoes little. Each schedule is applied in
/// a savepoint (a subtransaction on PostgreSQL), and PostgreSQL slows down sharply once one
/// transaction holds more than 64 subtransactions, so a batch stays below that.
pub const BATCH_SIZE: i64 = 50;

/// What one step did, by kind of result.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The user's state changed.
    pub changed: usize,
    /// A suspension fell due for a suspended user: recorded again, nothing else changed.
    pub repeated_suspensions: usize,
    /// An activation fell due for an active user: recorded as skipped.
    pub skipped_activations: usize,
    /// A lifecycle rule refused the change (the Samba service account, a return to STAGED):
    /// recorded as refused, and the schedule removed.
    pub refused: usize,
    /// The user no longer exists: the schedule was removed, nothing else happened.
    pub orphaned: usize,
    /// The user was being changed by someone else at that moment: left for the next step.
    pub deferred: usize,
}

impl Outcome {
    /// Schedules that fired (and are gone), whatever they did.
    pub fn fired(&self) -> usize {
        self.changed
            + self.repeated_suspensions
            + self.skipped_activations
            + self.refused
            + self.orphaned
    }

    fn add(&mut self, other: Outcome) {
        self.changed += other.changed;
        self.repeated_suspensions += other.repeated_suspensions;
        self.skipped_activations += other.skipped_activations;
        self.refused += other.refused;
        self.orphaned += other.orphaned;
        self.deferred += other.deferred;
    }
}

/// Fires every schedule due at `now` (run time at or before it), including all that fell due
/// while no scheduler was running, and returns what happened.
pub fn run_due(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Outcome, ServiceError> {
    let mut outcome = Outcome::default();
    // Schedules deferred in this step; not claimed again until the next step.
    let mut passed_over: Vec<ScheduleId> = Vec::new();
    loop {
        let batch = write_transaction(conn, |conn| run_batch(conn, now, &passed_over))?;
        outcome.add(batch.outcome);
        passed_over.extend(batch.deferred);
        if batch.claimed < BATCH_SIZE as usize {
            break;
        }
    }
    Ok(outcome)
}

struct Batch {
    claimed: usize,
    outcome: Outcome,
    deferred: Vec<ScheduleId>,
}

/// Claims one batch of due schedules and fires them, inside the caller's transaction. The
/// batch's state changes are applied together (one read of the users, one append to the audit
/// trail, one pass to queue provisioning), with the same rules and events as one by one.
fn run_batch(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    passed_over: &[ScheduleId],
) -> Result<Batch, ServiceError> {
    let due = schedules::claim_due(conn, now, BATCH_SIZE, passed_over)?;
    let user_ids: Vec<UserId> = due.iter().map(|s| s.user_id).collect();
    schedules::lock_users(conn, &user_ids)?;
    let actor = Actor::scheduler();
    let requests: Vec<(UserId, LifecycleState)> =
        due.iter().map(|s| (s.user_id, s.target)).collect();
    let results = match change_states(conn, &requests, Trigger::Schedule, &actor, now) {
        Ok(results) => results,
        // The claim holds the users' row locks (PostgreSQL) or the only write lock (SQLite), so
        // no user should change under the batch; should one anyway, fire one at a time, so that
        // only the schedules of the user that changed wait for the next step.
        Err(ServiceError::Conflict) => due
            .iter()
            .map(|schedule| {
                change_state(
                    conn,
                    schedule.user_id,
                    schedule.target,
                    Trigger::Schedule,
                    &actor,
                    now,
                )
            })
            .collect(),
        Err(other) => return Err(other),
    };
    settle_batch(conn, &due, results, &actor, now)
}

/// Settles each claimed schedule with its result, and deletes those that fired.
fn settle_batch(
    conn: &mut DbConnection,
    due: &[Schedule],
    results: Vec<Result<StateChange, ServiceError>>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Batch, ServiceError> {
    let mut outcome = Outcome::default();
    let mut fired = Vec::with_capacity(due.len());
    let mut deferred = Vec::new();
    for (schedule, result) in due.iter().zip(results) {
        match settle(conn, schedule, result, actor, now)? {
            Some(kind) => {
                *kind.counter(&mut outcome) += 1;
                fired.push(schedule.id);
            }
            None => {
                outcome.deferred += 1;
                deferred.push(schedule.id);
            }
        }
    }
    schedules::delete_many(conn, &fired)?;
    Ok(Batch {
        claimed: due.len(),
        outcome,
        deferred,
    })
}

#[derive(Debug, Clone, Copy)]
enum Fired {
    Changed,
    RepeatedSuspension,
    SkippedActivation,
    Refused,
    Orphaned,
}

impl Fired {
    fn counter(self, outcome: &mut Outcome) -> &mut usize {
        match self {
            Self::Changed => &mut outcome.changed,
            Self::RepeatedSuspension => &mut outcome.repeated_suspensions,
            Self::SkippedActivation => &mut outcome.skipped_activations,
            Self::Refused => &mut outcome.refused,
            Self::Orphaned => &mut outcome.orphaned,
        }
    }
}

/// Where a scheduled activation's email goes: the override given with the schedule, otherwise
/// the user's default address. The override was validated when the schedule was made.
fn email_request(schedule: &Schedule) -> EmailRequest {
    match schedule
        .activation_email_override
        .as_deref()
        .and_then(|address| Email::parse("activation_email_override", address).ok())
    {
        Some(address) => EmailRequest::To(address),
        None => EmailRequest::Default,
    }
}

/// What one schedule's state change came to, with what follows from it (the onboarding email,
/// the record of a refusal). `None` means "try again next step"; an error fails the batch.
fn settle(
    conn: &mut DbConnection,
    schedule: &Schedule,
    result: Result<StateChange, ServiceError>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Fired>, ServiceError> {
    let fired = match result {
        Ok(change) => match change.transition {
            Transition::Change { from, to } => {
                // Only onboarding (leaving STAGED) sends the activation or welcome email, as
                // with `state/activate`; a suspended user comes back with what it had.
                if from == LifecycleState::Staged
                    && to == LifecycleState::Activated
                    && schedule.send_activation_email
                {
                    queue_activation_email(
                        conn,
                        &change.user,
                        &email_request(schedule),
                        actor,
                        now,
                    )?;
                }
                Fired::Changed
            }
            Transition::RepeatedSuspension => Fired::RepeatedSuspension,
            Transition::SkippedActivation => Fired::SkippedActivation,
            // A schedule never asks for the state a user is in without being recorded; should
            // the lifecycle say "unchanged", the schedule has still done its work.
            Transition::Unchanged => Fired::Changed,
        },
        Err(ServiceError::Lifecycle(refusal)) => {
            record_refusal(conn, schedule, actor, &refusal, now)?;
            Fired::Refused
        }
        Err(ServiceError::UserNotFound(_)) => {
            tracing::info!(schedule.id = %schedule.id, user.id = %schedule.user_id, "scheduled state change dropped: the user no longer exists");
            Fired::Orphaned
        }
        Err(ServiceError::Conflict) => {
            tracing::warn!(schedule.id = %schedule.id, user.id = %schedule.user_id, "user changed concurrently; the scheduled state change will be retried");
            return Ok(None);
        }
        Err(other) => return Err(other),
    };
    Ok(Some(fired))
}

/// Records that a rule refused a scheduled change, so the trail shows the schedule fired and
/// why nothing happened.
fn record_refusal(
    conn: &mut DbConnection,
    schedule: &Schedule,
    actor: &Actor,
    refusal: &LifecycleError,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let user = users::find(conn, schedule.user_id)?;
    let resource = AuditResource {
        kind: "systemuser".into(),
        id: schedule.user_id.to_string(),
        name: user.as_ref().map(|u| u.username.as_str().to_owned()),
    };
    let event = NewAuditEvent {
        event_type: EventType::UserStateChangeRefused,
        initiated_by: actor.initiator.clone(),
        resource,
        details: json!({
            "schedule_id": schedule.id.to_string(),
            "from": user.as_ref().map(|u| u.state),
            "to": schedule.target,
            "source": actor.source.to_string(),
            "reason": refusal.to_string(),
        }),
    };
    audit::append(conn, vec![event], now)?;
    tracing::info!(schedule.id = %schedule.id, user.id = %schedule.user_id, reason = %refusal, "scheduled state change refused");
    Ok(())
}

#[cfg(test)]
mod tests;
