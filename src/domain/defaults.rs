//! The organization's default state for new users, one setting per way of creating users
//! (JumpCloud's `newSystemUserStateDefaults`), and the rule that picks the setting.

use serde::{Deserialize, Serialize};

use super::LifecycleState;

/// The states a default may take: a new user is never suspended by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DefaultState {
    Activated,
    Staged,
}

impl From<DefaultState> for LifecycleState {
    fn from(state: DefaultState) -> Self {
        match state {
            DefaultState::Activated => LifecycleState::Activated,
            DefaultState::Staged => LifecycleState::Staged,
        }
    }
}

/// The three default-state settings. A fresh install has all three `ACTIVATED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateDefaults {
    /// Single creates through the admin API or console, every SCIM integration, and directory
    /// (Active Directory / LDAP) imports.
    pub manual_entry: DefaultState,
    /// CSV imports and bulk creates marked `jumpcloud:bulk` or carrying no creation source.
    pub csv_import: DefaultState,
    /// Bulk creates from applications and cloud directories (any other creation source).
    pub application_import: DefaultState,
}

impl Default for StateDefaults {
    fn default() -> Self {
        Self {
            manual_entry: DefaultState::Activated,
            csv_import: DefaultState::Activated,
            application_import: DefaultState::Activated,
        }
    }
}

/// Which of the three settings applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultSetting {
    ManualEntry,
    CsvImport,
    ApplicationImport,
}

/// How a user is being created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreationMethod {
    /// One user through the admin API, the console or the CLI.
    AdminApi,
    /// Pushed by an identity provider over SCIM (Okta, Entra ID, BambooHR, generic).
    Scim,
    /// Imported from an Active Directory or LDAP directory.
    DirectoryImport,
    /// Imported from a CSV file.
    CsvImport,
    /// The bulk user API, with the request's `creation-source` header when it had one.
    BulkApi(Option<BulkCreationSource>),
}

/// The `creation-source` header of a bulk create: `jumpcloud:<source>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkCreationSource {
    Bulk,
    Gapps,
    O365,
    Workday,
    Scim,
    CustomIntegration,
}

/// A `creation-source` header that names no known source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown creation-source {0:?}: expected jumpcloud:bulk, jumpcloud:gapps, jumpcloud:o365, \
     jumpcloud:workday, jumpcloud:scim or jumpcloud:custom_integration"
)]
pub struct UnknownCreationSource(pub String);

impl std::str::FromStr for BulkCreationSource {
    type Err = UnknownCreationSource;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "jumpcloud:bulk" => Ok(Self::Bulk),
            "jumpcloud:gapps" => Ok(Self::Gapps),
            "jumpcloud:o365" => Ok(Self::O365),
            "jumpcloud:workday" => Ok(Self::Workday),
            "jumpcloud:scim" => Ok(Self::Scim),
            "jumpcloud:custom_integration" => Ok(Self::CustomIntegration),
            other => Err(UnknownCreationSource(other.to_owned())),
        }
    }
}

impl CreationMethod {
    /// The setting that gives this method's default state.
    pub fn default_setting(&self) -> DefaultSetting {
        match self {
            Self::AdminApi | Self::Scim | Self::DirectoryImport => DefaultSetting::ManualEntry,
            Self::CsvImport | Self::BulkApi(None | Some(BulkCreationSource::Bulk)) => {
                DefaultSetting::CsvImport
            }
            Self::BulkApi(Some(_)) => DefaultSetting::ApplicationImport,
        }
    }
}

impl StateDefaults {
    pub fn get(&self, setting: DefaultSetting) -> DefaultState {
        match setting {
            DefaultSetting::ManualEntry => self.manual_entry,
            DefaultSetting::CsvImport => self.csv_import,
            DefaultSetting::ApplicationImport => self.application_import,
        }
    }

    /// The state a new user starts in: the request's explicit state when it gave one, otherwise
    /// the setting for the creation method.
    pub fn state_for_new_user(
        &self,
        method: &CreationMethod,
        requested: Option<LifecycleState>,
    ) -> LifecycleState {
        requested.unwrap_or_else(|| self.get(method.default_setting()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_staged_except(setting: DefaultSetting) -> StateDefaults {
        let mut defaults = StateDefaults {
            manual_entry: DefaultState::Staged,
            csv_import: DefaultState::Staged,
            application_import: DefaultState::Staged,
        };
        match setting {
            DefaultSetting::ManualEntry => defaults.manual_entry = DefaultState::Activated,
            DefaultSetting::CsvImport => defaults.csv_import = DefaultState::Activated,
            DefaultSetting::ApplicationImport => {
                defaults.application_import = DefaultState::Activated
            }
        }
        defaults
    }

    #[test]
    fn a_fresh_install_activates_every_new_user() {
        let defaults = StateDefaults::default();
        for method in [
            CreationMethod::AdminApi,
            CreationMethod::Scim,
            CreationMethod::CsvImport,
            CreationMethod::BulkApi(Some(BulkCreationSource::Workday)),
        ] {
            assert_eq!(
                defaults.state_for_new_user(&method, None),
                LifecycleState::Activated
            );
        }
    }

    #[test]
    fn single_creates_scim_and_directory_imports_use_manual_entry() {
        let defaults = all_staged_except(DefaultSetting::ManualEntry);
        for method in [
            CreationMethod::AdminApi,
            CreationMethod::Scim,
            CreationMethod::DirectoryImport,
        ] {
            assert_eq!(method.default_setting(), DefaultSetting::ManualEntry);
            assert_eq!(
                defaults.state_for_new_user(&method, None),
                LifecycleState::Activated,
                "{method:?}"
            );
        }
    }

    #[test]
    fn csv_and_plain_bulk_creates_use_csv_import() {
        let defaults = all_staged_except(DefaultSetting::CsvImport);
        for method in [
            CreationMethod::CsvImport,
            CreationMethod::BulkApi(None),
            CreationMethod::BulkApi(Some(BulkCreationSource::Bulk)),
        ] {
            assert_eq!(method.default_setting(), DefaultSetting::CsvImport);
            assert_eq!(
                defaults.state_for_new_user(&method, None),
                LifecycleState::Activated,
                "{method:?}"
            );
        }
    }

    #[test]
    fn bulk_creates_from_applications_use_application_import() {
        let defaults = all_staged_except(DefaultSetting::ApplicationImport);
        for source in [
            BulkCreationSource::Gapps,
            BulkCreationSource::O365,
            BulkCreationSource::Workday,
            BulkCreationSource::Scim,
            BulkCreationSource::CustomIntegration,
        ] {
            let method = CreationMethod::BulkApi(Some(source));
            assert_eq!(method.default_setting(), DefaultSetting::ApplicationImport);
            assert_eq!(
                defaults.state_for_new_user(&method, None),
                LifecycleState::Activated,
                "{source:?}"
            );
        }
    }

    #[test]
    fn an_explicit_state_beats_the_default() {
        let defaults = StateDefaults::default();
        assert_eq!(
            defaults.state_for_new_user(&CreationMethod::AdminApi, Some(LifecycleState::Staged)),
            LifecycleState::Staged
        );
        let staged = all_staged_except(DefaultSetting::CsvImport);
        assert_eq!(
            staged.state_for_new_user(&CreationMethod::Scim, Some(LifecycleState::Suspended)),
            LifecycleState::Suspended
        );
    }

    #[test]
    fn creation_sources_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            "jumpcloud:o365".parse::<BulkCreationSource>(),
            Ok(BulkCreationSource::O365)
        );
        let error = "gapps"
            .parse::<BulkCreationSource>()
            .expect_err("needs the prefix");
        assert!(error.to_string().contains("jumpcloud:gapps"));
    }

    #[test]
    fn settings_use_jumpcloud_field_names_and_refuse_other_values() {
        let json = serde_json::to_value(StateDefaults::default()).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "manualEntry": "ACTIVATED",
                "csvImport": "ACTIVATED",
                "applicationImport": "ACTIVATED"
            })
        );
        let suspended = serde_json::json!({
            "manualEntry": "SUSPENDED", "csvImport": "STAGED", "applicationImport": "STAGED"
        });
        assert!(serde_json::from_value::<StateDefaults>(suspended).is_err());
    }
}
