//! Queuing provisioning work with the change that causes it. The dispatcher is woken when the
//! change commits (`write_transaction`), or by [`wake`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{ResourceId, UserId};
use crate::store::{DbConnection, StoreError, outbox as jobs, resources, users};

pub use crate::store::outbox::{wake, woken};

/// Queues one job per resource that may hold or need an account for this user: every resource
/// the user is bound to, directly or through a group, every one holding an account Roster
/// wrote, and every one with work still pending. Call inside the transaction of the change, so
/// the change and its jobs commit together; a deleted user's direct bindings are dropped here.
pub fn enqueue_for_user(
    conn: &mut DbConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    enqueue_for_users(conn, &[user], now)
}

/// [`enqueue_for_user`] for several users (group membership and binding changes, a batch of
/// schedules), with each lookup done once for all of them rather than once per user.
pub fn enqueue_for_users(
    conn: &mut DbConnection,
    users: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let existing = users::existing(conn, users)?;
    for gone in users.iter().filter(|id| !existing.contains(id)) {
        resources::unbind_user_everywhere(conn, *gone)?;
    }
    // Most changes happen where no directory or app is connected: one look saves the lookups
    // of bindings, memberships, accounts and pending work.
    if !resources::any_with_connector(conn)? {
        return Ok(());
    }
    let mut targets = resources::targets_of_users(conn, users)?;
    targets.extend(jobs::pending_for_users(conn, users)?);
    targets.sort();
    targets.dedup();
    let mut has_connector: HashMap<ResourceId, bool> = HashMap::new();
    for (user, resource) in targets {
        let connected = match has_connector.get(&resource) {
            Some(known) => *known,
            None => {
                let known =
                    resources::find(conn, resource)?.is_some_and(|r| r.kind.has_connector());
                has_connector.insert(resource, known);
                known
            }
        };
        if connected {
            jobs::enqueue(conn, user, resource, now)?;
        }
    }
    Ok(())
}

/// Queues work for these users on one resource only (a binding to it changed).
pub fn enqueue_on_resource(
    conn: &mut DbConnection,
    users: &[UserId],
    resource: ResourceId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(found) = resources::find(conn, resource)? else {
        return Ok(());
    };
    if found.kind.has_connector() {
        for user in users {
            jobs::enqueue(conn, *user, resource, now)?;
        }
    }
    Ok(())
}
