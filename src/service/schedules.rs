//! Scheduling state changes for later, listing and deleting them. Firing them is the
//! scheduler's job (`crate::scheduler`).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::ServiceError;
use super::users::Actor;
use crate::domain::audit::{AuditResource, EventType, NewAuditEvent};
use crate::domain::schedule::{self, Schedule, ScheduleError, ScheduleRequest};
use crate::domain::{LifecycleState, ScheduleId, User, UserId};
use crate::store::schedules::ScheduleCondition;
use crate::store::{DbConnection, audit, schedules, users, write_transaction};

/// Most users one `next_events` call may ask about (JumpCloud's limit for `users`).
pub const MAX_NEXT_EVENT_USERS: usize = 100;

/// The audit event for creating or deleting a schedule of this kind.
fn schedule_event_type(target: LifecycleState, created: bool) -> EventType {
    match (target, created) {
        (LifecycleState::Activated, true) => EventType::UserActivationScheduleCreate,
        (LifecycleState::Activated, false) => EventType::UserActivationScheduleDelete,
        (_, true) => EventType::UserSuspensionScheduleCreate,
        (_, false) => EventType::UserSuspensionScheduleDelete,
    }
}

/// The audit event recording that `schedule` was created (`created`) or deleted.
pub(crate) fn schedule_event(
    schedule: &Schedule,
    user: Option<&User>,
    actor: &Actor,
    created: bool,
) -> NewAuditEvent {
    let resource = match user {
        Some(user) => AuditResource::user(user.id, user.username.as_str()),
        // The user is gone; the event still names it by id.
        None => AuditResource {
            kind: "systemuser".into(),
            id: schedule.user_id.to_string(),
            name: None,
        },
    };
    NewAuditEvent {
        event_type: schedule_event_type(schedule.target, created),
        initiated_by: actor.initiator.clone(),
        resource,
        details: json!({
            "schedule_id": schedule.id.to_string(),
            "state": schedule.target,
            "requested_at": schedule.requested_at,
            "run_at": schedule.run_at,
            "send_activation_email": schedule.send_activation_email,
        }),
    }
}

/// How a schedule records who asked for it: `admin:ops-script`, `scheduler`, ...
fn created_by(actor: &Actor) -> String {
    match &actor.initiator.name {
        Some(name) => format!("{}:{name}", actor.initiator.kind.as_str()),
        None => actor.initiator.kind.as_str().to_owned(),
    }
}

/// Schedules a state change for every user of the request, or for none: every rule and every
/// user is checked before anything is written, and everything is written in one transaction
/// with one `user_{activation|suspension}_schedule_create` event per schedule.
pub fn create_schedules(
    conn: &mut DbConnection,
    request: ScheduleRequest,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<Schedule>, ServiceError> {
    let plan = schedule::plan(request, now)?;
    write_transaction(conn, |conn| {
        let mut created = Vec::with_capacity(plan.user_ids.len());
        let mut events = Vec::with_capacity(plan.user_ids.len());
        for &user_id in &plan.user_ids {
            let user = users::find(conn, user_id)?.ok_or(ScheduleError::UnknownUser(user_id))?;
            if plan.target == LifecycleState::Suspended && user.samba_service_user {
                return Err(ScheduleError::SambaServiceAccount(user_id).into());
            }
            let schedule = Schedule {
                id: ScheduleId::generate(),
                user_id,
                target: plan.target,
                requested_at: plan.requested_at,
                run_at: plan.run_at,
                send_activation_email: plan.send_activation_email,
                activation_email_override: plan
                    .activation_email_override
                    .as_ref()
                    .map(|address| address.as_str().to_owned()),
                created_by: created_by(actor),
                created_at: now,
            };
            events.push(schedule_event(&schedule, Some(&user), actor, true));
            created.push(schedule);
        }
        schedules::insert(conn, &created)?;
        audit::append(conn, events, now)?;
        tracing::info!(
            schedules = created.len(),
            state = %plan.target,
            run_at = %plan.run_at,
            source = %actor.source,
            "state changes scheduled"
        );
        Ok(created)
    })
}

/// One page of the pending schedules that meet every condition, soonest first.
pub fn list_schedules(
    conn: &mut DbConnection,
    conditions: &[ScheduleCondition],
    skip: i64,
    limit: i64,
) -> Result<Vec<Schedule>, ServiceError> {
    Ok(schedules::list(conn, conditions, skip, limit)?)
}

/// Deletes a pending schedule. The user stays in whatever state it is in now.
pub fn delete_schedule(
    conn: &mut DbConnection,
    id: ScheduleId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Schedule, ServiceError> {
    write_transaction(conn, |conn| {
        let schedule = schedules::find(conn, id)?.ok_or(ServiceError::ScheduleNotFound(id))?;
        if !schedules::delete(conn, id)? {
            return Err(ServiceError::ScheduleNotFound(id));
        }
        let user = users::find(conn, schedule.user_id)?;
        let event = schedule_event(&schedule, user.as_ref(), actor, false);
        audit::append(conn, vec![event], now)?;
        tracing::info!(schedule.id = %id, user.id = %schedule.user_id, source = %actor.source, "scheduled state change deleted");
        Ok(schedule)
    })
}

/// The next pending activation and the next pending suspension of each of these users.
pub fn next_events(
    conn: &mut DbConnection,
    users: &[UserId],
) -> Result<Vec<Schedule>, ServiceError> {
    let pending = schedules::for_users(conn, users)?;
    Ok(schedule::next_events(&pending)
        .into_iter()
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests;
