//! Creating users, changing their state and deleting them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{ServiceError, provisioning};
use crate::domain::audit::{AuditResource, EventType, Initiator, NewAuditEvent};
use crate::domain::changes::user_changes;
use crate::domain::lifecycle::{self, Transition, Trigger};
use crate::domain::{CreationMethod, LifecycleState, StateSource, User, UserId};
use crate::store::users::{UserChange, apply_user_change, apply_user_changes};
use crate::store::{
    DbConnection, audit, in_transaction, schedules, settings, users, write_transaction,
};

/// Who is acting, as recorded on the user (`state_source`) and in the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub source: StateSource,
    pub initiator: Initiator,
}

impl Actor {
    pub fn admin(name: impl Into<String>) -> Self {
        Self {
            source: StateSource::Admin,
            initiator: Initiator::admin(name),
        }
    }

    /// An operator running the `roster` command; the audit trail names the local account
    /// (`$USER`) when there is one. State changes count as an administrator's.
    pub fn cli() -> Self {
        let operator = std::env::var("USER").ok().filter(|name| !name.is_empty());
        Self {
            source: StateSource::Admin,
            initiator: Initiator::cli(operator),
        }
    }

    pub fn scheduler() -> Self {
        Self {
            source: StateSource::Scheduler,
            initiator: Initiator::scheduler(),
        }
    }
}

/// A user to create. `user.state` is ignored: the state comes from `requested_state` or, when
/// that is absent, from the organization's default for `method`.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user: User,
    pub requested_state: Option<LifecycleState>,
    pub method: CreationMethod,
}

fn user_event(
    event_type: EventType,
    actor: &Actor,
    user: &User,
    details: serde_json::Value,
) -> NewAuditEvent {
    NewAuditEvent {
        event_type,
        initiated_by: actor.initiator.clone(),
        resource: AuditResource::user(user.id, user.username.as_str()),
        details,
    }
}

/// Creates a user in the state its request or the organization's defaults give it.
pub fn create_user(
    conn: &mut DbConnection,
    new: NewUser,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    write_transaction(conn, |conn| {
        let defaults = settings::state_defaults(conn)?;
        let state = defaults.state_for_new_user(&new.method, new.requested_state);
        let mut user = new.user;
        user.state = lifecycle::initial_state(state, user.samba_service_user)?;
        user.state_source = actor.source.clone();
        user.state_changed_at = now;
        user.created_at = now;
        user.updated_at = now;
        user.version = 1;
        if user.unix_uid.is_none() {
            let id = users::next_unix_id(conn)?;
            user.unix_uid = Some(id);
            user.unix_guid = user.unix_guid.or(Some(id));
        }
        let event = user_event(
            EventType::UserCreate,
            actor,
            &user,
            json!({ "state": user.state, "creation_source": user.creation_source }),
        );
        apply_user_change(conn, UserChange::Create(&user), vec![event], now)?;
        provisioning::enqueue_for_user(conn, user.id, now)?;
        tracing::info!(user.id = %user.id, user.state = %user.state, source = %actor.source, "user created");
        Ok(user)
    })
}

/// Edits a user's profile with `edit` and records the changed fields as one `user_update`
/// event. `expected_version`, when given, must be the stored version (an ETag or `If-Match`
/// check); otherwise the edit applies to whatever is stored now. The state is not edited here:
/// use [`change_state`], which enforces the lifecycle rules. An edit that changes nothing writes
/// nothing.
pub fn update_user(
    conn: &mut DbConnection,
    id: UserId,
    expected_version: Option<i64>,
    actor: &Actor,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut User) -> Result<(), ServiceError>,
) -> Result<User, ServiceError> {
    write_transaction(conn, |conn| {
        let before = users::find(conn, id)?.ok_or(ServiceError::UserNotFound(id))?;
        if expected_version.is_some_and(|version| version != before.version) {
            return Err(ServiceError::Conflict);
        }
        update_user_from(conn, before, actor, now, edit)
    })
}

/// [`update_user`] of `before`, the user as the caller read it, in this transaction or before
/// it: the change is written only if the row is still at that version
/// ([`ServiceError::Conflict`] otherwise), which saves reading it again. Call it inside a
/// [`write_transaction`] that an error rolls back: it writes the row, the event and the
/// provisioning jobs one after the other.
pub fn update_user_from(
    conn: &mut DbConnection,
    before: User,
    actor: &Actor,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut User) -> Result<(), ServiceError>,
) -> Result<User, ServiceError> {
    let mut after = before.clone();
    edit(&mut after)?;
    // Fields owned by the lifecycle and the store are restored whatever the edit did.
    after.id = before.id;
    after.state = before.state;
    after.state_source = before.state_source.clone();
    after.state_changed_at = before.state_changed_at;
    after.created_at = before.created_at;
    let changes = user_changes(&before, &after);
    if changes.is_empty() {
        return Ok(before);
    }
    after.updated_at = now;
    after.version = before.version + 1;
    let event = user_event(
        EventType::UserUpdate,
        actor,
        &after,
        json!({ "changes": changes }),
    );
    debug_assert!(in_transaction(conn), "update_user_from needs a transaction");
    apply_user_change(
        conn,
        UserChange::Update {
            before: &before,
            after: &after,
        },
        vec![event],
        now,
    )?;
    provisioning::enqueue_for_user(conn, after.id, now)?;
    tracing::info!(user.id = %after.id, fields = changes.len(), source = %actor.source, "user updated");
    Ok(after)
}

/// What a state change request did.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub user: User,
    pub transition: Transition,
}

/// The audit event that records a change from `from` to `to`.
fn state_event_type(from: LifecycleState, to: LifecycleState) -> EventType {
    match (from, to) {
        (_, LifecycleState::Suspended) => EventType::UserSuspended,
        (LifecycleState::Suspended, _) => EventType::UserUnsuspended,
        _ => EventType::UserActivated,
    }
}

/// What a request for `target` does to `user`: the transition, the user as it is to be
/// stored (its version one higher when its state changes) and the event that records it, none
/// for a request for the current state. Writes nothing.
fn plan_state_change(
    user: User,
    target: LifecycleState,
    trigger: Trigger,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Transition, User, Option<NewAuditEvent>), ServiceError> {
    let transition = lifecycle::transition(user.state, target, trigger, user.samba_service_user)?;
    let details = json!({ "from": user.state, "to": target, "source": actor.source.to_string() });
    Ok(match transition {
        Transition::Unchanged => (transition, user, None),
        Transition::Change { from, to } => {
            let mut changed = user;
            changed.state = to;
            changed.state_source = actor.source.clone();
            changed.state_changed_at = now;
            changed.updated_at = now;
            changed.version += 1;
            let event = user_event(state_event_type(from, to), actor, &changed, details);
            (transition, changed, Some(event))
        }
        Transition::RepeatedSuspension | Transition::SkippedActivation => {
            let (event_type, note) = match transition {
                Transition::RepeatedSuspension => (EventType::UserSuspended, "repeated"),
                _ => (EventType::UserActivated, "skipped"),
            };
            let mut details = details;
            details["outcome"] = json!(note);
            // The user row does not change, so only the event is written.
            let event = user_event(event_type, actor, &user, details);
            (transition, user, Some(event))
        }
    })
}

fn log_state_change(user: &User, transition: Transition, actor: &Actor) {
    if let Transition::Change { from, to } = transition {
        tracing::info!(user.id = %user.id, from = %from, to = %to, source = %actor.source, "user state changed");
    }
}

/// Moves a user to `target`, or records why not. A refused transition changes nothing.
pub fn change_state(
    conn: &mut DbConnection,
    id: UserId,
    target: LifecycleState,
    trigger: Trigger,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<StateChange, ServiceError> {
    write_transaction(conn, |conn| {
        let user = users::find(conn, id)?.ok_or(ServiceError::UserNotFound(id))?;
        change_state_from(conn, user, target, trigger, actor, now)
    })
}

/// [`change_state`] of `user`, as the caller read it: like [`update_user_from`], the change
/// is written only if the row is still at that version, and the call belongs inside a
/// [`write_transaction`] that an error rolls back.
pub fn change_state_from(
    conn: &mut DbConnection,
    user: User,
    target: LifecycleState,
    trigger: Trigger,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<StateChange, ServiceError> {
    let id = user.id;
    let before = user.clone();
    let (transition, user, event) = plan_state_change(user, target, trigger, actor, now)?;
    debug_assert!(
        in_transaction(conn),
        "change_state_from needs a transaction"
    );
    match (transition, event) {
        (Transition::Change { .. }, Some(event)) => {
            let update = UserChange::Update {
                before: &before,
                after: &user,
            };
            apply_user_change(conn, update, vec![event], now)?;
            provisioning::enqueue_for_user(conn, id, now)?;
        }
        (_, Some(event)) => {
            audit::append(conn, vec![event], now)?;
        }
        (_, None) => {}
    }
    log_state_change(&user, transition, actor);
    Ok(StateChange { user, transition })
}

/// Several state requests applied in order, each exactly as [`change_state`] would apply it,
/// but with the users read in one query, every changed row written once, all events appended
/// together and provisioning queued once for all the users that changed. A request that a rule
/// refuses, or whose user does not exist, gets its error in its place and changes nothing;
/// any other error fails the whole call. Runs inside one write transaction, so the caller
/// should hold the users' row locks (the scheduler's claim does) or accept that a concurrent
/// change fails the call with [`ServiceError::Conflict`].
pub fn change_states(
    conn: &mut DbConnection,
    requests: &[(UserId, LifecycleState)],
    trigger: Trigger,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<Result<StateChange, ServiceError>>, ServiceError> {
    write_transaction(conn, |conn| {
        let ids: Vec<UserId> = requests.iter().map(|(id, _)| *id).collect();
        let mut current: HashMap<UserId, User> = users::find_many(conn, &ids)?
            .into_iter()
            .map(|user| (user.id, user))
            .collect();
        // Each row as it was read: a user changed twice is still written once.
        let read = current.clone();
        let mut changed: Vec<UserId> = Vec::new();
        let mut events = Vec::new();
        let mut results = Vec::with_capacity(requests.len());
        for &(id, target) in requests {
            let Some(user) = current.remove(&id) else {
                results.push(Err(ServiceError::UserNotFound(id)));
                continue;
            };
            let planned = match plan_state_change(user.clone(), target, trigger, actor, now) {
                Ok(planned) => planned,
                Err(refusal) => {
                    current.insert(id, user);
                    results.push(Err(refusal));
                    continue;
                }
            };
            let (transition, mut user, event) = planned;
            if let Transition::Change { .. } = transition {
                user.version = read[&id].version + 1;
                if !changed.contains(&id) {
                    changed.push(id);
                }
            }
            events.extend(event);
            results.push(Ok(StateChange {
                user: user.clone(),
                transition,
            }));
            current.insert(id, user);
        }
        if !events.is_empty() {
            let rows: Vec<UserChange<'_>> = changed
                .iter()
                .map(|id| UserChange::Update {
                    before: &read[id],
                    after: &current[id],
                })
                .collect();
            apply_user_changes(conn, &rows, events, now)?;
        }
        provisioning::enqueue_for_users(conn, &changed, now)?;
        for change in results.iter().flatten() {
            log_state_change(&change.user, change.transition, actor);
        }
        Ok(results)
    })
}

/// What happens to a deleted manager's direct reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerCascade {
    /// Their manager is cleared.
    Clear,
    /// They report to this user instead.
    Repoint(UserId),
}

/// Deletes a user for good. Direct reports lose or change their manager, each change audited;
/// the deletion itself is recorded with the id and username and no state.
pub fn delete_user(
    conn: &mut DbConnection,
    id: UserId,
    cascade: ManagerCascade,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    write_transaction(conn, |conn| {
        let user = users::find(conn, id)?.ok_or(ServiceError::UserNotFound(id))?;
        let new_manager = match cascade {
            ManagerCascade::Clear => None,
            ManagerCascade::Repoint(manager) if manager == id => None,
            ManagerCascade::Repoint(manager) => {
                users::find(conn, manager)?.ok_or(ServiceError::UserNotFound(manager))?;
                Some(manager)
            }
        };
        // Pending schedules go with the user. Deleted first, before any audit event takes the
        // trail's head lock, so that waiting here for a scheduler that holds these rows can
        // never close a lock cycle with it.
        let mut events: Vec<NewAuditEvent> = schedules::delete_for_user(conn, id)?
            .iter()
            .map(|schedule| super::schedules::schedule_event(schedule, Some(&user), actor, false))
            .collect();
        for report in users::direct_reports(conn, id)? {
            let mut changed = report.clone();
            changed.manager = new_manager;
            changed.updated_at = now;
            changed.version += 1;
            let details = json!({ "changes": [{
                "field": "manager",
                "from": id.to_string(),
                "to": new_manager.map(|m| m.to_string()),
            }]});
            let event = user_event(EventType::UserUpdate, actor, &changed, details);
            let update = UserChange::Update {
                before: &report,
                after: &changed,
            };
            apply_user_change(conn, update, vec![event], now)?;
        }
        events.push(user_event(EventType::UserDelete, actor, &user, json!({})));
        apply_user_change(conn, UserChange::Delete(&user), events, now)?;
        provisioning::enqueue_for_user(conn, id, now)?;
        tracing::info!(user.id = %id, source = %actor.source, "user deleted");
        Ok(user)
    })
}
