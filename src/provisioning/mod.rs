//! The dispatcher: a worker of `roster serve` that claims provisioning jobs from the outbox and
//! brings each (user, resource) pair to the user's current desired state through a connector.

mod backoff;
mod ldap;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_connectors::ldap::{Applied, FailureKind, LdapFailure, LdapTarget};
use serde_json::json;
use tokio::sync::Mutex;

use crate::domain::audit::{AuditResource, EventType, Initiator, InitiatorKind, NewAuditEvent};
use crate::domain::provisioning::{Action, Facts, ResourceType, Standing, plan};
use crate::domain::resource::{Pause, Resource};
use crate::domain::{ResourceId, User};
use crate::service::provisioning::woken;
use crate::store::outbox::{self, ClaimedJob};
use crate::store::resources::{self, ProvisionedAccount};
use crate::store::{DbConnection, Store, StoreError, audit, users, write_transaction};

pub use backoff::full_jitter;

/// Tuning of the dispatcher; the defaults suit a server, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct DispatcherOptions {
    /// Pairs claimed and applied concurrently per round.
    pub batch: i64,
    /// How long a claim holds a job before another dispatcher may take it over.
    pub lease: Duration,
    /// Longest sleep between rounds when nothing wakes the dispatcher.
    pub poll: Duration,
    /// How often a paused target is checked for recovery.
    pub probe_every: Duration,
    /// Consecutive failed calls after which a target is paused as a whole.
    pub pause_after_failures: u32,
    /// Limit for each directory operation.
    pub timeout: Duration,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        Self {
            batch: 64,
            lease: Duration::from_secs(120),
            poll: Duration::from_millis(500),
            probe_every: Duration::from_secs(5),
            pause_after_failures: 10,
            timeout: Duration::from_secs(5),
        }
    }
}

/// A connector instance and what the dispatcher learned about its target in this process.
struct TargetState {
    ldap: LdapTarget,
    canary_passed: AtomicBool,
    consecutive_failures: AtomicU32,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: usize,
    pub applied: usize,
    pub retried: usize,
    pub parked: usize,
}

pub struct Dispatcher {
    store: Store,
    options: DispatcherOptions,
    targets: Mutex<HashMap<ResourceId, Arc<TargetState>>>,
}

/// The outcome of applying one job, before it is recorded.
enum Outcome {
    Applied {
        action: Action,
        applied: Option<Applied>,
    },
    Failed(LdapFailure),
}

/// What a job needs from the database.
struct Work {
    resource: Resource,
    user: Option<User>,
    bound: bool,
    account: Option<ProvisionedAccount>,
}

impl Dispatcher {
    pub fn new(store: Store, options: DispatcherOptions) -> Arc<Self> {
        Arc::new(Self {
            store,
            options,
            targets: Mutex::new(HashMap::new()),
        })
    }

    /// Runs rounds until `shutdown` resolves; sleeps when idle until woken or the poll ends.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_probe = tokio::time::Instant::now();
        loop {
            let busy = match self.round(Utc::now()).await {
                Ok(report) => report.claimed > 0,
                Err(error) => {
                    tracing::warn!(error.message = %error, "provisioning round failed");
                    false
                }
            };
            if last_probe.elapsed() >= self.options.probe_every {
                last_probe = tokio::time::Instant::now();
                self.probe_paused(Utc::now()).await;
            }
            if busy {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = woken() => {}
                () = tokio::time::sleep(self.options.poll) => {}
            }
        }
        tracing::info!("provisioning dispatcher stopped");
    }

    /// Claims due jobs, applies them concurrently and records each outcome.
    pub async fn round(self: &Arc<Self>, now: DateTime<Utc>) -> Result<RoundReport, StoreError> {
        let (batch, lease) = (self.options.batch, self.options.lease);
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(2));
        let jobs = self
            .store
            .run(move |conn| outbox::claim(conn, now, batch, lease))
            .await?;
        let mut report = RoundReport {
            claimed: jobs.len(),
            ..RoundReport::default()
        };
        let mut tasks = tokio::task::JoinSet::new();
        for job in jobs {
            let this = Arc::clone(self);
            tasks.spawn(async move { this.process(job).await });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(Recorded::Applied)) => report.applied += 1,
                Ok(Ok(Recorded::Retried)) => report.retried += 1,
                Ok(Ok(Recorded::Parked)) => report.parked += 1,
                Ok(Err(error)) => {
                    tracing::warn!(error.message = %error, "recording a provisioning outcome failed; the job will be claimed again")
                }
                Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Err(_) => {}
            }
        }
        Ok(report)
    }

    async fn process(self: Arc<Self>, job: ClaimedJob) -> Result<Recorded, StoreError> {
        let (user, resource) = (job.user, job.resource);
        let work = self
            .store
            .run(move |conn| load_work(conn, user, resource))
            .await?;
        let Some(work) = work else {
            // The resource was deleted: nothing left to bring up to date.
            let job = job.clone();
            self.store
                .run(move |conn| outbox::complete(conn, &job, Utc::now()))
                .await?;
            return Ok(Recorded::Applied);
        };
        let outcome = self.apply(&work).await;
        self.record(job, work, outcome).await
    }

    async fn apply(&self, work: &Work) -> Outcome {
        let standing = match &work.user {
            Some(user) if work.bound => Standing::Present(user.state),
            _ => Standing::Deleted,
        };
        let facts = Facts {
            exists_in_target: work.account.is_some(),
            last_secure_token_user: false,
        };
        let action = plan(
            standing,
            work.resource.kind,
            work.resource.plan_options(),
            facts,
        );
        if work.resource.kind != ResourceType::LdapDirectory {
            // TODO(#5): connectors for SCIM apps, AD and cloud directories.
            return Outcome::Applied {
                action,
                applied: None,
            };
        }
        let Some(desired) = ldap::desired(action, work.user.as_ref()) else {
            return Outcome::Applied {
                action,
                applied: None,
            };
        };
        let target = match self.target(&work.resource).await {
            Ok(target) => target,
            Err(failure) => return Outcome::Failed(failure),
        };
        let known_dn = work.account.as_ref().map(|a| a.remote_id.as_str());
        match target.ldap.apply(known_dn, &desired).await {
            Ok(applied) => {
                target.consecutive_failures.store(0, Ordering::Relaxed);
                Outcome::Applied {
                    action,
                    applied: Some(applied),
                }
            }
            Err(failure) => {
                target.consecutive_failures.fetch_add(1, Ordering::Relaxed);
                Outcome::Failed(failure)
            }
        }
    }

    /// The connector for a resource, proven by the canary check before its first use.
    async fn target(&self, resource: &Resource) -> Result<Arc<TargetState>, LdapFailure> {
        let state = {
            let mut targets = self.targets.lock().await;
            Arc::clone(targets.entry(resource.id).or_insert_with(|| {
                Arc::new(TargetState {
                    ldap: LdapTarget::new(ldap::settings(resource, self.options.timeout)),
                    canary_passed: AtomicBool::new(false),
                    consecutive_failures: AtomicU32::new(0),
                })
            }))
        };
        if !state.canary_passed.load(Ordering::Acquire) {
            // A canary that fails for any lasting reason says the target is misconfigured
            // (wrong base DN, no password policy): pause it rather than fail each user.
            state
                .ldap
                .canary()
                .await
                .map_err(|failure| match failure.kind {
                    FailureKind::Transient => failure,
                    _ => LdapFailure {
                        kind: FailureKind::TargetRefused,
                        message: format!("canary check failed: {}", failure.message),
                    },
                })?;
            state.canary_passed.store(true, Ordering::Release);
            tracing::info!(resource.id = %resource.id, "LDAP canary passed: a lock refuses binds on this directory");
        }
        Ok(state)
    }

    async fn record(
        &self,
        job: ClaimedJob,
        work: Work,
        outcome: Outcome,
    ) -> Result<Recorded, StoreError> {
        let now = Utc::now();
        let failures = {
            let targets = self.targets.lock().await;
            targets
                .get(&job.resource)
                .map_or(0, |t| t.consecutive_failures.load(Ordering::Relaxed))
        };
        let pause_after = self.options.pause_after_failures;
        let recorded = self
            .store
            .run(move |conn| record_outcome(conn, &job, &work, outcome, failures, pause_after, now))
            .await?;
        Ok(recorded)
    }

    /// Checks each paused target and resumes the ones that answer again.
    pub async fn probe_paused(&self, now: DateTime<Utc>) {
        let paused = match self.store.run(resources::list).await {
            Ok(all) => all
                .into_iter()
                .filter(|r| r.paused.is_some() && r.kind == ResourceType::LdapDirectory)
                .collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(error.message = %error, "cannot list paused targets");
                return;
            }
        };
        for resource in paused {
            let target = LdapTarget::new(ldap::settings(&resource, self.options.timeout));
            let healthy = match target.check().await {
                Ok(()) => target.canary().await,
                Err(failure) => Err(failure),
            };
            match healthy {
                Ok(()) => {
                    self.targets.lock().await.remove(&resource.id);
                    let id = resource.id;
                    if let Err(error) = self
                        .store
                        .run(move |conn| resources::set_pause(conn, id, None, now))
                        .await
                    {
                        tracing::warn!(error.message = %error, "cannot resume a target");
                        continue;
                    }
                    tracing::info!(resource.id = %id, resource.name = %resource.name, "provisioning target resumed");
                    crate::service::provisioning::wake();
                }
                Err(failure) => {
                    tracing::debug!(resource.id = %resource.id, error.message = %failure, "paused target still failing");
                }
            }
        }
    }
}

/// How an outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    Applied,
    Retried,
    Parked,
}

fn load_work(
    conn: &mut DbConnection,
    user: crate::domain::UserId,
    resource: ResourceId,
) -> Result<Option<Work>, StoreError> {
    let Some(resource) = resources::find(conn, resource)? else {
        return Ok(None);
    };
    let found = users::find(conn, user)?;
    let bound = resources::is_bound(conn, resource.id, user)?;
    let account = resources::account(conn, resource.id, user)?;
    Ok(Some(Work {
        resource,
        user: found,
        bound,
        account,
    }))
}

fn event_type(action: Action, applied: Option<&Applied>) -> Option<EventType> {
    match action {
        Action::Enable if applied.is_some_and(|a| a.created) => {
            Some(EventType::UserCreateProvision)
        }
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

fn record_outcome(
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
                let account = applied.dn.clone().map(|dn| ProvisionedAccount {
                    remote_id: dn,
                    disabled: applied.locked,
                });
                resources::set_account(conn, job.resource, job.user, account.as_ref(), now)?;
            }
            if let Some(event_type) =
                event_type(action, applied.as_ref()).filter(|_| applied.is_some())
            {
                let details = json!({ "result": "success", "dn": applied.as_ref().and_then(|a| a.dn.clone()), "locked": applied.as_ref().map(|a| a.locked) });
                audit::append(
                    conn,
                    vec![provision_event(event_type, job, work, details)],
                    now,
                )?;
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
                let delay = full_jitter(job.attempts, getrandom::u64().unwrap_or(0));
                let next =
                    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(1));
                outbox::retry_later(conn, job, next, &failure.message, true, now)?;
                tracing::warn!(user.id = %job.user, resource.id = %job.resource, attempts = job.attempts + 1, error.message = %failure.message, "provisioning failed; will retry");
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
                let details = json!({ "result": "error", "error": failure.message });
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

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod fault_tests;
