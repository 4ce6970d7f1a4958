//! The LDAP directory as a [`Connector`]: Roster's records in the LDAP connector's terms, and
//! the canary check that proves, before first use, that a lock refuses a bind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use roster_connectors::FailureKind;
use roster_connectors::ldap::{
    Desired, LdapAccount, LdapFailure, LdapSettings, LdapTarget, PosixIdentity,
};
use serde_json::json;

use super::connector::{Applied, Call, Connector, Failure};
use crate::domain::User;
use crate::domain::provisioning::Action;
use crate::domain::resource::{PosixOptions, Resource};
use crate::store::resources::ProvisionedAccount;

pub struct LdapConnector {
    target: LdapTarget,
    resource: crate::domain::ResourceId,
    /// Whether entries are also `posixAccount`s, and how.
    posix: Option<PosixOptions>,
    canary_passed: AtomicBool,
}

impl LdapConnector {
    pub fn new(resource: &Resource, timeout: Duration) -> Self {
        Self {
            target: LdapTarget::new(settings(resource, timeout)),
            resource: resource.id,
            posix: resource.posix_options(),
            canary_passed: AtomicBool::new(false),
        }
    }

    /// Runs the canary once per connector. A canary that fails for any lasting reason says the
    /// directory is misconfigured (wrong base DN, no password policy): the target is paused
    /// rather than each user failing.
    async fn ensure_canary(&self) -> Result<(), LdapFailure> {
        if self.canary_passed.load(Ordering::Acquire) {
            return Ok(());
        }
        self.target
            .canary()
            .await
            .map_err(|failure| match failure.kind {
                FailureKind::Transient => failure,
                _ => LdapFailure {
                    kind: FailureKind::TargetRefused,
                    message: format!("canary check failed: {}", failure.message),
                },
            })?;
        self.canary_passed.store(true, Ordering::Release);
        tracing::info!(resource.id = %self.resource, "LDAP canary passed: a lock refuses binds on this directory");
        Ok(())
    }
}

impl Connector for LdapConnector {
    fn apply<'a>(
        &'a self,
        action: Action,
        user: Option<&'a User>,
        account: Option<&'a ProvisionedAccount>,
    ) -> Call<'a, Option<Applied>> {
        Box::pin(async move {
            let Some(desired) = desired(action, user, self.posix.as_ref()) else {
                return Ok(None);
            };
            self.ensure_canary().await?;
            let known_dn = account.map(|a| a.remote_id.as_str());
            let applied = self.target.apply(known_dn, &desired).await?;
            Ok(Some(Applied {
                details: json!({ "dn": applied.dn, "locked": applied.locked }),
                remote_id: applied.dn,
                disabled: applied.locked,
                created: applied.created,
                // The entry's DN follows from the username, so nothing is looked up to link.
                linked: false,
            }))
        })
    }

    fn probe(&self) -> Call<'_, ()> {
        Box::pin(async move {
            self.target.check().await?;
            self.target.canary().await.map_err(Failure::from)
        })
    }
}

/// The connection settings of an LDAP resource.
pub fn settings(resource: &Resource, timeout: Duration) -> LdapSettings {
    let connection = resource.connection.as_ref();
    LdapSettings {
        url: connection.map(|c| c.url.clone()).unwrap_or_default(),
        bind_dn: connection
            .and_then(|c| c.bind_dn.clone())
            .unwrap_or_default(),
        bind_password: connection
            .and_then(|c| c.secret.as_ref())
            .map(|s| s.expose().to_owned())
            .unwrap_or_default(),
        base_dn: connection
            .and_then(|c| c.base_dn.clone())
            .unwrap_or_default(),
        timeout,
    }
}

/// The directory account for a user; with `posix`, also its `posixAccount` identity (a user
/// without ids yet, which only a user row from before they existed can be, gets none).
pub fn account(user: &User, posix: Option<&PosixOptions>) -> LdapAccount {
    let username = user.username.as_str().to_owned();
    let full_name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    LdapAccount {
        uid: username.clone(),
        common_name: user
            .display_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| Some(full_name).filter(|n| !n.is_empty()))
            .unwrap_or_else(|| username.clone()),
        surname: user
            .last_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(username),
        given_name: user.first_name.clone(),
        mail: Some(user.email.as_str().to_owned()).filter(|_| !user.email.is_stand_in()),
        display_name: user.display_name.clone(),
        title: user.job_title.clone(),
        employee_number: user.employee_identifier.clone(),
        password_hash: user.password.hash.clone(),
        posix: posix.and_then(|options| {
            Some(PosixIdentity {
                uid_number: user.unix_uid?,
                gid_number: user.unix_guid.or(user.unix_uid)?,
                home_directory: options.home_directory(user.username.as_str()),
                login_shell: options.login_shell.clone(),
            })
        }),
    }
}

/// The entry the plan's action asks for; `None` when nothing is to be written.
pub fn desired(
    action: Action,
    user: Option<&User>,
    posix: Option<&PosixOptions>,
) -> Option<Desired> {
    match (action, user) {
        (Action::Enable, Some(user)) => Some(Desired::Enabled(account(user, posix))),
        (Action::Disable, Some(user)) => Some(Desired::Locked(account(user, posix))),
        (Action::Remove, _) => Some(Desired::Absent),
        _ => None,
    }
}
