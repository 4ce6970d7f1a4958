//! Queuing the emails an activation sends. The message is written to the email outbox in the
//! caller's transaction and delivered later by the mail worker.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::ServiceError;
use super::passwords::issue_link_token;
use super::users::Actor;
use crate::domain::User;
use crate::domain::activation_email::{EmailDecision, EmailKind, EmailRequest, decide};
use crate::domain::audit::{AuditResource, EventType, NewAuditEvent};
use crate::store::{DbConnection, audit, email_outbox, write_transaction};

/// Queues the Welcome or Activation email for `user` (as it is after its activation), following
/// `request`; records a `user_activation_email` event whether the message is queued or
/// suppressed (staged users never get mail: that is recorded, not an error). The scheduler calls
/// this when a scheduled activation with emails fires.
pub fn queue_activation_email(
    conn: &mut DbConnection,
    user: &User,
    request: &EmailRequest,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<EmailDecision, ServiceError> {
    let decision = decide(user, request);
    let details = match &decision {
        EmailDecision::NotRequested => return Ok(decision),
        EmailDecision::SuppressedStaged => json!({
            "status": "suppressed",
            "reason": "staged users never receive email",
        }),
        EmailDecision::NoAddress => json!({
            "status": "suppressed",
            "reason": "the user has no email address",
        }),
        EmailDecision::Send { kind, to } => {
            json!({ "status": "queued", "email_type": kind.as_str(), "recipient_email": to })
        }
    };
    write_transaction(conn, |conn| {
        if let EmailDecision::Send { kind, to } = &decision {
            let token = match kind {
                EmailKind::Activation => Some(issue_link_token(conn, user.id, now)?),
                EmailKind::Welcome => None,
            };
            email_outbox::enqueue(
                conn,
                &user.id.to_string(),
                kind.as_str(),
                to.as_str(),
                token.as_deref(),
                now,
            )?;
            tracing::info!(user.id = %user.id, email.kind = kind.as_str(), "email queued");
        }
        let event = NewAuditEvent {
            event_type: EventType::UserActivationEmail,
            initiated_by: actor.initiator.clone(),
            resource: AuditResource::user(user.id, user.username.as_str()),
            details,
        };
        audit::append(conn, vec![event], now)?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(decision)
}
