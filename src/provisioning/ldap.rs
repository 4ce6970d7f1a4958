//! From Roster's records to the LDAP connector's terms.

use std::time::Duration;

use roster_connectors::ldap::{Desired, LdapAccount, LdapSettings};

use crate::domain::User;
use crate::domain::provisioning::Action;
use crate::domain::resource::Resource;

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

/// The directory account for a user.
pub fn account(user: &User) -> LdapAccount {
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
        mail: Some(user.email.as_str().to_owned()),
        display_name: user.display_name.clone(),
        title: user.job_title.clone(),
        employee_number: user.employee_identifier.clone(),
        password_hash: user.password.hash.clone(),
    }
}

/// The entry the plan's action asks for; `None` when nothing is to be written.
pub fn desired(action: Action, user: Option<&User>) -> Option<Desired> {
    match (action, user) {
        (Action::Enable, Some(user)) => Some(Desired::Enabled(account(user))),
        (Action::Disable, Some(user)) => Some(Desired::Locked(account(user))),
        (Action::Remove, _) => Some(Desired::Absent),
        _ => None,
    }
}
