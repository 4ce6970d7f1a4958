//! `state/activate`: a staged user becomes active and, if asked, gets their first email.

use chrono::{DateTime, Utc};

use super::ServiceError;
use super::email::queue_activation_email;
use super::users::{Actor, StateChange, change_state};
use crate::domain::activation_email::{EmailDecision, EmailRequest};
use crate::domain::lifecycle::{Transition, Trigger};
use crate::domain::{LifecycleState, UserId};
use crate::store::{DbConnection, write_transaction};

/// What an activation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    pub change: StateChange,
    /// The email decision, when the user was onboarded (left STAGED); `None` otherwise.
    pub email: Option<EmailDecision>,
}

/// Activates a user. From STAGED the user becomes ACTIVATED and gets the email `request` asks
/// for. From SUSPENDED the user is reactivated with everything it had (no onboarding email).
/// An active user is left alone: no event, no email.
pub fn activate(
    conn: &mut DbConnection,
    id: UserId,
    request: &EmailRequest,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Activation, ServiceError> {
    write_transaction(conn, |conn| {
        let change = change_state(
            conn,
            id,
            LifecycleState::Activated,
            Trigger::Request,
            actor,
            now,
        )?;
        let onboarded = matches!(
            change.transition,
            Transition::Change {
                from: LifecycleState::Staged,
                ..
            }
        );
        let email = if onboarded {
            Some(queue_activation_email(
                conn,
                &change.user,
                request,
                actor,
                now,
            )?)
        } else {
            None
        };
        Ok(Activation { change, email })
    })
}
