//! A configured resource: a provisioning target (LDAP directory, SCIM app) or another resource
//! users are bound to (portal, SAML app, RADIUS, device, cloud directory).

use std::fmt;

use chrono::{DateTime, Utc};

use super::ResourceId;
use super::provisioning::{ResourceOptions, ResourceType};

/// A service account's password or token. Its Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself, for the connector that presents it and the store that keeps it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How Roster reaches a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `ldap://`, `ldaps://` or `https://` URL.
    pub url: String,
    /// LDAP: the service account's DN. Unused by SCIM apps (bearer token only).
    pub bind_dn: Option<String>,
    pub secret: Option<Secret>,
    /// LDAP: the container user entries are written under (`ou=people,dc=example,dc=com`).
    pub base_dn: Option<String>,
}

/// Why the dispatcher holds a target's jobs back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub reason: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: ResourceId,
    pub name: String,
    pub kind: ResourceType,
    pub connection: Option<Connection>,
    /// Free-form options as given by the admin; the ones the plan reads are in [`Self::plan_options`].
    pub options: serde_json::Value,
    pub paused: Option<Pause>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Resource {
    /// The options that choose between the variants of the provisioning matrix.
    pub fn plan_options(&self) -> ResourceOptions {
        let flag = |name: &str| {
            self.options
                .get(name)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        ResourceOptions {
            scim_delete_on_suspend: flag("deleteOnSuspend"),
            scim_deactivate_on_delete: flag("deactivateOnDelete"),
            ad_delete_on_delete: flag("deleteOnDelete"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let connection = Connection {
            url: "ldap://127.0.0.1".into(),
            bind_dn: None,
            secret: Some(Secret::new("hunter2")),
            base_dn: None,
        };
        assert!(!format!("{connection:?}").contains("hunter2"));
    }
}
