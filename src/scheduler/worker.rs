//! The scheduler as a background task of `roster serve`: one step at start (catching up on
//! whatever fell due while no server ran), then one step per interval until stopped.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::run_due;
use crate::store::Store;

/// Starts the loop; abort the returned handle to stop it.
pub fn spawn(store: Store, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        // After a slow step, wait a full interval again rather than firing steps back to back.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            step(&store).await;
        }
    })
}

async fn step(store: &Store) {
    let started = std::time::Instant::now();
    match store.run(|conn| run_due(conn, Utc::now())).await {
        Ok(outcome) if outcome.fired() > 0 || outcome.deferred > 0 => tracing::info!(
            fired = outcome.fired(),
            changed = outcome.changed,
            repeated_suspensions = outcome.repeated_suspensions,
            skipped_activations = outcome.skipped_activations,
            refused = outcome.refused,
            orphaned = outcome.orphaned,
            deferred = outcome.deferred,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "scheduler step"
        ),
        Ok(_) => tracing::debug!("scheduler step: nothing due"),
        // The next step retries: due schedules stay until they fire.
        Err(error) => tracing::warn!(
            error.message = %error,
            error.cause_chain = ?error,
            "scheduler step failed; retrying at the next interval"
        ),
    }
}
