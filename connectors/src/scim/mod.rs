//! The downstream SCIM 2.0 connector: brings one user's account in a SCIM app to the state
//! Roster wants, with requests that can be repeated safely (the outbox delivers at least once).
//!
//! - active: look the user up by `userName` when no remote id is known, link to what is found
//!   or `POST /Users` (a 409 is looked up and linked), then `PATCH` the managed attributes;
//! - inactive: `PATCH active:false` on the linked account, if there is one (nothing is created
//!   for it);
//! - absent: `DELETE /Users/{id}`; a 404 means it is already gone.

mod client;
mod failure;
mod mapping;

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use crate::FailureKind;
use client::Patched;

pub use failure::{MAX_RETRY_AFTER, ScimFailure, classify, parse_retry_after};
pub use mapping::{
    ENTERPRISE_SCHEMA, PATCH_OP_SCHEMA, ScimAccount, ScimEmail, USER_SCHEMA, activation_operations,
    update_operations, user_name_filter, user_resource,
};

/// The app's bearer token. Its Debug output never shows it, and no message includes it.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// How to reach a SCIM app.
#[derive(Debug, Clone)]
pub struct ScimSettings {
    /// The SCIM base URL, e.g. `https://app.example.com/scim/v2`; `/Users` is appended.
    pub base_url: String,
    pub token: BearerToken,
    /// Limit for each request, connecting included.
    pub timeout: Duration,
}

/// Why a SCIM base URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("url {0}")]
pub struct InvalidBaseUrl(String);

/// Checks a SCIM base URL: http or https, with a host, and no user name, password, query or
/// fragment (a credential in the URL would be shown wherever the URL is).
pub fn parse_base_url(text: &str) -> Result<Url, InvalidBaseUrl> {
    let invalid = |reason: &str| InvalidBaseUrl(reason.to_owned());
    let url = Url::parse(text.trim()).map_err(|error| {
        InvalidBaseUrl(format!(
            "is not a URL ({error}); give the app's SCIM base URL, such as https://app.example.com/scim/v2"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not contain a user name or password; give the bearer token as secret",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    Ok(url)
}

/// The account Roster wants in the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// Present and active with these attributes; created when the app has no such user.
    Active(Box<ScimAccount>),
    /// Deactivated if it exists; never created for this. `user_name` finds the account when
    /// Roster has no remote id recorded for it.
    Inactive { user_name: Option<String> },
    /// Deleted.
    Absent,
}

/// What the app holds for the user after a successful apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The app's id of the account, or `None` when there is none.
    pub remote_id: Option<String>,
    pub active: bool,
    /// The account was created by this apply.
    pub created: bool,
    /// The account was found by a `userName` lookup rather than by the id Roster had recorded,
    /// and is now linked to the user.
    pub linked: bool,
}

impl Applied {
    fn none() -> Self {
        Self {
            remote_id: None,
            active: false,
            created: false,
            linked: false,
        }
    }
}

/// One SCIM app, reached with one HTTP client (which keeps connections open between calls).
pub struct ScimTarget {
    http: reqwest::Client,
    users: Url,
    token: BearerToken,
}

impl ScimTarget {
    /// A target for these settings; fails when the URL is unusable or no client can be built,
    /// which no retry would fix.
    pub fn new(settings: &ScimSettings) -> Result<Self, ScimFailure> {
        let refused = |message: String| ScimFailure::new(FailureKind::TargetRefused, message);
        let base = parse_base_url(&settings.base_url)
            .map_err(|error| refused(format!("the SCIM base {error}")))?;
        let users = Url::parse(&format!("{}/Users", base.as_str().trim_end_matches('/')))
            .map_err(|error| refused(format!("the SCIM base url cannot take /Users: {error}")))?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect could carry the bearer token to another host: answer it as a failure
            // that names the new location instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| refused(format!("cannot build the HTTP client: {error}")))?;
        Ok(Self {
            http,
            users,
            token: settings.token.clone(),
        })
    }

    /// Checks that the app answers a user query with Roster's token (to resume a paused target).
    pub async fn check(&self) -> Result<(), ScimFailure> {
        self.find("roster-connection-check").await.map(|_| ())
    }

    /// Brings the user's account to `desired`. `known_id` is the app's id Roster recorded for
    /// the account, if any.
    pub async fn apply(
        &self,
        known_id: Option<&str>,
        desired: &Desired,
    ) -> Result<Applied, ScimFailure> {
        match desired {
            Desired::Absent => {
                if let Some(id) = known_id {
                    self.delete(id).await?;
                }
                Ok(Applied::none())
            }
            Desired::Inactive { user_name } => {
                self.deactivate(known_id, user_name.as_deref()).await
            }
            Desired::Active(account) => self.activate(known_id, account).await,
        }
    }

    async fn activate(
        &self,
        known_id: Option<&str>,
        account: &ScimAccount,
    ) -> Result<Applied, ScimFailure> {
        let update = update_operations(account, true);
        let candidate = match known_id {
            Some(id) => Some(id.to_owned()),
            None => self.find(&account.user_name).await?,
        };
        if let Some(id) = candidate {
            if self.patch(&id, &update).await? == Patched::Done {
                let linked = known_id.is_none();
                return Ok(Applied {
                    linked,
                    ..active(id, false)
                });
            }
            // The linked account is gone (some apps delete on deactivation): it may exist under
            // another id now, else it is created again.
            if let Some(other) = self.find(&account.user_name).await?.filter(|f| *f != id) {
                return match self.patch(&other, &update).await? {
                    Patched::Done => Ok(Applied {
                        linked: true,
                        ..active(other, false)
                    }),
                    Patched::NotFound => Err(ScimFailure::new(
                        FailureKind::Transient,
                        format!("the account {other} vanished while it was being linked"),
                    )),
                };
            }
        }
        match self.create(account).await? {
            Some(id) => Ok(active(id, true)),
            None => {
                // 409: the user exists after all (created meanwhile, or missed by the lookup).
                let Some(id) = self.find(&account.user_name).await? else {
                    return Err(ScimFailure::new(
                        FailureKind::Permanent,
                        format!(
                            "POST /Users answered 409 but GET /Users?filter={} finds no user to link",
                            user_name_filter(&account.user_name)
                        ),
                    ));
                };
                match self.patch(&id, &update).await? {
                    Patched::Done => Ok(Applied {
                        linked: true,
                        ..active(id, false)
                    }),
                    Patched::NotFound => Err(ScimFailure::new(
                        FailureKind::Transient,
                        format!("the account {id} vanished while it was being linked"),
                    )),
                }
            }
        }
    }

    async fn deactivate(
        &self,
        known_id: Option<&str>,
        user_name: Option<&str>,
    ) -> Result<Applied, ScimFailure> {
        let deactivation = activation_operations(false);
        let mut candidate = match (known_id, user_name) {
            (Some(id), _) => Some(id.to_owned()),
            (None, Some(name)) => self.find(name).await?,
            (None, None) => None,
        };
        let mut looked_up = known_id.is_none();
        // At most two tries: the recorded id, then what a lookup finds if that one is gone.
        for _ in 0..2 {
            let Some(id) = candidate.take() else { break };
            if self.patch(&id, &deactivation).await? == Patched::Done {
                return Ok(Applied {
                    remote_id: Some(id),
                    active: false,
                    created: false,
                    linked: looked_up,
                });
            }
            if let Some(name) = user_name {
                candidate = self.find(name).await?.filter(|f| *f != id);
                looked_up = true;
            }
        }
        // No account: nothing to deactivate, and none is created just to be deactivated.
        Ok(Applied::none())
    }
}

fn active(id: String, created: bool) -> Applied {
    Applied {
        remote_id: Some(id),
        active: true,
        created,
        linked: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_plain_http_or_https() {
        assert!(parse_base_url("https://app.example.com/scim/v2").is_ok());
        assert!(parse_base_url("http://127.0.0.1:8080/scim/v2/").is_ok());
        for (bad, reason) in [
            ("app.example.com/scim", "is not a URL"),
            ("ftp://app.example.com/scim", "https:// or http://"),
            ("ldap://app.example.com", "https:// or http://"),
            (
                "https://user:pw@app.example.com/scim",
                "user name or password",
            ),
            ("https://app.example.com/scim?token=x", "query"),
        ] {
            let error = parse_base_url(bad).expect_err(bad).to_string();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let settings = ScimSettings {
            base_url: "https://app.example.com/scim/v2".into(),
            token: BearerToken::new("tok-3f9a"),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{settings:?}").contains("tok-3f9a"));
    }
}
