//! What the dispatcher needs from a connector, whatever the target: apply the plan's action to
//! one user's account, and say whether a paused target answers again. Claiming, ordering,
//! retries, parking, pausing and the audit trail stay in the dispatcher, the same for all.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use roster_connectors::FailureKind;
use roster_connectors::ldap::LdapFailure;
use roster_connectors::scim::ScimFailure;

use super::{ldap, scim};
use crate::domain::User;
use crate::domain::provisioning::{Action, ResourceType};
use crate::domain::resource::Resource;
use crate::store::resources::ProvisionedAccount;

/// A connector call in flight.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

/// One target (a configured resource) reached through its connector.
pub trait Connector: Send + Sync {
    /// Carries out `action` for `user` (`None` once the user is deleted). `account` is what
    /// Roster recorded of the user's account in the target. `Ok(None)` when the action needs
    /// nothing written.
    fn apply<'a>(
        &'a self,
        action: Action,
        user: Option<&'a User>,
        account: Option<&'a ProvisionedAccount>,
    ) -> Call<'a, Option<Applied>>;

    /// Checks that the target accepts Roster's credentials again (to resume it).
    fn probe(&self) -> Call<'_, ()>;
}

/// What the target holds for the user after a successful apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The target's name for the account (LDAP DN, SCIM id), or `None` when it has none.
    pub remote_id: Option<String>,
    /// The account is kept but disabled (locked, `active: false`).
    pub disabled: bool,
    /// The account was created by this apply.
    pub created: bool,
    /// The account was found by looking the user up in the target and linked to the user.
    pub linked: bool,
    /// What the audit event says about the account, in the target's own terms.
    pub details: serde_json::Value,
}

/// A failed call, sorted for the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    /// The target asked Roster to wait at least this long before the next call.
    pub retry_after: Option<Duration>,
}

impl From<LdapFailure> for Failure {
    fn from(failure: LdapFailure) -> Self {
        Self {
            kind: failure.kind,
            message: failure.message,
            retry_after: None,
        }
    }
}

impl From<ScimFailure> for Failure {
    fn from(failure: ScimFailure) -> Self {
        Self {
            kind: failure.kind,
            message: failure.message,
            retry_after: failure.retry_after,
        }
    }
}

/// The connector for a resource, or `None` for a kind Roster only decides access to.
pub fn for_resource(
    resource: &Resource,
    timeout: Duration,
) -> Option<Result<Arc<dyn Connector>, Failure>> {
    match resource.kind {
        ResourceType::LdapDirectory => {
            Some(Ok(Arc::new(ldap::LdapConnector::new(resource, timeout))))
        }
        ResourceType::ScimApp => Some(
            scim::ScimConnector::new(resource, timeout)
                .map(|connector| Arc::new(connector) as Arc<dyn Connector>),
        ),
        // No connector yet: see ResourceType::has_connector.
        ResourceType::GoogleWorkspace
        | ResourceType::Microsoft365
        | ResourceType::ActiveDirectory
        | ResourceType::UserPortal
        | ResourceType::SamlApp
        | ResourceType::Radius
        | ResourceType::Device => None,
    }
}
