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

/// How an LDAP directory's entries are also `posixAccount`s (RFC 2307), from its options
/// `posixAccount: true`, `homeDirectoryBase` (default `/home`) and `loginShell` (none unless
/// given). The ids are the user's `unix_uid` and `unix_guid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosixOptions {
    pub home_directory_base: String,
    pub login_shell: Option<String>,
}

impl PosixOptions {
    /// `<base>/<username>`.
    pub fn home_directory(&self, username: &str) -> String {
        format!(
            "{}/{username}",
            self.home_directory_base.trim_end_matches('/')
        )
    }
}

/// Why a resource's options were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("options.{option}: {reason}")]
pub struct InvalidOption {
    pub option: &'static str,
    pub reason: &'static str,
}

impl Resource {
    /// The POSIX settings of an LDAP directory, if its entries are to be `posixAccount`s.
    pub fn posix_options(&self) -> Option<PosixOptions> {
        if self
            .options
            .get("posixAccount")
            .and_then(serde_json::Value::as_bool)
            != Some(true)
        {
            return None;
        }
        let text = |name: &str| {
            self.options
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Some(PosixOptions {
            home_directory_base: text("homeDirectoryBase").unwrap_or_else(|| "/home".into()),
            login_shell: text("loginShell"),
        })
    }
}

/// Checks the options an admin gives a resource of type `kind`: the POSIX ones must have the
/// right types and absolute paths, and only LDAP directories take them.
pub fn validate_options(
    kind: ResourceType,
    options: &serde_json::Value,
) -> Result<(), InvalidOption> {
    let Some(options) = options.as_object() else {
        return Ok(());
    };
    let posix_keys = ["posixAccount", "homeDirectoryBase", "loginShell"];
    if kind != ResourceType::LdapDirectory {
        if let Some(option) = posix_keys
            .into_iter()
            .find(|key| options.contains_key(*key))
        {
            return Err(InvalidOption {
                option,
                reason: "only an ldap_directory takes the POSIX options",
            });
        }
        return Ok(());
    }
    if options.get("posixAccount").is_some_and(|v| !v.is_boolean()) {
        return Err(InvalidOption {
            option: "posixAccount",
            reason: "must be true or false",
        });
    }
    for option in ["homeDirectoryBase", "loginShell"] {
        if let Some(value) = options.get(option) {
            let path = value.as_str().unwrap_or_default();
            if !path.starts_with('/') || path.chars().any(|c| c.is_control() || c == ' ') {
                return Err(InvalidOption {
                    option,
                    reason: "must be an absolute path without spaces",
                });
            }
        }
    }
    Ok(())
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

    fn ldap_with(options: serde_json::Value) -> Resource {
        let now = Utc::now();
        Resource {
            id: ResourceId::generate(),
            name: "dir".into(),
            kind: ResourceType::LdapDirectory,
            connection: None,
            options,
            paused: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn posix_entries_are_opt_in_with_a_default_home() {
        assert_eq!(ldap_with(serde_json::json!({})).posix_options(), None);
        let posix = ldap_with(serde_json::json!({"posixAccount": true}))
            .posix_options()
            .expect("posix");
        assert_eq!(posix.home_directory("ada"), "/home/ada");
        assert_eq!(posix.login_shell, None);
        let posix = ldap_with(serde_json::json!({
            "posixAccount": true, "homeDirectoryBase": "/u/", "loginShell": "/bin/zsh"
        }))
        .posix_options()
        .expect("posix");
        assert_eq!(posix.home_directory("ada"), "/u/ada");
        assert_eq!(posix.login_shell.as_deref(), Some("/bin/zsh"));
    }

    #[test]
    fn posix_options_are_checked() {
        let check = |kind, options| validate_options(kind, &options).map_err(|e| e.option);
        assert_eq!(
            check(
                ResourceType::LdapDirectory,
                serde_json::json!({"posixAccount": true, "loginShell": "/bin/sh"})
            ),
            Ok(())
        );
        assert_eq!(
            check(
                ResourceType::LdapDirectory,
                serde_json::json!({"posixAccount": "yes"})
            ),
            Err("posixAccount")
        );
        assert_eq!(
            check(
                ResourceType::LdapDirectory,
                serde_json::json!({"homeDirectoryBase": "home"})
            ),
            Err("homeDirectoryBase")
        );
        assert_eq!(
            check(
                ResourceType::LdapDirectory,
                serde_json::json!({"loginShell": 7})
            ),
            Err("loginShell")
        );
        assert_eq!(
            check(
                ResourceType::ScimApp,
                serde_json::json!({"posixAccount": true})
            ),
            Err("posixAccount")
        );
    }
}
