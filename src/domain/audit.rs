//! Audit events: what happened to whom, who did it, and the hash chain that makes the trail
//! tamper-evident. Event names follow JumpCloud's Directory Insights.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuditEventId;

/// The kinds of event the trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    UserCreate,
    UserUpdate,
    UserDelete,
    UserActivated,
    UserSuspended,
    UserUnsuspended,
    /// A state change was asked for and refused by a rule (for example an identity provider
    /// trying to lift a suspension an administrator made); the state did not change.
    UserStateChangeRefused,
    UserActivationEmail,
    UserPasswordSet,
    /// A user asked for a password-reset link (sent, or suppressed for a staged user).
    UserPasswordResetRequest,
    UserActivationScheduleCreate,
    UserActivationScheduleDelete,
    UserSuspensionScheduleCreate,
    UserSuspensionScheduleDelete,
    UserCreateProvision,
    UserUpdateProvision,
    UserDeprovision,
    UserDeleteProvision,
    /// An account was found in a target by looking the user up, and linked to the user.
    UserLookupProvision,
    OrganizationUpdate,
    GroupCreate,
    GroupUpdate,
    GroupDelete,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreate => "user_create",
            Self::UserUpdate => "user_update",
            Self::UserDelete => "user_delete",
            Self::UserActivated => "user_activated",
            Self::UserSuspended => "user_suspended",
            Self::UserUnsuspended => "user_unsuspended",
            Self::UserStateChangeRefused => "user_state_change_refused",
            Self::UserActivationEmail => "user_activation_email",
            Self::UserPasswordSet => "user_password_set",
            Self::UserPasswordResetRequest => "user_password_reset_request",
            Self::UserActivationScheduleCreate => "user_activation_schedule_create",
            Self::UserActivationScheduleDelete => "user_activation_schedule_delete",
            Self::UserSuspensionScheduleCreate => "user_suspension_schedule_create",
            Self::UserSuspensionScheduleDelete => "user_suspension_schedule_delete",
            Self::UserCreateProvision => "user_create_provision",
            Self::UserUpdateProvision => "user_update_provision",
            Self::UserDeprovision => "user_deprovision",
            Self::UserDeleteProvision => "user_delete_provision",
            Self::UserLookupProvision => "user_lookup_provision",
            Self::OrganizationUpdate => "organization_update",
            Self::GroupCreate => "group_create",
            Self::GroupUpdate => "group_update",
            Self::GroupDelete => "group_delete",
        }
    }
}

/// The kind of actor behind an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitiatorKind {
    /// An administrator through the admin API, named by the API key.
    Admin,
    /// An operator running the `roster` command on the server.
    Cli,
    Scheduler,
    Scim,
    Import,
    /// Roster itself, for example the provisioning dispatcher.
    System,
}

impl InitiatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Cli => "cli",
            Self::Scheduler => "scheduler",
            Self::Scim => "scim",
            Self::Import => "import",
            Self::System => "system",
        }
    }
}

/// Who made a change: the kind of actor and, where there is one, its name (the API key's name,
/// the SCIM integration's name, the import's kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initiator {
    pub kind: InitiatorKind,
    pub name: Option<String>,
}

impl Initiator {
    pub fn admin(name: impl Into<String>) -> Self {
        Self {
            kind: InitiatorKind::Admin,
            name: Some(name.into()),
        }
    }

    /// An operator at the command line, named by the local account when it is known.
    pub fn cli(operator: Option<String>) -> Self {
        Self {
            kind: InitiatorKind::Cli,
            name: operator,
        }
    }

    pub fn scheduler() -> Self {
        Self {
            kind: InitiatorKind::Scheduler,
            name: None,
        }
    }

    pub fn scim(integration: impl Into<String>) -> Self {
        Self {
            kind: InitiatorKind::Scim,
            name: Some(integration.into()),
        }
    }
}

/// The object an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditResource {
    /// `systemuser`, `organization`, ...
    pub kind: String,
    pub id: String,
    /// A name a person recognizes (the username), kept even after the object is deleted.
    pub name: Option<String>,
}

impl AuditResource {
    pub fn group(id: impl ToString, display_name: impl Into<String>) -> Self {
        Self {
            kind: "user_group".into(),
            id: id.to_string(),
            name: Some(display_name.into()),
        }
    }

    pub fn user(id: impl ToString, username: impl Into<String>) -> Self {
        Self {
            kind: "systemuser".into(),
            id: id.to_string(),
            name: Some(username.into()),
        }
    }
}

/// An event about to be appended: the chain fields are filled in by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub event_type: EventType,
    pub initiated_by: Initiator,
    pub resource: AuditResource,
    /// Event-specific facts: `changes`, `from`/`to` states, errors. Never secrets.
    pub details: serde_json::Value,
}

/// An event as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Position in the trail, from 1 with no gaps.
    pub seq: i64,
    pub id: AuditEventId,
    pub occurred_at: DateTime<Utc>,
    pub event_type: String,
    pub initiated_by: Initiator,
    pub resource: AuditResource,
    /// The details exactly as stored (compact JSON), the form the hash covers.
    pub details: String,
    /// The hash of the previous event; the genesis value for the first.
    pub prev_hash: String,
    /// SHA-256 over this event's fields and `prev_hash`, lower-case hex.
    pub hash: String,
}

/// The `prev_hash` of the first event in the trail.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEvent {
    /// The hash this event must carry, computed from its fields and `prev_hash`. Each field is
    /// length-prefixed, so no two different events share an encoding.
    pub fn compute_hash(&self) -> String {
        let occurred_at = self
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let seq = self.seq.to_string();
        let id = self.id.to_string();
        let fields: [&str; 11] = [
            &seq,
            &id,
            &occurred_at,
            &self.event_type,
            self.initiated_by.kind.as_str(),
            self.initiated_by.name.as_deref().unwrap_or(""),
            &self.resource.kind,
            &self.resource.id,
            self.resource.name.as_deref().unwrap_or(""),
            &self.details,
            &self.prev_hash,
        ];
        let mut hasher = Sha256::new();
        for field in fields {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Where a stored trail stops holding together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {seq} was altered: its hash does not match its contents")]
    Altered { seq: i64 },
    #[error(
        "the chain is broken before event {seq}: its prev_hash is not the previous event's hash"
    )]
    Unlinked { seq: i64 },
    #[error("events are missing: expected event {expected}, found event {found}")]
    Missing { expected: i64, found: i64 },
}

/// Checks events in trail order, continuing from the event before them (`prev_seq` and
/// `prev_hash`: 0 and the genesis hash for the start of the trail).
pub fn verify_chain<'a>(
    prev_seq: i64,
    prev_hash: &str,
    events: impl IntoIterator<Item = &'a AuditEvent>,
) -> Result<(i64, String), ChainBreak> {
    let mut expected_seq = prev_seq + 1;
    let mut last_hash = prev_hash.to_owned();
    for event in events {
        if event.seq != expected_seq {
            return Err(ChainBreak::Missing {
                expected: expected_seq,
                found: event.seq,
            });
        }
        if event.prev_hash != last_hash {
            return Err(ChainBreak::Unlinked { seq: event.seq });
        }
        if event.compute_hash() != event.hash {
            return Err(ChainBreak::Altered { seq: event.seq });
        }
        last_hash.clone_from(&event.hash);
        expected_seq += 1;
    }
    Ok((expected_seq - 1, last_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(count: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=count)
            .map(|seq| {
                let mut event = AuditEvent {
                    seq,
                    id: AuditEventId::generate(),
                    occurred_at: DateTime::from_timestamp(1_700_000_000 + seq, 0).expect("valid"),
                    event_type: EventType::UserCreate.as_str().into(),
                    initiated_by: Initiator::admin("ops"),
                    resource: AuditResource::user(seq, format!("user{seq}")),
                    details: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                event.hash = event.compute_hash();
                prev.clone_from(&event.hash);
                event
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        let (last_seq, last_hash) =
            verify_chain(0, GENESIS_HASH, &events).expect("intact chain verifies");
        assert_eq!(last_seq, 5);
        assert_eq!(last_hash, events[4].hash);
    }

    #[test]
    fn an_altered_field_is_detected() {
        let mut events = chain(3);
        events[1].details = r#"{"state":"ACTIVATED"}"#.into();
        assert_eq!(
            verify_chain(0, GENESIS_HASH, &events),
            Err(ChainBreak::Altered { seq: 2 })
        );
    }

    #[test]
    fn a_removed_event_is_detected() {
        let mut events = chain(3);
        events.remove(1);
        assert_eq!(
            verify_chain(0, GENESIS_HASH, &events),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn a_rehashed_forgery_is_detected_by_the_next_link() {
        let mut events = chain(3);
        events[1].resource.name = Some("mallory".into());
        events[1].hash = events[1].compute_hash();
        assert_eq!(
            verify_chain(0, GENESIS_HASH, &events),
            Err(ChainBreak::Unlinked { seq: 3 })
        );
    }

    #[test]
    fn field_boundaries_matter_to_the_hash() {
        let events = chain(1);
        let mut shifted = events[0].clone();
        shifted.resource.kind = "systemuser1".into();
        shifted.resource.id = String::new();
        assert_ne!(shifted.compute_hash(), events[0].compute_hash());
    }
}
