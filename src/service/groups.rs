//! Creating, changing and deleting user groups, each change audited in its transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::ServiceError;
use super::provisioning::enqueue_for_users;
use super::users::Actor;
use crate::domain::audit::{AuditResource, EventType, NewAuditEvent};
use crate::domain::{Group, GroupId, UserId};
use crate::store::groups::{self, GroupChange, apply_group_change};
use crate::store::{DbConnection, resources, write_transaction};

fn group_event(
    event_type: EventType,
    actor: &Actor,
    group: &Group,
    details: serde_json::Value,
) -> NewAuditEvent {
    NewAuditEvent {
        event_type,
        initiated_by: actor.initiator.clone(),
        resource: AuditResource::group(group.id, group.display_name.as_str()),
        details,
    }
}

fn ids(members: &[UserId]) -> Vec<String> {
    members.iter().map(ToString::to_string).collect()
}

/// Creates a group with its first members. A member that is no user is refused and nothing
/// is created.
pub fn create_group(
    conn: &mut DbConnection,
    mut group: Group,
    members: &[UserId],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Group, ServiceError> {
    write_transaction(conn, |conn| {
        group.created_at = now;
        group.updated_at = now;
        group.version = 1;
        let event = group_event(
            EventType::GroupCreate,
            actor,
            &group,
            json!({ "members": ids(members) }),
        );
        apply_group_change(
            conn,
            GroupChange::Create {
                group: &group,
                members,
            },
            vec![event],
            now,
        )?;
        tracing::info!(group.id = %group.id, members = members.len(), "group created");
        Ok(group)
    })
}

/// Edits a group and its member list with `edit`; `None` when there is no such group. The
/// edit sees the current members and leaves the wanted ones; the difference is written and
/// audited. `expected_version`, when given, must match (an `If-Match`).
pub fn update_group(
    conn: &mut DbConnection,
    id: GroupId,
    expected_version: Option<i64>,
    actor: &Actor,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut Group, &mut BTreeSet<UserId>) -> Result<(), ServiceError>,
) -> Result<Option<Group>, ServiceError> {
    write_transaction(conn, |conn| {
        let Some(before) = groups::find(conn, id)? else {
            return Ok(None);
        };
        if expected_version.is_some_and(|version| version != before.version) {
            return Err(ServiceError::Conflict);
        }
        let old_members: BTreeSet<UserId> = groups::members(conn, id)?.into_iter().collect();
        let mut after = before.clone();
        let mut new_members = old_members.clone();
        edit(&mut after, &mut new_members)?;
        after.id = before.id;
        after.created_at = before.created_at;
        let add: Vec<UserId> = new_members.difference(&old_members).copied().collect();
        let remove: Vec<UserId> = old_members.difference(&new_members).copied().collect();
        if after == before && add.is_empty() && remove.is_empty() {
            return Ok(Some(before));
        }
        after.updated_at = now;
        after.version = before.version + 1;
        let mut changes = Vec::new();
        if after.display_name != before.display_name {
            changes.push(json!({"field": "displayName", "from": before.display_name.as_str(), "to": after.display_name.as_str()}));
        }
        if after.external_id != before.external_id {
            changes.push(
                json!({"field": "externalId", "from": before.external_id, "to": after.external_id}),
            );
        }
        if after.description != before.description {
            changes.push(json!({"field": "description", "from": before.description, "to": after.description}));
        }
        let event = group_event(
            EventType::GroupUpdate,
            actor,
            &after,
            json!({ "changes": changes, "members_added": ids(&add), "members_removed": ids(&remove) }),
        );
        apply_group_change(
            conn,
            GroupChange::Update {
                group: &after,
                add: &add,
                remove: &remove,
            },
            vec![event],
            now,
        )?;
        // Joining or leaving a group can bind or unbind the member to resources.
        let moved: Vec<UserId> = add.iter().chain(&remove).copied().collect();
        enqueue_for_users(conn, &moved, now)?;
        tracing::info!(group.id = %id, added = add.len(), removed = remove.len(), "group updated");
        Ok(Some(after))
    })
}

/// Deletes a group (its memberships and resource bindings go with it, and its former members
/// are provisioned again); `None` when there is no such group.
pub fn delete_group(
    conn: &mut DbConnection,
    id: GroupId,
    expected_version: Option<i64>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Group>, ServiceError> {
    write_transaction(conn, |conn| {
        let Some(group) = groups::find(conn, id)? else {
            return Ok(None);
        };
        if expected_version.is_some_and(|version| version != group.version) {
            return Err(ServiceError::Conflict);
        }
        let former = groups::members(conn, id)?;
        let event = group_event(EventType::GroupDelete, actor, &group, json!({}));
        apply_group_change(conn, GroupChange::Delete(&group), vec![event], now)?;
        resources::unbind_group_everywhere(conn, id)?;
        enqueue_for_users(conn, &former, now)?;
        tracing::info!(group.id = %id, "group deleted");
        Ok(Some(group))
    })
}
