//! The organization's settings that Roster honours: the default state of new users.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::ServiceError;
use super::users::Actor;
use crate::domain::StateDefaults;
use crate::domain::audit::{AuditResource, EventType, NewAuditEvent};
use crate::store::organization::{self, Organization};
use crate::store::{DbConnection, audit, settings, write_transaction};

/// The organization and its current defaults.
pub fn get(conn: &mut DbConnection) -> Result<(Organization, StateDefaults), ServiceError> {
    Ok((organization::get(conn)?, settings::state_defaults(conn)?))
}

/// Replaces the default states for new users, recording the changed settings as one
/// `organization_update` event. Setting the current values writes nothing.
pub fn set_state_defaults(
    conn: &mut DbConnection,
    defaults: StateDefaults,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Organization, StateDefaults), ServiceError> {
    write_transaction(conn, |conn| {
        let organization = organization::get(conn)?;
        let before = settings::state_defaults(conn)?;
        let (old, new) = (json!(before), json!(defaults));
        let changes: Vec<_> = ["manualEntry", "csvImport", "applicationImport"]
            .into_iter()
            .filter(|key| old[key] != new[key])
            .map(|key| {
                json!({
                    "field": format!("settings.newSystemUserStateDefaults.{key}"),
                    "from": old[key],
                    "to": new[key],
                })
            })
            .collect();
        if changes.is_empty() {
            return Ok((organization, before));
        }
        settings::set_state_defaults(conn, &defaults, now)?;
        let event = NewAuditEvent {
            event_type: EventType::OrganizationUpdate,
            initiated_by: actor.initiator.clone(),
            resource: AuditResource {
                kind: "organization".into(),
                id: organization.id.clone(),
                name: Some(organization.name.clone()),
            },
            details: json!({ "changes": changes }),
        };
        audit::append(conn, vec![event], now)?;
        tracing::info!(changes = changes.len(), "organization settings updated");
        Ok((organization, defaults))
    })
}
