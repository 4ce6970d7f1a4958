//! A SCIM app as a [`Connector`]: Roster's users in the SCIM connector's terms.

use std::time::Duration;

use roster_connectors::scim::{
    BearerToken, Desired, ScimAccount, ScimEmail, ScimSettings, ScimTarget,
};
use serde_json::json;

use super::connector::{Applied, Call, Connector, Failure};
use crate::domain::User;
use crate::domain::provisioning::Action;
use crate::domain::resource::Resource;
use crate::store::resources::ProvisionedAccount;

pub struct ScimConnector {
    target: ScimTarget,
}

impl ScimConnector {
    pub fn new(resource: &Resource, timeout: Duration) -> Result<Self, Failure> {
        let connection = resource.connection.as_ref();
        let settings = ScimSettings {
            base_url: connection.map(|c| c.url.clone()).unwrap_or_default(),
            token: BearerToken::new(
                connection
                    .and_then(|c| c.secret.as_ref())
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default(),
            ),
            timeout,
        };
        Ok(Self {
            target: ScimTarget::new(&settings)?,
        })
    }
}

impl Connector for ScimConnector {
    fn apply<'a>(
        &'a self,
        action: Action,
        user: Option<&'a User>,
        account: Option<&'a ProvisionedAccount>,
    ) -> Call<'a, Option<Applied>> {
        Box::pin(async move {
            let Some(desired) = desired(action, user) else {
                return Ok(None);
            };
            let known_id = account.map(|a| a.remote_id.as_str());
            let applied = self.target.apply(known_id, &desired).await?;
            Ok(Some(Applied {
                details: json!({ "remoteId": applied.remote_id, "active": applied.active }),
                disabled: applied.remote_id.is_some() && !applied.active,
                remote_id: applied.remote_id,
                created: applied.created,
                linked: applied.linked,
            }))
        })
    }

    fn probe(&self) -> Call<'_, ()> {
        Box::pin(async move { self.target.check().await.map_err(Failure::from) })
    }
}

/// The account the plan's action asks for; `None` when nothing is to be sent (a staged user).
pub fn desired(action: Action, user: Option<&User>) -> Option<Desired> {
    match (action, user) {
        (Action::Enable, Some(user)) => Some(Desired::Active(Box::new(account(user)))),
        (Action::Disable, user) => Some(Desired::Inactive {
            user_name: user.map(|u| u.username.as_str().to_owned()),
        }),
        (Action::Remove, _) => Some(Desired::Absent),
        _ => None,
    }
}

/// A Roster user as the account of a SCIM app. The password is left out on purpose: Roster
/// holds only its Argon2id hash, which no app can use. The manager is left out too: the app
/// knows the manager by its own id, which Roster may not have.
pub fn account(user: &User) -> ScimAccount {
    let mut emails = Vec::new();
    // Users created without an address get a placeholder that must not reach an app.
    if !user.email.is_stand_in() {
        emails.push(ScimEmail {
            value: user.email.as_str().to_owned(),
            kind: user.email_type.clone(),
            primary: user.email_primary,
        });
    }
    if let Some(alternate) = &user.alternate_email {
        emails.push(ScimEmail {
            value: alternate.as_str().to_owned(),
            kind: user.alternate_email_type.clone(),
            primary: false,
        });
    }
    let built_name = [&user.first_name, &user.middle_name, &user.last_name]
        .into_iter()
        .filter_map(|part| part.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    ScimAccount {
        user_name: user.username.as_str().to_owned(),
        external_id: user.id.to_string(),
        given_name: user.first_name.clone(),
        middle_name: user.middle_name.clone(),
        family_name: user.last_name.clone(),
        formatted_name: user
            .formatted_name
            .clone()
            .or_else(|| Some(built_name).filter(|n| !n.is_empty())),
        display_name: user.display_name.clone(),
        title: user.job_title.clone(),
        emails,
        employee_number: user.employee_identifier.clone(),
        cost_center: user.cost_center.clone(),
        organization: user.company.clone(),
        division: user.division.clone(),
        department: user.department.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;
    use crate::store::testing::sample_user;

    #[test]
    fn a_user_maps_onto_core_and_enterprise_attributes() {
        let mut user = sample_user("grace");
        user.first_name = Some("Grace".into());
        user.last_name = Some("Hopper".into());
        user.display_name = Some("Amazing Grace".into());
        user.job_title = Some("Rear Admiral".into());
        user.employee_identifier = Some("E-1906".into());
        user.company = Some("US Navy".into());
        user.department = Some("Computing".into());
        user.cost_center = Some("CC-7".into());
        user.manager = Some(crate::domain::UserId::generate());
        user.alternate_email =
            Some(Email::parse("alternateEmail", "grace@home.example").expect("valid"));
        user.password.hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        let account = account(&user);
        assert_eq!(
            account,
            ScimAccount {
                user_name: "grace".into(),
                external_id: user.id.to_string(),
                given_name: Some("Grace".into()),
                middle_name: None,
                family_name: Some("Hopper".into()),
                formatted_name: Some("Grace Hopper".into()),
                display_name: Some("Amazing Grace".into()),
                title: Some("Rear Admiral".into()),
                emails: vec![
                    ScimEmail {
                        value: "grace@example.com".into(),
                        kind: "work".into(),
                        primary: true
                    },
                    ScimEmail {
                        value: "grace@home.example".into(),
                        kind: "other".into(),
                        primary: false
                    },
                ],
                employee_number: Some("E-1906".into()),
                cost_center: Some("CC-7".into()),
                organization: Some("US Navy".into()),
                division: None,
                department: Some("Computing".into()),
            }
        );
        let body = roster_connectors::scim::user_resource(&account, true).to_string();
        assert!(!body.contains("argon2"), "{body}");
        assert!(!body.contains("manager"), "{body}");
    }

    #[test]
    fn the_no_email_placeholder_is_not_sent() {
        let mut user = sample_user("nomail");
        user.email = Email::stand_in(user.id);
        assert!(account(&user).emails.is_empty());
    }

    #[test]
    fn each_action_asks_for_its_account() {
        let user = sample_user("ada");
        assert!(
            matches!(desired(Action::Enable, Some(&user)), Some(Desired::Active(a)) if a.user_name == "ada")
        );
        assert_eq!(
            desired(Action::Disable, Some(&user)),
            Some(Desired::Inactive {
                user_name: Some("ada".into())
            })
        );
        assert_eq!(
            desired(Action::Disable, None),
            Some(Desired::Inactive { user_name: None })
        );
        assert_eq!(desired(Action::Remove, None), Some(Desired::Absent));
        assert_eq!(desired(Action::Nothing, Some(&user)), None);
    }
}
