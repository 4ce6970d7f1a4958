//! A user as the SCIM User resource it is read as, serialized straight from the user.
//!
//! Reads are the bulk of SCIM traffic, and most carry no `attributes`: their answer is written
//! from the user at once, without building a JSON tree first. The tree, where it is needed
//! (a PATCH applies to it, `attributes` picks from it), is made from the same serialization,
//! so the two can never disagree. Members come in the order of the keys' bytes, as
//! `serde_json`'s own maps keep them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::projection::Projection;
use super::schema::{ENTERPRISE_SCHEMA, ROSTER_SCHEMA, USER_SCHEMA};
use super::user_resource::Related;
use crate::domain::{LifecycleState, User};

/// Which attributes a document carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Every attribute, those returned on request included.
    Everything,
    /// What a read returns when the client names no attribute.
    Default,
}

/// A user's resource, ready to serialize.
#[derive(Debug, Clone, Copy)]
pub struct UserDocument<'a> {
    pub user: &'a User,
    pub related: &'a Related,
    /// The SCIM base URL, for `meta.location` and references.
    pub base: &'a str,
    pub extent: Extent,
}

/// The whole resource as a JSON tree, for PATCH and `attributes`.
pub fn to_json(user: &User, related: &Related, base: &str) -> Value {
    let document = UserDocument {
        user,
        related,
        base,
        extent: Extent::Everything,
    };
    serde_json::to_value(document).expect("a user document serializes to JSON")
}

/// A user's resource as a response shows it: written straight from the user when the
/// projection is the default one, else picked from the whole resource.
pub enum UserBody<'a> {
    Direct(UserDocument<'a>),
    Projected(Value),
}

impl<'a> UserBody<'a> {
    pub fn new(
        user: &'a User,
        related: &'a Related,
        base: &'a str,
        projection: &Projection,
    ) -> Self {
        if projection.is_default() {
            Self::Direct(UserDocument {
                user,
                related,
                base,
                extent: Extent::Default,
            })
        } else {
            Self::Projected(projection.apply(to_json(user, related, base)))
        }
    }

    /// The body as JSON text.
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).expect("a user resource serializes to JSON")
    }

    /// The body as a JSON value kept as text, to place in a list.
    pub fn to_raw(&self) -> Box<RawValue> {
        serde_json::value::to_raw_value(self).expect("a user resource serializes to JSON")
    }
}

impl Serialize for UserBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Direct(document) => document.serialize(serializer),
            Self::Projected(value) => value.serialize(serializer),
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn password_status(user: &User) -> &'static str {
    match (user.password.is_set(), user.password.expired) {
        (false, _) => "PENDING",
        (true, true) => "EXPIRED",
        (true, false) => "SET",
    }
}

/// The full name made of the parts, when there are any.
pub fn built_name(user: &User) -> Option<String> {
    let parts: Vec<&str> = [&user.first_name, &user.middle_name, &user.last_name]
        .into_iter()
        .filter_map(|part| part.as_deref())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Name<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    middle_name: Option<&'a str>,
}

#[derive(Serialize)]
struct TypedValue<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    primary: Option<bool>,
    #[serde(rename = "type")]
    kind: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressValue<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locality: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_address: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// A reference to another resource: a group in `groups`, the manager.
#[derive(Serialize)]
struct Reference<'a> {
    #[serde(rename = "$ref")]
    location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    created: String,
    last_modified: String,
    location: String,
    resource_type: &'a str,
    version: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Enterprise<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_center: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    division: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manager: Option<Reference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<&'a str>,
}

impl Enterprise<'_> {
    fn is_empty(&self) -> bool {
        self.cost_center.is_none()
            && self.department.is_none()
            && self.division.is_none()
            && self.employee_number.is_none()
            && self.manager.is_none()
            && self.organization.is_none()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Scheduled<'a> {
    run_at: String,
    state: &'a str,
}

/// The lifecycle extension; the attributes returned on request are `None` in a default read.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Lifecycle<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    alternate_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samba_service_user: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_state_changes: Option<Vec<Scheduled<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_changed_at: Option<String>,
}

impl UserDocument<'_> {
    fn name(&self) -> Option<Name<'_>> {
        let user = self.user;
        let name = Name {
            family_name: user.last_name.as_deref(),
            // The full name as the identity provider spelled it, else one built from the parts.
            formatted: user.formatted_name.clone().or_else(|| built_name(user)),
            given_name: user.first_name.as_deref(),
            middle_name: user.middle_name.as_deref(),
        };
        let empty = name.family_name.is_none()
            && name.formatted.is_none()
            && name.given_name.is_none()
            && name.middle_name.is_none();
        (!empty).then_some(name)
    }

    fn emails(&self) -> Vec<TypedValue<'_>> {
        let user = self.user;
        let mut emails = Vec::with_capacity(2);
        // A stand-in address stands for "no email" and is never shown.
        if !user.email.is_stand_in() {
            emails.push(TypedValue {
                primary: Some(user.email_primary),
                kind: &user.email_type,
                value: user.email.as_str(),
            });
        }
        if let Some(alternate) = &user.alternate_email {
            emails.push(TypedValue {
                primary: Some(false),
                kind: &user.alternate_email_type,
                value: alternate.as_str(),
            });
        }
        emails
    }

    fn enterprise(&self) -> Enterprise<'_> {
        let user = self.user;
        Enterprise {
            cost_center: user.cost_center.as_deref(),
            department: user.department.as_deref(),
            division: user.division.as_deref(),
            employee_number: user.employee_identifier.as_deref(),
            manager: user.manager.map(|manager| Reference {
                location: format!("{}/Users/{manager}", self.base),
                display: None,
                value: manager.to_string(),
            }),
            organization: user.company.as_deref(),
        }
    }

    fn lifecycle(&self) -> Option<Lifecycle<'_>> {
        let user = self.user;
        let everything = self.extent == Extent::Everything;
        let lifecycle = Lifecycle {
            alternate_email: everything
                .then(|| user.alternate_email.as_ref().map(|email| email.as_str()))
                .flatten(),
            location: user.location.as_deref(),
            password_status: everything.then(|| password_status(user)),
            samba_service_user: everything.then_some(user.samba_service_user),
            scheduled_state_changes: everything.then(|| {
                self.related
                    .scheduled
                    .iter()
                    .map(|change| Scheduled {
                        run_at: time(change.run_at),
                        state: change.target.as_str(),
                    })
                    .collect()
            }),
            state: everything.then(|| user.state.as_str()),
            state_changed_at: everything.then(|| time(user.state_changed_at)),
        };
        (everything || lifecycle.location.is_some()).then_some(lifecycle)
    }
}

impl Serialize for UserDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("active", &(user.state == LifecycleState::Activated))?;
        if !user.addresses.is_empty() {
            let addresses: Vec<AddressValue<'_>> = user
                .addresses
                .iter()
                .map(|address| AddressValue {
                    country: address.country.as_deref(),
                    locality: address.locality.as_deref(),
                    postal_code: address.postal_code.as_deref(),
                    region: address.region.as_deref(),
                    street_address: address.street_address.as_deref(),
                    kind: &address.kind,
                })
                .collect();
            map.serialize_entry("addresses", &addresses)?;
        }
        if let Some(display_name) = &user.display_name {
            map.serialize_entry("displayName", display_name)?;
        }
        let emails = self.emails();
        if !emails.is_empty() {
            map.serialize_entry("emails", &emails)?;
        }
        if let Some(external_id) = &user.external_id {
            map.serialize_entry("externalId", external_id)?;
        }
        if !self.related.groups.is_empty() {
            let groups: Vec<Reference<'_>> = self
                .related
                .groups
                .iter()
                .map(|group| Reference {
                    location: format!("{}/Groups/{}", self.base, group.id),
                    display: Some(&group.display),
                    value: group.id.clone(),
                })
                .collect();
            map.serialize_entry("groups", &groups)?;
        }
        map.serialize_entry("id", &user.id.to_string())?;
        map.serialize_entry(
            "meta",
            &Meta {
                created: time(user.created_at),
                last_modified: time(user.updated_at),
                location: format!("{}/Users/{}", self.base, user.id),
                resource_type: "User",
                version: super::etag(user.version),
            },
        )?;
        if let Some(name) = self.name() {
            map.serialize_entry("name", &name)?;
        }
        if !user.phone_numbers.is_empty() {
            let phones: Vec<TypedValue<'_>> = user
                .phone_numbers
                .iter()
                .map(|phone| TypedValue {
                    primary: None,
                    kind: &phone.kind,
                    value: &phone.number,
                })
                .collect();
            map.serialize_entry("phoneNumbers", &phones)?;
        }
        map.serialize_entry("schemas", &[USER_SCHEMA, ENTERPRISE_SCHEMA, ROSTER_SCHEMA])?;
        if let Some(title) = &user.job_title {
            map.serialize_entry("title", title)?;
        }
        let enterprise = self.enterprise();
        if !enterprise.is_empty() {
            map.serialize_entry(ENTERPRISE_SCHEMA, &enterprise)?;
        }
        if let Some(lifecycle) = self.lifecycle() {
            map.serialize_entry(ROSTER_SCHEMA, &lifecycle)?;
        }
        map.serialize_entry("userName", user.username.as_str())?;
        if let Some(user_type) = &user.employee_type {
            map.serialize_entry("userType", user_type)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::domain::schedule::Schedule;
    use crate::domain::{Address, Email, GroupId, PhoneNumber, ScheduleId, UserId};
    use crate::scim::user_resource::GroupRef;
    use crate::store::testing::sample_user;

    const BASE: &str = "https://roster.example/scim/v2";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0)
            .single()
            .expect("a time")
    }

    fn schedule(user: UserId, target: LifecycleState) -> Schedule {
        Schedule {
            id: ScheduleId::generate(),
            user_id: user,
            target,
            requested_at: at(0),
            run_at: at(3600),
            send_activation_email: false,
            activation_email_override: None,
            created_by: "admin".into(),
            created_at: at(0),
        }
    }

    #[test]
    fn a_user_reads_as_this_resource() {
        let mut user = sample_user("ada");
        user.created_at = at(0);
        user.updated_at = at(60);
        user.state_changed_at = at(0);
        user.first_name = Some("Ada".into());
        user.last_name = Some("King".into());
        user.location = Some("London".into());
        user.department = Some("Analytics".into());
        let related = Related {
            groups: vec![GroupRef {
                id: "g1".into(),
                display: "Engineers".into(),
            }],
            scheduled: vec![schedule(user.id, LifecycleState::Suspended)],
        };
        let id = user.id;
        let default = UserBody::new(&user, &related, BASE, &Projection::default());
        assert_eq!(
            serde_json::from_str::<Value>(&default.to_json_text()).expect("JSON"),
            json!({
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "ada@example.com"}],
                "groups": [{"$ref": format!("{BASE}/Groups/g1"), "display": "Engineers", "value": "g1"}],
                "id": id.to_string(),
                "meta": {
                    "created": "2027-01-15T08:00:00.000Z",
                    "lastModified": "2027-01-15T08:01:00.000Z",
                    "location": format!("{BASE}/Users/{id}"),
                    "resourceType": "User",
                    "version": "W/\"1\"",
                },
                "name": {"familyName": "King", "formatted": "Ada King", "givenName": "Ada"},
                "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA, ROSTER_SCHEMA],
                ENTERPRISE_SCHEMA: {"department": "Analytics"},
                ROSTER_SCHEMA: {"location": "London"},
                "userName": "ada",
            })
        );
        let everything = to_json(&user, &related, BASE);
        assert_eq!(
            everything[ROSTER_SCHEMA],
            json!({
                "location": "London",
                "passwordStatus": "PENDING",
                "sambaServiceUser": false,
                "scheduledStateChanges": [{"runAt": "2027-01-15T09:00:00.000Z", "state": "SUSPENDED"}],
                "state": "ACTIVATED",
                "stateChangedAt": "2027-01-15T08:00:00.000Z",
            })
        );
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        prop::option::of("[a-zA-Z \"\\\\é]{0,8}")
    }

    prop_compose! {
        fn any_user()(
            texts in prop::collection::vec(text(), 14),
            alternate in any::<bool>(),
            phones in prop::collection::vec("[0-9+ ]{1,6}", 0..3),
            addresses in prop::collection::vec((text(), text()), 0..3),
            state in prop::sample::select(vec![
                LifecycleState::Staged,
                LifecycleState::Activated,
                LifecycleState::Suspended,
            ]),
            with_manager in any::<bool>(),
            groups in 0..3usize,
            scheduled in 0..3usize,
        ) -> (User, Related) {
            let mut user = sample_user("prop.user");
            let mut texts = texts.into_iter();
            let mut next = || texts.next().flatten();
            user.first_name = next();
            user.middle_name = next();
            user.last_name = next();
            user.formatted_name = next();
            user.display_name = next();
            user.job_title = next();
            user.employee_type = next();
            user.external_id = next();
            user.employee_identifier = next();
            user.cost_center = next();
            user.company = next();
            user.division = next();
            user.department = next();
            user.location = next();
            user.state = state;
            if alternate {
                user.alternate_email = Some(Email::parse("alternateEmail", "alt@example.com").expect("valid"));
            }
            user.phone_numbers = phones
                .into_iter()
                .map(|number| PhoneNumber { kind: "work".into(), number })
                .collect();
            user.addresses = addresses
                .into_iter()
                .map(|(locality, country)| Address { kind: "home".into(), locality, country, ..Address::default() })
                .collect();
            if with_manager {
                user.manager = Some(UserId::generate());
            }
            let related = Related {
                groups: (0..groups)
                    .map(|i| GroupRef { id: GroupId::generate().to_string(), display: format!("group {i}") })
                    .collect(),
                scheduled: (0..scheduled)
                    .map(|_| schedule(user.id, LifecycleState::Suspended))
                    .collect(),
            };
            (user, related)
        }
    }

    proptest! {
        /// The answer written straight from the user is the one the projection would pick from
        /// the whole resource, member for member and in the same order.
        #[test]
        fn the_direct_answer_is_the_default_projection((user, related) in any_user()) {
            let direct = UserBody::new(&user, &related, BASE, &Projection::default()).to_json_text();
            let projected = Projection::new(None, None)
                .apply(to_json(&user, &related, BASE))
                .to_string();
            prop_assert_eq!(direct, projected);
        }
    }
}
