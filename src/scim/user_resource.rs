//! A SCIM User resource, with the enterprise and Roster extensions, read into a user; the
//! other way is `user_document`.

use serde_json::{Map, Value};

use super::ScimError;
use super::projection::key_of;
use super::schema::{ENTERPRISE_SCHEMA, ROSTER_SCHEMA};
use super::user_document::built_name;
use crate::domain::schedule::Schedule;
use crate::domain::{
    Address, DEFAULT_ALTERNATE_EMAIL_TYPE, DEFAULT_EMAIL_TYPE, Email, LifecycleState, PhoneNumber,
    User, UserName,
};
use crate::service::scim_users::StateRequest;

/// A group the user belongs to, as shown in `groups`.
#[derive(Debug, Clone)]
pub struct GroupRef {
    pub id: String,
    pub display: String,
}

/// What a user resource shows besides the user's own row: its groups and its pending scheduled
/// state changes, soonest first.
#[derive(Debug, Clone, Default)]
pub struct Related {
    pub groups: Vec<GroupRef>,
    pub scheduled: Vec<Schedule>,
}

/// Whether a resource creates the user or replaces an existing one's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Create,
    Update,
}

/// A password sent in a resource (Okta's password sync), still in clear text: the caller hashes
/// it. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SentPassword(pub String);

impl std::fmt::Debug for SentPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SentPassword(<redacted>)")
    }
}

/// What a resource asks for beyond the profile itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    pub state: StateRequest,
    pub password: Option<SentPassword>,
}

/// The member of `object` named `name` in any case; JSON null counts as absent.
pub fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_of(object, name)
        .and_then(|key| object.get(&key))
        .filter(|value| !value.is_null())
}

/// A string attribute; empty strings count as absent.
fn string(
    object: &Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<String>, ScimError> {
    match field(object, name) {
        None => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(ScimError::invalid_value(format!("{path} must be a string"))),
    }
}

/// A boolean, also accepting the `"True"`/`"False"` strings Entra sends.
pub fn boolean(value: &Value, path: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{path} must be true or false, not {other}"
        ))),
    }
}

fn object<'a>(
    value: Option<&'a Value>,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, ScimError> {
    match value {
        None => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{path} must be an object"
        ))),
    }
}

fn array<'a>(value: Option<&'a Value>, path: &str) -> Result<&'a [Value], ScimError> {
    match value {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ScimError::invalid_value(format!("{path} must be an array"))),
    }
}

/// The extension object under its URN, in any case.
pub fn extension<'a>(
    resource: &'a Map<String, Value>,
    urn: &str,
) -> Result<Option<&'a Map<String, Value>>, ScimError> {
    object(field(resource, urn), urn)
}

/// Replaces `user`'s profile with the resource's attributes (PUT semantics: a read-write
/// attribute left out is cleared) and returns what the resource asks of the state and the
/// password. Read-only attributes (`id`, `meta`, `groups`, the Roster extension's
/// `alternateEmail`, ...) are ignored, as RFC 7644 §3.5.1 allows, with one exception: on
/// create the extension's `state` chooses the initial state (DESIGN.md §2).
pub fn apply(
    resource: &Map<String, Value>,
    user: &mut User,
    purpose: Purpose,
) -> Result<Requested, ScimError> {
    let user_name = string(resource, "userName", "userName")?
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    user.username = UserName::parse(&user_name)
        .map_err(|e| ScimError::invalid_value(format!("userName {}", e.reason)))?;
    user.external_id = string(resource, "externalId", "externalId")?;
    let name = object(field(resource, "name"), "name")?;
    let part = |key: &str| -> Result<Option<String>, ScimError> {
        name.map_or(Ok(None), |name| string(name, key, &format!("name.{key}")))
    };
    user.first_name = part("givenName")?;
    user.middle_name = part("middleName")?;
    user.last_name = part("familyName")?;
    // Only a spelling that differs from the built one is kept: a client echoing the resource
    // back must not turn the built name into a stored one.
    user.formatted_name =
        part("formatted")?.filter(|formatted| Some(formatted) != built_name(user).as_ref());
    user.display_name = string(resource, "displayName", "displayName")?;
    user.job_title = string(resource, "title", "title")?;
    user.employee_type = string(resource, "userType", "userType")?;

    // Roster keeps two addresses: the primary one (else the first labelled work, else the
    // first) and one other; each keeps the label it was sent with.
    let mut primary: Option<(String, String, bool)> = None;
    let mut other: Option<(String, String, bool)> = None;
    for (index, item) in array(field(resource, "emails"), "emails")?
        .iter()
        .enumerate()
    {
        let path = format!("emails[{index}]");
        let item = item
            .as_object()
            .ok_or_else(|| ScimError::invalid_value(format!("{path} must be an object")))?;
        let Some(value) = string(item, "value", &format!("{path}.value"))? else {
            continue;
        };
        let is_primary = field(item, "primary")
            .map(|p| boolean(p, &format!("{path}.primary")))
            .transpose()?
            .unwrap_or(false);
        let kind = string(item, "type", &format!("{path}.type"))?;
        let is_work = kind
            .as_deref()
            .is_some_and(|kind| kind.eq_ignore_ascii_case(DEFAULT_EMAIL_TYPE));
        if primary.is_none() && (is_primary || is_work) {
            let kind = kind.unwrap_or_else(|| DEFAULT_EMAIL_TYPE.into());
            primary = Some((value, kind, is_primary));
        } else if other.is_none() {
            let kind = kind.unwrap_or_else(|| DEFAULT_ALTERNATE_EMAIL_TYPE.into());
            other = Some((value, kind, is_primary));
        }
    }
    // One address only: it is the main address, whatever its label.
    if primary.is_none() {
        primary = other.take();
    }
    let (email, email_type, email_primary) = match primary {
        Some(email) => email,
        // A userName that is an address serves when no emails were sent (Okta's default).
        None if Email::parse("emails", &user_name).is_ok() => {
            (user_name.clone(), DEFAULT_EMAIL_TYPE.into(), true)
        }
        // The record always has an address; a stand-in one stands for "none".
        None => (
            Email::stand_in(user.id).as_str().to_owned(),
            DEFAULT_EMAIL_TYPE.into(),
            true,
        ),
    };
    user.email =
        Email::parse("emails", &email).map_err(|e| ScimError::invalid_value(e.to_string()))?;
    user.email_type = email_type;
    user.email_primary = email_primary;
    user.alternate_email = other
        .as_ref()
        .map(|(text, _, _)| {
            Email::parse("emails", text).map_err(|e| ScimError::invalid_value(e.to_string()))
        })
        .transpose()?;
    user.alternate_email_type =
        other.map_or_else(|| DEFAULT_ALTERNATE_EMAIL_TYPE.into(), |(_, kind, _)| kind);

    let mut phones = Vec::new();
    for (index, item) in array(field(resource, "phoneNumbers"), "phoneNumbers")?
        .iter()
        .enumerate()
    {
        let path = format!("phoneNumbers[{index}]");
        let item = item
            .as_object()
            .ok_or_else(|| ScimError::invalid_value(format!("{path} must be an object")))?;
        let Some(number) = string(item, "value", &format!("{path}.value"))? else {
            continue;
        };
        let kind = string(item, "type", &format!("{path}.type"))?.unwrap_or_else(|| "work".into());
        phones.push(PhoneNumber { kind, number });
    }
    user.phone_numbers = phones;
    let mut addresses = Vec::new();
    for (index, item) in array(field(resource, "addresses"), "addresses")?
        .iter()
        .enumerate()
    {
        let path = format!("addresses[{index}]");
        let item = item
            .as_object()
            .ok_or_else(|| ScimError::invalid_value(format!("{path} must be an object")))?;
        let get = |key: &str| string(item, key, &format!("{path}.{key}"));
        addresses.push(Address {
            kind: get("type")?.unwrap_or_else(|| "work".into()),
            street_address: get("streetAddress")?,
            locality: get("locality")?,
            region: get("region")?,
            postal_code: get("postalCode")?,
            country: get("country")?,
        });
    }
    user.addresses = addresses;

    let enterprise = extension(resource, ENTERPRISE_SCHEMA)?;
    let get = |key: &str| -> Result<Option<String>, ScimError> {
        enterprise.map_or(Ok(None), |e| {
            string(e, key, &format!("{ENTERPRISE_SCHEMA}:{key}"))
        })
    };
    user.employee_identifier = get("employeeNumber")?;
    user.cost_center = get("costCenter")?;
    user.company = get("organization")?;
    user.division = get("division")?;
    user.department = get("department")?;
    user.manager = match enterprise.and_then(|e| field(e, "manager")) {
        None => None,
        // Entra sends the manager as a bare id; RFC 7643 as {"value": id}.
        Some(Value::String(id)) if id.is_empty() => None,
        Some(Value::String(id)) => Some(manager_id(id)?),
        Some(Value::Object(manager)) => match string(manager, "value", "manager.value")? {
            Some(id) => Some(manager_id(&id)?),
            None => None,
        },
        Some(_) => {
            return Err(ScimError::invalid_value(
                "manager must be an id or {\"value\": id}",
            ));
        }
    };

    let roster = extension(resource, ROSTER_SCHEMA)?;
    user.location = roster.map_or(Ok(None), |r| {
        string(r, "location", &format!("{ROSTER_SCHEMA}:location"))
    })?;
    let state = match (purpose, roster.and_then(|r| field(r, "state"))) {
        (Purpose::Create, Some(value)) => Some(
            value
                .as_str()
                .and_then(|text| text.to_ascii_uppercase().parse::<LifecycleState>().ok())
                .ok_or_else(|| {
                    ScimError::invalid_value("state must be STAGED, ACTIVATED or SUSPENDED")
                })?,
        ),
        // Read-only after creation: changes go through `active`, under the integration's policy.
        (Purpose::Update, _) | (Purpose::Create, None) => None,
    };
    let active = field(resource, "active")
        .map(|value| boolean(value, "active"))
        .transpose()?;
    let password = match field(resource, "password") {
        None => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(SentPassword(text.clone())),
        Some(_) => return Err(ScimError::invalid_value("password must be a string")),
    };
    Ok(Requested {
        state: StateRequest { active, state },
        password,
    })
}

fn manager_id(id: &str) -> Result<crate::domain::UserId, ScimError> {
    id.parse()
        .map_err(|_| ScimError::invalid_value(format!("manager {id:?} is not a user id")))
}
