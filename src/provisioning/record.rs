//! Recording what applying a job did, in one transaction: the outbox row's fate (done, retried
//! with backoff, parked), the account Roster now knows of, a paused target, and the audit event.

use chrono::{DateTime, Utc};
use roster_connectors::FailureKind;
use serde_json::json;

use super::{Applied, Outcome, Work, full_jitter};
use crate::domain::ResourceId;
use crate::domain::audit::{AuditResource, EventType, Initiator, InitiatorKind, NewAuditEvent};
use crate::domain::provisioning::Action;
use crate::domain::resource::Pause;
use crate::store::outbox::{self, ClaimedJob};
use crate::store::resources::{self, ProvisionedAccount};
use crate::store::{DbConnection, StoreError, audit, write_transaction};

/// How an outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recorded {
    Applied,
    Retried,
    Parked,
}

fn event_type(action: Action, applied: &Applied) -> Option<EventType> {
    match action {
        Action::Enable if applied.created => Some(EventType::UserCreateProvision),
        Action::Enable | Action::CreateWithRandomPassword => Some(EventType::UserUpdateProvision),
        Action::Disable => Some(EventType::UserDeprovision),
        Action::Remove => Some(EventType::UserDeleteProvision),
        Action::Nothing | Action::KeepOnDevice => None,
    }
}

fn provision_event(
    event_type: EventType,
    job: &ClaimedJob,
    work: &Work,
    details: serde_json::Value,
) -> NewAuditEvent {
    let name = work
        .user
        .as_ref()
        .map(|u| u.username.as_str().to_owned())
        .or_else(|| work.account.as_ref().map(|a| a.remote_id.clone()))
        .unwrap_or_default();
    let mut details = details;
    // Directory Insights names the target of a provisioning attempt `idm_client_id`.
    details["idm_client_id"] = json!(work.resource.id.to_string());
    details["resource"] = json!({
        "id": work.resource.id.to_string(),
        "name": work.resource.name,
        "type": work.resource.kind.as_str(),
    });
    NewAuditEvent {
        event_type,
        initiated_by: Initiator {
            kind: InitiatorKind::System,
            name: Some("provisioning".into()),
        },
        resource: AuditResource::user(job.user, name),
        details,
    }
}

pub(super) fn record_outcome(
    conn: &mut DbConnection,
    job: &ClaimedJob,
    work: &Work,
    outcome: Outcome,
    failures: u32,
    pause_after: u32,
    now: DateTime<Utc>,
) -> Result<Recorded, StoreError> {
    write_transaction(conn, |conn| match outcome {
        Outcome::Applied { action, applied } => {
            outbox::complete(conn, job, now)?;
            if let Some(applied) = &applied {
                let account = applied
                    .remote_id
                    .clone()
                    .map(|remote_id| ProvisionedAccount {
                        remote_id,
                        disabled: applied.disabled,
                    });
                resources::set_account(conn, job.resource, job.user, account.as_ref(), now)?;
                let mut details = applied.details.clone();
                details["success"] = json!(true);
                let mut events = Vec::new();
                if applied.linked {
                    events.push(provision_event(
                        EventType::UserLookupProvision,
                        job,
                        work,
                        details.clone(),
                    ));
                }
                if let Some(event_type) = event_type(action, applied) {
                    events.push(provision_event(event_type, job, work, details));
                }
                if !events.is_empty() {
                    audit::append(conn, events, now)?;
                }
            }
            tracing::info!(user.id = %job.user, resource.id = %job.resource, action = ?action, "provisioning applied");
            Ok(Recorded::Applied)
        }
        Outcome::Failed(failure) => match failure.kind {
            FailureKind::TargetRefused => {
                pause(conn, job.resource, &failure.message, now)?;
                outbox::retry_later(conn, job, now, &failure.message, false, now)?;
                Ok(Recorded::Retried)
            }
            FailureKind::Transient => {
                if failures >= pause_after {
                    let reason = format!(
                        "{failures} consecutive calls failed; last: {}",
                        failure.message
                    );
                    pause(conn, job.resource, &reason, now)?;
                }
                // A wait the target asked for is honoured; the jitter still spreads the retries
                // of many jobs that failed together.
                let jitter = full_jitter(job.attempts, getrandom::u64().unwrap_or(0));
                let delay = failure
                    .retry_after
                    .map_or(jitter, |asked| asked.max(jitter));
                let next =
                    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(1));
                outbox::retry_later(conn, job, next, &failure.message, true, now)?;
                tracing::warn!(user.id = %job.user, resource.id = %job.resource, attempts = job.attempts + 1, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), error.message = %failure.message, "provisioning failed; will retry");
                Ok(Recorded::Retried)
            }
            FailureKind::Permanent => {
                outbox::park(conn, job, &failure.message, now)?;
                let standing_event = match &work.user {
                    Some(user) if user.state == crate::domain::LifecycleState::Suspended => {
                        EventType::UserDeprovision
                    }
                    Some(_) => EventType::UserUpdateProvision,
                    None => EventType::UserDeleteProvision,
                };
                let details = json!({ "success": false, "error_message": failure.message });
                audit::append(
                    conn,
                    vec![provision_event(standing_event, job, work, details)],
                    now,
                )?;
                tracing::error!(user.id = %job.user, resource.id = %job.resource, error.message = %failure.message, "provisioning failed for good; job parked");
                Ok(Recorded::Parked)
            }
        },
    })
}

fn pause(
    conn: &mut DbConnection,
    resource: ResourceId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let already = resources::find(conn, resource)?.is_some_and(|r| r.paused.is_some());
    if !already {
        tracing::error!(resource.id = %resource, reason, "provisioning target paused");
        resources::set_pause(
            conn,
            resource,
            Some(&Pause {
                reason: reason.to_owned(),
                since: now,
            }),
            now,
        )?;
    }
    Ok(())
}
