//! What an identity provider's SCIM writes mean for a user (DESIGN.md §6): the profile is
//! replaced as sent, and `active` is mapped onto the lifecycle under the integration's policy.
//! Profile edit and state change commit together or not at all.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::ServiceError;
use super::passwords::{PasswordHash, apply_password, password_set_event, set_password_of};
use super::users::{
    Actor, ManagerCascade, NewUser, StateChange, change_state_from, create_user, delete_user,
    update_user_from,
};
use crate::domain::audit::{AuditResource, EventType, Initiator, NewAuditEvent};
use crate::domain::integration::{DeleteAction, Integration};
use crate::domain::{CreationMethod, LifecycleState, StateSource, Trigger, User, UserId};
use crate::store::{DbConnection, audit, users, write_transaction};

/// The actor for changes an integration makes.
pub fn scim_actor(integration: &Integration) -> Actor {
    Actor {
        source: StateSource::Scim(integration.name.clone()),
        initiator: Initiator::scim(integration.name.clone()),
    }
}

/// What the request asked of the state: `active` and/or the extension's `state`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateRequest {
    pub active: Option<bool>,
    pub state: Option<LifecycleState>,
}

/// Creates a user pushed by an integration. The extension's `state` wins; otherwise
/// `active: false` makes a suspended user; otherwise the organization's default for manual
/// entry applies. A password sent along is stored (recorded as `user_password_set`) and, like
/// any password, reaches directories only once the user is active.
pub fn create(
    conn: &mut DbConnection,
    user: User,
    request: StateRequest,
    password: Option<PasswordHash>,
    integration: &Integration,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    let requested_state = request
        .state
        .or((request.active == Some(false)).then_some(LifecycleState::Suspended));
    let mut user = user;
    user.creation_source = format!("scim:{}", integration.name);
    let with_password = password.is_some();
    if let Some(hash) = password {
        apply_password(&mut user, hash, false, now);
    }
    let actor = scim_actor(integration);
    write_transaction(conn, |conn| {
        let user = create_user(
            conn,
            NewUser {
                user,
                requested_state,
                method: CreationMethod::Scim,
            },
            &actor,
            now,
        )?;
        if with_password {
            audit::append(conn, vec![password_set_event(&actor, &user)], now)?;
        }
        Ok(user)
    })
}

/// Replaces the profile of `current`, the user as the caller read it, with `edit`, sets the
/// password when one was sent (Okta's password sync) and maps `active` onto the state. The
/// user is written only if it is still at `current.version` ([`ServiceError::Conflict`]
/// otherwise), and nothing is written when any step fails.
pub fn update(
    conn: &mut DbConnection,
    current: User,
    active: Option<bool>,
    password: Option<PasswordHash>,
    integration: &Integration,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut User) -> Result<(), ServiceError>,
) -> Result<User, ServiceError> {
    let actor = scim_actor(integration);
    write_transaction(conn, |conn| {
        let mut user = update_user_from(conn, current, &actor, now, edit)?;
        if let Some(hash) = password {
            let expired = user.password.expired;
            user = set_password_of(conn, user, hash, expired, &actor, now)?;
        }
        if let Some(active) = active {
            user = apply_active(conn, user, active, integration, &actor, now)?;
        }
        Ok(user)
    })
}

/// Why an `active: true` was not followed.
fn refusal(user: &User, integration: &Integration) -> Option<&'static str> {
    match user.state {
        LifecycleState::Staged if !integration.policy.may_activate_staged => {
            Some("the integration may not activate staged users")
        }
        LifecycleState::Suspended
            if !integration.policy.may_lift_any_suspension
                && user.state_source != StateSource::Scim(integration.name.clone()) =>
        {
            Some("the suspension was not made by this integration, which may lift only its own")
        }
        _ => None,
    }
}

/// Maps `active` onto the state: false suspends an active user (a staged one stays staged);
/// true activates when the policy allows it, and otherwise records the refusal and succeeds.
fn apply_active(
    conn: &mut DbConnection,
    user: User,
    active: bool,
    integration: &Integration,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<User, ServiceError> {
    let target = match (active, user.state) {
        (false, LifecycleState::Activated) => LifecycleState::Suspended,
        (true, LifecycleState::Staged | LifecycleState::Suspended) => LifecycleState::Activated,
        _ => return Ok(user),
    };
    if active && let Some(reason) = refusal(&user, integration) {
        let event = NewAuditEvent {
            event_type: EventType::UserStateChangeRefused,
            initiated_by: actor.initiator.clone(),
            resource: AuditResource::user(user.id, user.username.as_str()),
            details: json!({
                "from": user.state,
                "to": target,
                "source": actor.source.to_string(),
                "reason": reason,
            }),
        };
        audit::append(conn, vec![event], now)?;
        tracing::info!(user.id = %user.id, from = %user.state, to = %target, integration = %integration.name, reason, "state change refused");
        return Ok(user);
    }
    let StateChange { user, .. } =
        change_state_from(conn, user, target, Trigger::Request, actor, now)?;
    Ok(user)
}

/// What a DELETE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    Suspended,
}

/// DELETE from an integration: deletes the user, or suspends it when the integration's policy
/// says so. `None` when there is no such user.
pub fn delete(
    conn: &mut DbConnection,
    id: UserId,
    expected_version: Option<i64>,
    integration: &Integration,
    now: DateTime<Utc>,
) -> Result<Option<Deleted>, ServiceError> {
    let actor = scim_actor(integration);
    write_transaction(conn, |conn| {
        let Some(user) = users::find(conn, id)? else {
            return Ok(None);
        };
        if expected_version.is_some_and(|version| version != user.version) {
            return Err(ServiceError::Conflict);
        }
        match integration.policy.delete_action {
            DeleteAction::Delete => {
                delete_user(conn, id, ManagerCascade::Clear, &actor, now)?;
                Ok(Some(Deleted::Deleted))
            }
            DeleteAction::Suspend => {
                apply_active(conn, user, false, integration, &actor, now)?;
                Ok(Some(Deleted::Suspended))
            }
        }
    })
}
