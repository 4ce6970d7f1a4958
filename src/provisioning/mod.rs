//! The dispatcher: a worker of `roster serve` that claims provisioning jobs from the outbox and
//! brings each (user, resource) pair to the user's current desired state through the
//! resource's connector. Claiming, ordering per pair, retries with backoff, parking, pausing a
//! target and the audit events are the same for every connector.

mod backoff;
mod connector;
mod ldap;
mod record;
mod scim;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::domain::provisioning::{Action, Facts, Standing, plan};
use crate::domain::resource::Resource;
use crate::domain::{ResourceId, User};
use crate::service::provisioning::woken;
use crate::store::outbox::{self, ClaimedJob};
use crate::store::resources::{self, ProvisionedAccount};
use crate::store::{DbConnection, Store, StoreError, users};

pub use backoff::full_jitter;
pub use connector::{Applied, Connector, Failure};
use record::{Recorded, record_outcome};

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
    /// Limit for each call to a target (an LDAP operation, an HTTP request).
    pub timeout: Duration,
    /// How long applied jobs are kept before they are pruned.
    pub done_retention: Duration,
}

/// How often the dispatcher prunes applied jobs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Default for DispatcherOptions {
    fn default() -> Self {
        Self {
            batch: 64,
            lease: Duration::from_secs(120),
            poll: Duration::from_millis(500),
            probe_every: Duration::from_secs(5),
            pause_after_failures: 10,
            timeout: Duration::from_secs(5),
            done_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A connector instance and what the dispatcher learned about its target in this process.
struct TargetState {
    connector: Arc<dyn Connector>,
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
        /// `None` when nothing was written (nothing to do, or no connector for the kind).
        applied: Option<Applied>,
    },
    Failed(Failure),
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
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(tokio::time::Instant::now());
                self.prune_done(Utc::now()).await;
            }
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
        let target = match self.target(&work.resource).await {
            None => {
                return Outcome::Applied {
                    action,
                    applied: None,
                };
            }
            Some(Err(failure)) => return Outcome::Failed(failure),
            Some(Ok(target)) => target,
        };
        let applied = target
            .connector
            .apply(action, work.user.as_ref(), work.account.as_ref())
            .await;
        match applied {
            Ok(applied) => {
                target.consecutive_failures.store(0, Ordering::Relaxed);
                Outcome::Applied { action, applied }
            }
            Err(failure) => {
                target.consecutive_failures.fetch_add(1, Ordering::Relaxed);
                Outcome::Failed(failure)
            }
        }
    }

    /// The connector for a resource, made on first use and kept for this process; `None` for
    /// a kind without a connector.
    async fn target(&self, resource: &Resource) -> Option<Result<Arc<TargetState>, Failure>> {
        let mut targets = self.targets.lock().await;
        if let Some(state) = targets.get(&resource.id) {
            return Some(Ok(Arc::clone(state)));
        }
        let connector = match connector::for_resource(resource, self.options.timeout)? {
            Ok(connector) => connector,
            Err(failure) => return Some(Err(failure)),
        };
        let state = Arc::new(TargetState {
            connector,
            consecutive_failures: AtomicU32::new(0),
        });
        targets.insert(resource.id, Arc::clone(&state));
        Some(Ok(state))
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

    /// Deletes the applied jobs older than the retention period.
    pub async fn prune_done(&self, now: DateTime<Utc>) {
        let retention = chrono::Duration::from_std(self.options.done_retention)
            .unwrap_or(chrono::Duration::days(7));
        let before = now - retention;
        match self
            .store
            .run(move |conn| outbox::prune_done(conn, before))
            .await
        {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "pruned applied provisioning jobs"),
            Err(error) => {
                tracing::warn!(error.message = %error, "cannot prune applied provisioning jobs")
            }
        }
    }

    /// Checks each paused target and resumes the ones that answer again.
    pub async fn probe_paused(&self, now: DateTime<Utc>) {
        let paused = match self.store.run(resources::list).await {
            Ok(all) => all
                .into_iter()
                .filter(|r| r.paused.is_some() && r.kind.has_connector())
                .collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(error.message = %error, "cannot list paused targets");
                return;
            }
        };
        for resource in paused {
            // A fresh connector: the probe must not reuse what was learned before the pause.
            let healthy = match connector::for_resource(&resource, self.options.timeout) {
                Some(Ok(connector)) => connector.probe().await,
                Some(Err(failure)) => Err(failure),
                None => continue,
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

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod fault_tests;

#[cfg(test)]
mod posix_tests;

#[cfg(test)]
mod scim_test_servers;

#[cfg(test)]
mod scim_tests;

#[cfg(test)]
mod scim_fault_tests;
