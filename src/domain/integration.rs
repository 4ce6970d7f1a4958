//! Integrations: the identity providers and HR systems that push users over SCIM, each with its
//! own say over the lifecycle (DESIGN.md §6).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IntegrationId;

/// Which product sits on the other end; it only chooses sensible defaults and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    Okta,
    Entra,
    Bamboohr,
    Generic,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Okta => "okta",
            Self::Entra => "entra",
            Self::Bamboohr => "bamboohr",
            Self::Generic => "generic",
        }
    }
}

impl fmt::Display for IntegrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that names no integration kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown integration kind {0:?}: expected okta, entra, bamboohr or generic")]
pub struct UnknownKind(pub String);

impl FromStr for IntegrationKind {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "okta" => Ok(Self::Okta),
            "entra" => Ok(Self::Entra),
            "bamboohr" => Ok(Self::Bamboohr),
            "generic" => Ok(Self::Generic),
            _ => Err(UnknownKind(text.to_owned())),
        }
    }
}

/// What a SCIM `DELETE /Users/{id}` from this integration does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteAction {
    /// The user is deleted for good (the default: Entra sends DELETE only after a hard delete).
    #[default]
    Delete,
    /// The user is suspended and kept.
    Suspend,
}

/// How much of the lifecycle an integration may drive. The defaults are the cautious ones: an
/// identity provider may suspend, but may neither activate a staged user nor lift a suspension
/// someone else made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case")]
pub struct LifecyclePolicy {
    /// `active: true` may take a STAGED user to ACTIVATED.
    pub may_activate_staged: bool,
    /// `active: true` may lift any suspension, not only one this integration made.
    pub may_lift_any_suspension: bool,
    pub delete_action: DeleteAction,
}

/// An integration, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: IntegrationId,
    /// Unique; recorded as the source of every change the integration makes.
    pub name: String,
    pub kind: IntegrationKind,
    pub policy: LifecyclePolicy,
    pub created_at: DateTime<Utc>,
}

impl Integration {
    pub fn new(name: impl Into<String>, kind: IntegrationKind, now: DateTime<Utc>) -> Self {
        Self {
            id: IntegrationId::generate(),
            name: name.into(),
            kind,
            policy: LifecyclePolicy::default(),
            created_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_in_any_case_and_unknown_ones_are_named() {
        assert_eq!("Okta".parse::<IntegrationKind>(), Ok(IntegrationKind::Okta));
        let error = "workday".parse::<IntegrationKind>().expect_err("unknown");
        assert!(error.to_string().contains("workday"));
    }

    #[test]
    fn missing_policy_options_take_the_cautious_defaults() {
        let policy: LifecyclePolicy =
            serde_json::from_str(r#"{"may_activate_staged":true}"#).expect("parses");
        assert!(policy.may_activate_staged);
        assert!(!policy.may_lift_any_suspension);
        assert_eq!(policy.delete_action, DeleteAction::Delete);
    }
}
