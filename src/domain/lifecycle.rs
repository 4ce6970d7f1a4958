//! The account state machine: which state changes are allowed, and what a request to change
//! state amounts to (a real change, nothing, or a repeated event worth recording).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The state of an account. The API names are JumpCloud's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LifecycleState {
    /// Onboarding: resources may be assigned, but nothing is provisioned and access is denied.
    Staged,
    /// Active: access to every assigned resource.
    Activated,
    /// Access revoked everywhere; accounts are kept, disabled.
    Suspended,
}

impl LifecycleState {
    pub const ALL: [LifecycleState; 3] = [Self::Staged, Self::Activated, Self::Suspended];

    /// The value used in APIs and storage: `STAGED`, `ACTIVATED` or `SUSPENDED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Activated => "ACTIVATED",
            Self::Suspended => "SUSPENDED",
        }
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that names no lifecycle state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {0:?}: expected STAGED, ACTIVATED or SUSPENDED")]
pub struct UnknownState(pub String);

impl FromStr for LifecycleState {
    type Err = UnknownState;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "STAGED" => Ok(Self::Staged),
            "ACTIVATED" => Ok(Self::Activated),
            "SUSPENDED" => Ok(Self::Suspended),
            other => Err(UnknownState(other.to_owned())),
        }
    }
}

/// Who or what asked for a state change; stored as `state_source` and shown in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateSource {
    /// An administrator, through the admin API, the console or the CLI.
    Admin,
    /// A scheduled state change that fell due.
    Scheduler,
    /// An identity provider pushing over SCIM; carries the integration's name.
    Scim(String),
    /// A directory or file import; carries the kind of import (`csv`, `ldap`, ...).
    Import(String),
}

impl fmt::Display for StateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin => f.write_str("admin"),
            Self::Scheduler => f.write_str("scheduler"),
            Self::Scim(integration) => write!(f, "scim:{integration}"),
            Self::Import(kind) => write!(f, "import:{kind}"),
        }
    }
}

/// A text that is not a valid state source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown state source {0:?}: expected admin, scheduler, scim:<integration> or import:<kind>"
)]
pub struct UnknownStateSource(pub String);

impl FromStr for StateSource {
    type Err = UnknownStateSource;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownStateSource(text.to_owned());
        match text.split_once(':') {
            None if text == "admin" => Ok(Self::Admin),
            None if text == "scheduler" => Ok(Self::Scheduler),
            Some(("scim", name)) if !name.is_empty() => Ok(Self::Scim(name.to_owned())),
            Some(("import", kind)) if !kind.is_empty() => Ok(Self::Import(kind.to_owned())),
            _ => Err(unknown()),
        }
    }
}

/// How a state change was started: a request made now, or a schedule that fell due. The two
/// differ only when the user is already in the target state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Request,
    Schedule,
}

/// What a state change request amounts to once checked against the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The state changes; record it.
    Change {
        from: LifecycleState,
        to: LifecycleState,
    },
    /// The user is already in the target state: nothing changes and nothing is recorded.
    Unchanged,
    /// A scheduled suspension fell due for a user who is already suspended: the state stays, but
    /// the suspension is recorded again, so reports show the user suspended twice.
    RepeatedSuspension,
    /// A scheduled activation fell due for a user who is already active: recorded as skipped.
    SkippedActivation,
}

/// Why a state change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("a user cannot go from {from} to {to}: {reason}")]
    InvalidTransition {
        from: LifecycleState,
        to: LifecycleState,
        reason: &'static str,
    },
    #[error(
        "the Samba service account cannot be suspended: domain-joined devices rely on it to \
         authenticate against the directory"
    )]
    SambaServiceAccount,
}

/// Decides what asking for `to` means for a user now in `from`.
///
/// `samba_service_user` is the user's flag: that account may never be suspended.
pub fn transition(
    from: LifecycleState,
    to: LifecycleState,
    trigger: Trigger,
    samba_service_user: bool,
) -> Result<Transition, LifecycleError> {
    use LifecycleState::*;
    if to == Suspended && samba_service_user {
        return Err(LifecycleError::SambaServiceAccount);
    }
    match (from, to, trigger) {
        (Suspended, Suspended, Trigger::Schedule) => Ok(Transition::RepeatedSuspension),
        (Activated, Activated, Trigger::Schedule) => Ok(Transition::SkippedActivation),
        (from, to, _) if from == to => Ok(Transition::Unchanged),
        (from, Staged, _) => Err(LifecycleError::InvalidTransition {
            from,
            to: Staged,
            reason: "no account returns to STAGED once it has left it",
        }),
        (from, to, _) => Ok(Transition::Change { from, to }),
    }
}

/// The state a new user may be created in: any state, except that the Samba service account
/// cannot start out suspended.
pub fn initial_state(
    state: LifecycleState,
    samba_service_user: bool,
) -> Result<LifecycleState, LifecycleError> {
    if state == LifecycleState::Suspended && samba_service_user {
        return Err(LifecycleError::SambaServiceAccount);
    }
    Ok(state)
}

/// Deleting a user is allowed from every state. Kept as a function so that the rule has one
/// place and one test, even though it has no exception today.
pub fn may_delete(_state: LifecycleState) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::LifecycleState::*;
    use super::*;

    fn request(from: LifecycleState, to: LifecycleState) -> Result<Transition, LifecycleError> {
        transition(from, to, Trigger::Request, false)
    }

    #[test]
    fn staged_to_activated_is_a_change() {
        assert_eq!(
            request(Staged, Activated),
            Ok(Transition::Change {
                from: Staged,
                to: Activated
            })
        );
    }

    #[test]
    fn staged_to_suspended_is_a_change() {
        assert_eq!(
            request(Staged, Suspended),
            Ok(Transition::Change {
                from: Staged,
                to: Suspended
            })
        );
    }

    #[test]
    fn activated_to_suspended_is_a_change() {
        assert_eq!(
            request(Activated, Suspended),
            Ok(Transition::Change {
                from: Activated,
                to: Suspended
            })
        );
    }

    #[test]
    fn suspended_to_activated_is_a_change() {
        assert_eq!(
            request(Suspended, Activated),
            Ok(Transition::Change {
                from: Suspended,
                to: Activated
            })
        );
    }

    #[test]
    fn activated_to_staged_is_refused_naming_both_states() {
        let error = request(Activated, Staged).expect_err("must be refused");
        assert!(matches!(
            error,
            LifecycleError::InvalidTransition {
                from: Activated,
                to: Staged,
                ..
            }
        ));
        let message = error.to_string();
        assert!(
            message.contains("ACTIVATED") && message.contains("STAGED"),
            "{message}"
        );
    }

    #[test]
    fn suspended_to_staged_is_refused_naming_both_states() {
        let error = request(Suspended, Staged).expect_err("must be refused");
        assert!(matches!(
            error,
            LifecycleError::InvalidTransition {
                from: Suspended,
                to: Staged,
                ..
            }
        ));
        let message = error.to_string();
        assert!(
            message.contains("SUSPENDED") && message.contains("STAGED"),
            "{message}"
        );
    }

    #[test]
    fn a_request_for_the_current_state_changes_nothing() {
        for state in LifecycleState::ALL {
            assert_eq!(request(state, state), Ok(Transition::Unchanged), "{state}");
        }
    }

    #[test]
    fn entering_staged_is_refused_by_a_schedule_too() {
        for from in [Activated, Suspended] {
            assert!(transition(from, Staged, Trigger::Schedule, false).is_err());
        }
    }

    #[test]
    fn a_scheduled_suspension_of_a_suspended_user_is_recorded_again() {
        assert_eq!(
            transition(Suspended, Suspended, Trigger::Schedule, false),
            Ok(Transition::RepeatedSuspension)
        );
    }

    #[test]
    fn a_scheduled_activation_of_an_active_user_is_skipped() {
        assert_eq!(
            transition(Activated, Activated, Trigger::Schedule, false),
            Ok(Transition::SkippedActivation)
        );
    }

    #[test]
    fn scheduled_changes_follow_the_same_rules_as_requests_otherwise() {
        for (from, to) in [
            (Staged, Activated),
            (Staged, Suspended),
            (Activated, Suspended),
            (Suspended, Activated),
        ] {
            assert_eq!(
                transition(from, to, Trigger::Schedule, false),
                Ok(Transition::Change { from, to })
            );
        }
    }

    #[test]
    fn the_samba_service_account_is_never_suspended() {
        for from in LifecycleState::ALL {
            for trigger in [Trigger::Request, Trigger::Schedule] {
                assert_eq!(
                    transition(from, Suspended, trigger, true),
                    Err(LifecycleError::SambaServiceAccount),
                    "{from} via {trigger:?}"
                );
            }
        }
        assert_eq!(
            initial_state(Suspended, true),
            Err(LifecycleError::SambaServiceAccount)
        );
    }

    #[test]
    fn the_samba_service_account_may_still_be_activated() {
        assert_eq!(
            transition(Staged, Activated, Trigger::Request, true),
            Ok(Transition::Change {
                from: Staged,
                to: Activated
            })
        );
    }

    #[test]
    fn a_new_user_may_start_in_any_state() {
        for state in LifecycleState::ALL {
            assert_eq!(initial_state(state, false), Ok(state));
        }
    }

    #[test]
    fn deletion_is_allowed_from_every_state() {
        for state in LifecycleState::ALL {
            assert!(may_delete(state), "{state}");
        }
    }

    #[test]
    fn states_round_trip_through_their_api_names() {
        for state in LifecycleState::ALL {
            assert_eq!(state.as_str().parse::<LifecycleState>(), Ok(state));
            let json = serde_json::to_string(&state).expect("serializes");
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert!("active".parse::<LifecycleState>().is_err());
        assert!("staged".parse::<LifecycleState>().is_err());
    }

    #[test]
    fn state_sources_round_trip_through_their_text_form() {
        for source in [
            StateSource::Admin,
            StateSource::Scheduler,
            StateSource::Scim("okta".into()),
            StateSource::Import("csv".into()),
        ] {
            assert_eq!(source.to_string().parse::<StateSource>(), Ok(source));
        }
        for bad in ["", "scim:", "import", "robot", "scim"] {
            assert!(bad.parse::<StateSource>().is_err(), "{bad:?}");
        }
    }
}
