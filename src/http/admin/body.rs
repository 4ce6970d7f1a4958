//! `systemuser` bodies in JumpCloud's shape: the user as the API returns it, and the fields a
//! create or `PUT` may carry, each checked with an error that names the field.

use serde_json::{Map, Value, json};

use crate::domain::password::MAX_PASSWORD_LEN;
use crate::domain::user::{InvalidField, MAX_FIELD_LEN};
use crate::domain::{Email, LifecycleState, User, UserName};
use crate::http::api_error::ApiError;
use crate::service::admin_users::{FieldEdit, TextField};

/// The fields of a returned user (what `fields=` may select).
pub const RETURNED_FIELDS: [&str; 38] = [
    "_id",
    "id",
    "username",
    "email",
    "alternateEmail",
    "firstname",
    "middlename",
    "lastname",
    "displayname",
    "employeeIdentifier",
    "jobTitle",
    "department",
    "company",
    "costCenter",
    "location",
    "employeeType",
    "manager",
    "phoneNumbers",
    "addresses",
    "samba_service_user",
    "unix_uid",
    "unix_guid",
    "externalId",
    "state",
    "activated",
    "suspended",
    "account_locked",
    "account_locked_date",
    "password_expired",
    "password_date",
    "password_never_expires",
    "created",
    "creationSource",
    "totp_enabled",
    "mfa",
    "badLoginAttempts",
    "attributes",
    "restrictedFields",
];

/// The user as JumpCloud returns a `systemuser`. The password hash is never part of it.
pub fn user_json(user: &User) -> Value {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "_id": user.id.to_string(),
        "id": user.id.to_string(),
        "username": user.username.as_str(),
        "email": user.email.as_str(),
        "alternateEmail": user.alternate_email.as_ref().map(Email::as_str),
        "firstname": user.first_name,
        "middlename": user.middle_name,
        "lastname": user.last_name,
        "displayname": user.display_name,
        "employeeIdentifier": user.employee_identifier,
        "jobTitle": user.job_title,
        "department": user.department,
        "company": user.company,
        "costCenter": user.cost_center,
        "location": user.location,
        "employeeType": user.employee_type,
        "manager": user.manager.map(|m| m.to_string()),
        "phoneNumbers": user.phone_numbers,
        "addresses": user.addresses,
        "samba_service_user": user.samba_service_user,
        "unix_uid": user.unix_uid,
        "unix_guid": user.unix_guid,
        "externalId": user.external_id,
        "state": user.state,
        "activated": user.password.is_set(),
        "suspended": user.state == LifecycleState::Suspended,
        "account_locked": false,
        "account_locked_date": null,
        "password_expired": user.password.expired,
        "password_date": user.password.set_at.map(time),
        "password_never_expires": false,
        "created": time(user.created_at),
        "creationSource": user.creation_source,
        "totp_enabled": false,
        "mfa": { "configured": false, "exclusion": false },
        "badLoginAttempts": 0,
        "attributes": [],
        "restrictedFields": [],
    })
}

/// Only the requested fields (and the id, which JumpCloud always returns).
pub fn project(mut body: Value, fields: Option<&[String]>) -> Value {
    if let (Some(fields), Value::Object(map)) = (fields, &mut body) {
        map.retain(|key, _| key == "_id" || key == "id" || fields.iter().any(|f| f == key));
    }
    body
}

/// Whether a body creates a user or changes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Create,
    /// A `PUT` on the user with this id.
    Update,
}

/// A checked request body. The password is still clear text here; it is hashed next.
#[derive(Default)]
pub struct UserBody {
    pub username: Option<UserName>,
    pub email: Option<Email>,
    pub edits: Vec<FieldEdit>,
    pub password: Option<String>,
    pub password_expired: Option<bool>,
    pub state: Option<LifecycleState>,
    pub suspended: Option<bool>,
}

fn bad(field: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("{field}: {reason}"))
}

fn invalid(error: InvalidField) -> ApiError {
    ApiError::bad_request(error.to_string())
}

fn text(field: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) if s.len() > MAX_FIELD_LEN => {
            Err(bad(field, "must be at most 1024 bytes"))
        }
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(bad(field, "must be a string or null")),
    }
}

fn required_text(field: &str, value: &Value) -> Result<String, ApiError> {
    text(field, value)?.ok_or_else(|| bad(field, "must be a non-empty string"))
}

fn boolean(field: &str, value: &Value) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| bad(field, "must be true or false"))
}

fn text_field(name: &str) -> Option<TextField> {
    Some(match name {
        "firstname" => TextField::FirstName,
        "middlename" => TextField::MiddleName,
        "lastname" => TextField::LastName,
        "displayname" => TextField::DisplayName,
        "employeeIdentifier" => TextField::EmployeeIdentifier,
        "jobTitle" => TextField::JobTitle,
        "department" => TextField::Department,
        "company" => TextField::Company,
        "costCenter" => TextField::CostCenter,
        "location" => TextField::Location,
        "employeeType" => TextField::EmployeeType,
        _ => return None,
    })
}

/// Reads one field into `body`.
fn read_field(
    body: &mut UserBody,
    name: &str,
    value: &Value,
    purpose: Purpose,
    path_id: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(field) = text_field(name) {
        body.edits.push(FieldEdit::Text(field, text(name, value)?));
        return Ok(());
    }
    match name {
        "username" => {
            let name = required_text(name, value)?;
            body.username = Some(UserName::parse(&name).map_err(invalid)?);
        }
        "email" => {
            let email = required_text(name, value)?;
            body.email = Some(Email::parse("email", &email).map_err(invalid)?);
        }
        "alternateEmail" => {
            let email = text(name, value)?
                .map(|e| Email::parse("alternateEmail", &e))
                .transpose()
                .map_err(invalid)?;
            body.edits.push(FieldEdit::AlternateEmail(email));
        }
        "manager" => {
            let manager = text(name, value)?
                .map(|id| {
                    id.parse()
                        .map_err(|_| bad("manager", "must be a user id or null"))
                })
                .transpose()?;
            body.edits.push(FieldEdit::Manager(manager));
        }
        "phoneNumbers" => body.edits.push(FieldEdit::PhoneNumbers(
            serde_json::from_value(value.clone())
                .map_err(|e| bad(name, format!("must be a list of {{type, number}}: {e}")))?,
        )),
        "addresses" => body.edits.push(FieldEdit::Addresses(
            serde_json::from_value(value.clone())
                .map_err(|e| bad(name, format!("must be a list of addresses: {e}")))?,
        )),
        "samba_service_user" => body
            .edits
            .push(FieldEdit::SambaServiceUser(boolean(name, value)?)),
        "password" => {
            let password = value
                .as_str()
                .filter(|p| !p.is_empty() && p.len() <= 4 * MAX_PASSWORD_LEN)
                .ok_or_else(|| bad(name, "must be a non-empty string"))?;
            body.password = Some(password.to_owned());
        }
        "password_expired" => body.password_expired = Some(boolean(name, value)?),
        "state" => {
            let text = value
                .as_str()
                .ok_or_else(|| bad(name, "must be a string"))?;
            let state: LifecycleState = text.parse().map_err(|e| bad(name, e))?;
            if purpose == Purpose::Update && state == LifecycleState::Staged {
                return Err(bad(
                    name,
                    "must be ACTIVATED or SUSPENDED: a user cannot be put back into STAGED",
                ));
            }
            body.state = Some(state);
        }
        "suspended" => body.suspended = Some(boolean(name, value)?),
        // Roster never locks accounts, so unlocking is always already done.
        "account_locked" if value == &Value::Bool(false) => {}
        "account_locked" => {
            return Err(bad(
                name,
                "Roster does not lock accounts; suspend the user instead",
            ));
        }
        "_id" | "id" if purpose == Purpose::Update && value.as_str() == path_id => {}
        "_id" | "id" => return Err(bad(name, "is assigned by the server and cannot be changed")),
        // `activated` reports whether a password is set; a create may state it if it agrees.
        "activated" if purpose == Purpose::Create => {}
        _ if RETURNED_FIELDS.contains(&name) => return Err(bad(name, "is read-only")),
        _ => return Err(bad(name, "is not a field Roster knows or supports")),
    }
    Ok(())
}

/// Checks a create or `PUT` body. A create must carry `username` and `email`. A `state` and a
/// `suspended` that disagree are refused.
pub fn parse(value: &Value, purpose: Purpose, path_id: Option<&str>) -> Result<UserBody, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut body = UserBody::default();
    for (name, value) in map {
        read_field(&mut body, name, value, purpose, path_id)?;
    }
    if purpose == Purpose::Create {
        check_activated(map, body.password.is_some())?;
        for (field, present) in [
            ("username", body.username.is_some()),
            ("email", body.email.is_some()),
        ] {
            if !present {
                return Err(bad(field, "is required"));
            }
        }
    }
    if let (Some(state), Some(suspended)) = (body.state, body.suspended)
        && (state == LifecycleState::Suspended) != suspended
    {
        return Err(ApiError::bad_request(format!(
            "state {state} contradicts suspended {suspended}: send one, or both in agreement"
        )));
    }
    Ok(body)
}

fn check_activated(map: &Map<String, Value>, has_password: bool) -> Result<(), ApiError> {
    match map.get("activated") {
        None => Ok(()),
        Some(value) if boolean("activated", value)? == has_password => Ok(()),
        Some(_) => Err(bad(
            "activated",
            "reports whether a password is set; it must agree with whether password is given",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_needs_username_and_email() {
        for (body, missing) in [
            (json!({"email": "a@x.io"}), "username"),
            (json!({"username": "a"}), "email"),
        ] {
            let error = parse(&body, Purpose::Create, None).err().expect("refused");
            assert!(error.message.starts_with(missing), "{}", error.message);
        }
    }

    #[test]
    fn unknown_read_only_and_mistyped_fields_are_named() {
        for (body, named) in [
            (json!({"shoeSize": 44}), "shoeSize: is not a field"),
            (json!({"created": "2020-01-01"}), "created: is read-only"),
            (json!({"department": 7}), "department: must be a string"),
            (json!({"state": "ACTIVE"}), "state: unknown state"),
        ] {
            let error = parse(&body, Purpose::Update, Some("x"))
                .err()
                .expect("refused");
            assert!(error.message.starts_with(named), "{}", error.message);
        }
    }

    #[test]
    fn state_and_suspended_must_agree() {
        let error = parse(
            &json!({"state": "ACTIVATED", "suspended": true}),
            Purpose::Update,
            Some("x"),
        )
        .err()
        .expect("contradiction");
        assert!(error.message.contains("contradicts"), "{}", error.message);
        assert!(
            parse(
                &json!({"state": "SUSPENDED", "suspended": true}),
                Purpose::Update,
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn the_returned_user_never_carries_the_hash_and_lists_every_field() {
        let mut user = crate::domain::User::new(
            UserName::parse("kim").expect("valid"),
            Email::parse("email", "kim@x.io").expect("valid"),
            LifecycleState::Staged,
            crate::domain::StateSource::Admin,
            "admin".into(),
            chrono::Utc::now(),
        );
        user.password.hash = Some("$argon2id$v=19$secret".into());
        let body = user_json(&user);
        assert!(!body.to_string().contains("argon2"));
        assert_eq!(body["activated"], true);
        assert_eq!(body["state"], "STAGED");
        let keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in keys {
            assert!(RETURNED_FIELDS.contains(&key), "{key}");
        }
    }
}
