//! What a user's lifecycle state means for each kind of resource: the matrix of DESIGN.md §5
//! and the footnotes of the vendor article's staged-user table, as one pure function.
//! Connectors only carry out the [`Action`] this module decides.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::LifecycleState;

/// The kinds of resource a user can be given, directly or through a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    UserPortal,
    SamlApp,
    Radius,
    LdapDirectory,
    Device,
    GoogleWorkspace,
    Microsoft365,
    ActiveDirectory,
    ScimApp,
}

impl ResourceType {
    pub const ALL: [ResourceType; 9] = [
        Self::UserPortal,
        Self::SamlApp,
        Self::Radius,
        Self::LdapDirectory,
        Self::Device,
        Self::GoogleWorkspace,
        Self::Microsoft365,
        Self::ActiveDirectory,
        Self::ScimApp,
    ];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserPortal => "user_portal",
            Self::SamlApp => "saml_app",
            Self::Radius => "radius",
            Self::LdapDirectory => "ldap_directory",
            Self::Device => "device",
            Self::GoogleWorkspace => "google_workspace",
            Self::Microsoft365 => "microsoft_365",
            Self::ActiveDirectory => "active_directory",
            Self::ScimApp => "scim_app",
        }
    }

    /// Whether Roster writes accounts into this kind of resource today. The others are decided
    /// by the plan and exposed through the access check only.
    pub fn has_connector(self) -> bool {
        // Roster carries connectors for LDAP directories and SCIM apps. For Google Workspace,
        // Microsoft 365 and Active Directory the action is decided by `plan` and shown by the
        // access check until a connector is written (Directory API `users.insert`/`update`
        // with `suspended`; Graph `accountEnabled`; `userAccountControl` 512/514).
        matches!(self, Self::LdapDirectory | Self::ScimApp)
    }

    /// Whether a configured resource of this type needs connection settings (URL, bind DN).
    pub fn needs_connection(self) -> bool {
        matches!(
            self,
            Self::LdapDirectory | Self::ScimApp | Self::ActiveDirectory
        )
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource type name that is not one of [`ResourceType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown resource type {0:?}; expected one of user_portal, saml_app, radius, ldap_directory, device, google_workspace, microsoft_365, active_directory, scim_app"
)]
pub struct UnknownResourceType(pub String);

impl FromStr for ResourceType {
    type Err = UnknownResourceType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownResourceType(text.to_owned()))
    }
}

/// Where the user stands for one resource: a lifecycle state, or gone. A user who is no longer
/// assigned the resource counts as gone for it (unbinding revokes, as deleting does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Present(LifecycleState),
    Deleted,
}

/// Per-resource options the plan needs to choose between documented variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceOptions {
    /// SCIM app: delete the account on suspension instead of `PATCH active:false` (apps
    /// without an `active` attribute).
    pub scim_delete_on_suspend: bool,
    /// SCIM app: deactivate instead of `DELETE` when the user is deleted.
    pub scim_deactivate_on_delete: bool,
    /// Active Directory: delete the account when the user is deleted instead of disabling it.
    pub ad_delete_on_delete: bool,
}

/// What is known about the user in the target at planning time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// The target already holds an account for this user.
    pub exists_in_target: bool,
    /// Device: the user is the last Secure Token user of that macOS device.
    pub last_secure_token_user: bool,
}

/// What to do with the user's account in one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Write nothing: no account is made, and an existing one is left exactly as it is (no
    /// password is dispatched either).
    Nothing,
    /// Cloud directories' staged footnote: create the account enabled with a random password
    /// nobody knows, so it exists without giving access.
    CreateWithRandomPassword,
    /// The account exists, is enabled and carries the user's real password.
    Enable,
    /// The account is kept but disabled (LDAP: locked); password changes are held back.
    Disable,
    /// The account is removed.
    Remove,
    /// Suspended or deleted in Roster, but left on the device because it is the device's last
    /// Secure Token user: removing it would lock everyone out of the machine.
    KeepOnDevice,
}

/// The account action for a user in `standing` on a resource of type `kind`.
pub fn plan(
    standing: Standing,
    kind: ResourceType,
    options: ResourceOptions,
    facts: Facts,
) -> Action {
    use LifecycleState::{Activated, Staged, Suspended};
    use ResourceType::*;
    match (kind, standing) {
        (_, Standing::Present(Activated)) => Action::Enable,

        (GoogleWorkspace | Microsoft365, Standing::Present(Staged)) => {
            if facts.exists_in_target {
                Action::Nothing
            } else {
                Action::CreateWithRandomPassword
            }
        }
        (_, Standing::Present(Staged)) => Action::Nothing,

        (Device, Standing::Present(Suspended) | Standing::Deleted)
            if facts.last_secure_token_user =>
        {
            Action::KeepOnDevice
        }
        (ScimApp, Standing::Present(Suspended)) if options.scim_delete_on_suspend => Action::Remove,
        (_, Standing::Present(Suspended)) => Action::Disable,

        // Cloud directories suspend a deleted user rather than delete it (vendor article).
        (GoogleWorkspace | Microsoft365, Standing::Deleted) => Action::Disable,
        (ScimApp, Standing::Deleted) if options.scim_deactivate_on_delete => Action::Disable,
        (ActiveDirectory, Standing::Deleted) if !options.ad_delete_on_delete => Action::Disable,
        (_, Standing::Deleted) => Action::Remove,
    }
}

/// Whether the user may use a resource now, and why, from the state that applies now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessDecision {
    pub allowed: bool,
    pub reason: String,
}

/// Access follows the state alone: only an active user who is assigned the resource gets in.
pub fn access(state: LifecycleState, assigned: bool, kind: ResourceType) -> AccessDecision {
    let (allowed, reason) = match (state, assigned) {
        (_, false) => (
            false,
            format!("the user is not bound to this {kind}, directly or through a group"),
        ),
        (LifecycleState::Activated, true) => (true, "the user is active and bound to it".into()),
        (LifecycleState::Staged, true) => (
            false,
            "the user is staged: staged users have no access until activated".into(),
        ),
        (LifecycleState::Suspended, true) => (
            false,
            "the user is suspended: suspended users have no access".into(),
        ),
    };
    AccessDecision { allowed, reason }
}

#[cfg(test)]
mod tests {
    use super::ResourceType::*;
    use super::*;
    use LifecycleState::{Activated, Staged, Suspended};

    fn decide(standing: Standing, kind: ResourceType) -> Action {
        plan(standing, kind, ResourceOptions::default(), Facts::default())
    }

    const STAGED: Standing = Standing::Present(Staged);
    const ACTIVE: Standing = Standing::Present(Activated);
    const SUSPENDED: Standing = Standing::Present(Suspended);

    // Row "User Portal, SAML, RADIUS, device".
    #[test]
    fn access_only_resources_get_no_account_while_staged() {
        for kind in [UserPortal, SamlApp, Radius, Device] {
            assert_eq!(decide(STAGED, kind), Action::Nothing, "{kind}");
        }
    }

    #[test]
    fn access_only_resources_are_enabled_when_active() {
        for kind in [UserPortal, SamlApp, Radius, Device] {
            assert_eq!(decide(ACTIVE, kind), Action::Enable, "{kind}");
        }
    }

    #[test]
    fn access_only_resources_are_disabled_when_suspended() {
        for kind in [UserPortal, SamlApp, Radius, Device] {
            assert_eq!(decide(SUSPENDED, kind), Action::Disable, "{kind}");
        }
    }

    #[test]
    fn access_only_resources_are_removed_on_deletion() {
        for kind in [UserPortal, SamlApp, Radius, Device] {
            assert_eq!(decide(Standing::Deleted, kind), Action::Remove, "{kind}");
        }
    }

    // Row "LDAP directory".
    #[test]
    fn ldap_staged_is_not_provisioned_even_when_an_entry_exists() {
        let facts = Facts {
            exists_in_target: true,
            ..Facts::default()
        };
        assert_eq!(decide(STAGED, LdapDirectory), Action::Nothing);
        assert_eq!(
            plan(STAGED, LdapDirectory, ResourceOptions::default(), facts),
            Action::Nothing
        );
    }

    #[test]
    fn ldap_active_suspended_deleted() {
        assert_eq!(decide(ACTIVE, LdapDirectory), Action::Enable);
        assert_eq!(decide(SUSPENDED, LdapDirectory), Action::Disable);
        assert_eq!(decide(Standing::Deleted, LdapDirectory), Action::Remove);
    }

    // Row "SCIM app".
    #[test]
    fn scim_app_sends_nothing_while_staged() {
        assert_eq!(decide(STAGED, ScimApp), Action::Nothing);
    }

    #[test]
    fn scim_app_active_is_enabled() {
        assert_eq!(decide(ACTIVE, ScimApp), Action::Enable);
    }

    #[test]
    fn scim_app_suspension_deactivates_or_deletes_per_app() {
        assert_eq!(decide(SUSPENDED, ScimApp), Action::Disable);
        let delete = ResourceOptions {
            scim_delete_on_suspend: true,
            ..ResourceOptions::default()
        };
        assert_eq!(
            plan(SUSPENDED, ScimApp, delete, Facts::default()),
            Action::Remove
        );
    }

    #[test]
    fn scim_app_deletion_deletes_or_deactivates_per_app() {
        assert_eq!(decide(Standing::Deleted, ScimApp), Action::Remove);
        let deactivate = ResourceOptions {
            scim_deactivate_on_delete: true,
            ..ResourceOptions::default()
        };
        assert_eq!(
            plan(Standing::Deleted, ScimApp, deactivate, Facts::default()),
            Action::Disable
        );
    }

    // Row "Google Workspace, M365" and the article's `*` footnote.
    #[test]
    fn cloud_directories_create_a_staged_user_with_a_random_password_when_absent() {
        for kind in [GoogleWorkspace, Microsoft365] {
            assert_eq!(
                decide(STAGED, kind),
                Action::CreateWithRandomPassword,
                "{kind}"
            );
        }
    }

    #[test]
    fn cloud_directories_dispatch_no_password_for_a_staged_user_already_there() {
        let present = Facts {
            exists_in_target: true,
            ..Facts::default()
        };
        for kind in [GoogleWorkspace, Microsoft365] {
            assert_eq!(
                plan(STAGED, kind, ResourceOptions::default(), present),
                Action::Nothing,
                "{kind}"
            );
        }
    }

    #[test]
    fn cloud_directories_enable_active_and_disable_suspended_users() {
        for kind in [GoogleWorkspace, Microsoft365] {
            assert_eq!(decide(ACTIVE, kind), Action::Enable, "{kind}");
            assert_eq!(decide(SUSPENDED, kind), Action::Disable, "{kind}");
        }
    }

    #[test]
    fn deletion_suspends_in_cloud_directories() {
        for kind in [GoogleWorkspace, Microsoft365] {
            assert_eq!(decide(Standing::Deleted, kind), Action::Disable, "{kind}");
        }
    }

    // Row "Active Directory".
    #[test]
    fn active_directory_follows_the_state_and_the_deletion_setting() {
        assert_eq!(decide(STAGED, ActiveDirectory), Action::Nothing);
        assert_eq!(decide(ACTIVE, ActiveDirectory), Action::Enable);
        assert_eq!(decide(SUSPENDED, ActiveDirectory), Action::Disable);
        assert_eq!(decide(Standing::Deleted, ActiveDirectory), Action::Disable);
        let delete = ResourceOptions {
            ad_delete_on_delete: true,
            ..ResourceOptions::default()
        };
        assert_eq!(
            plan(Standing::Deleted, ActiveDirectory, delete, Facts::default()),
            Action::Remove
        );
    }

    // The article's macOS note.
    #[test]
    fn the_last_secure_token_user_stays_on_the_device() {
        let last = Facts {
            last_secure_token_user: true,
            exists_in_target: true,
        };
        for standing in [SUSPENDED, Standing::Deleted] {
            assert_eq!(
                plan(standing, Device, ResourceOptions::default(), last),
                Action::KeepOnDevice
            );
        }
        // Only devices know Secure Tokens; an active user is simply enabled.
        assert_eq!(
            plan(ACTIVE, Device, ResourceOptions::default(), last),
            Action::Enable
        );
        assert_eq!(
            plan(SUSPENDED, LdapDirectory, ResourceOptions::default(), last),
            Action::Disable
        );
    }

    #[test]
    fn only_active_assigned_users_get_access() {
        for kind in ResourceType::ALL {
            assert!(access(Activated, true, kind).allowed);
            assert!(!access(Activated, false, kind).allowed);
            let staged = access(Staged, true, kind);
            assert!(!staged.allowed && staged.reason.contains("staged"));
            let suspended = access(Suspended, true, kind);
            assert!(!suspended.allowed && suspended.reason.contains("suspended"));
        }
    }

    #[test]
    fn resource_type_names_round_trip() {
        for kind in ResourceType::ALL {
            assert_eq!(kind.as_str().parse::<ResourceType>(), Ok(kind));
        }
        assert!("ldap".parse::<ResourceType>().is_err());
    }
}
