//! The field-by-field difference between two versions of a user, as the `changes` list of a
//! `user_update` audit event (JumpCloud's `{field, from, to}`).

use serde::Serialize;
use serde_json::{Value, json};

use super::User;

/// One changed field. Secrets are never carried: a password change shows as the field
/// `password` with no values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Value,
    pub to: Value,
}

/// The fields an administrator or identity provider edits, under JumpCloud's names. State,
/// version and timestamps are recorded by their own events, not as profile changes.
fn profile(user: &User) -> [(&'static str, Value); 26] {
    let text = |value: &Option<String>| json!(value);
    [
        ("username", json!(user.username.as_str())),
        ("email", json!(user.email.as_str())),
        (
            "alternateEmail",
            json!(user.alternate_email.as_ref().map(|e| e.as_str())),
        ),
        ("emailType", json!(user.email_type)),
        ("emailPrimary", json!(user.email_primary)),
        ("alternateEmailType", json!(user.alternate_email_type)),
        ("formattedName", text(&user.formatted_name)),
        ("firstname", text(&user.first_name)),
        ("middlename", text(&user.middle_name)),
        ("lastname", text(&user.last_name)),
        ("displayname", text(&user.display_name)),
        ("employeeIdentifier", text(&user.employee_identifier)),
        ("jobTitle", text(&user.job_title)),
        ("department", text(&user.department)),
        ("company", text(&user.company)),
        ("costCenter", text(&user.cost_center)),
        ("division", text(&user.division)),
        ("location", text(&user.location)),
        ("employeeType", text(&user.employee_type)),
        ("manager", json!(user.manager.map(|id| id.to_string()))),
        ("phoneNumbers", json!(user.phone_numbers)),
        ("addresses", json!(user.addresses)),
        ("samba_service_user", json!(user.samba_service_user)),
        ("externalId", text(&user.external_id)),
        ("password_expired", json!(user.password.expired)),
        ("creationSource", json!(user.creation_source)),
    ]
}

/// What differs between `before` and `after`, in a fixed field order.
pub fn user_changes(before: &User, after: &User) -> Vec<FieldChange> {
    let mut changes: Vec<FieldChange> = profile(before)
        .into_iter()
        .zip(profile(after))
        .filter(|((_, from), (_, to))| from != to)
        .map(|((field, from), (_, to))| FieldChange { field, from, to })
        .collect();
    if before.password.hash != after.password.hash {
        changes.push(FieldChange {
            field: "password",
            from: Value::Null,
            to: Value::Null,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{Email, LifecycleState, StateSource, UserName};

    fn user() -> User {
        User::new(
            UserName::parse("kim").expect("valid"),
            Email::parse("email", "kim@example.com").expect("valid"),
            LifecycleState::Activated,
            StateSource::Admin,
            "admin".into(),
            Utc::now(),
        )
    }

    #[test]
    fn only_changed_fields_are_listed_with_old_and_new_values() {
        let before = user();
        let mut after = before.clone();
        after.job_title = Some("Engineer".into());
        after.version += 1;
        after.updated_at = Utc::now();
        assert_eq!(
            user_changes(&before, &after),
            vec![FieldChange {
                field: "jobTitle",
                from: Value::Null,
                to: json!("Engineer"),
            }]
        );
    }

    #[test]
    fn a_password_change_is_listed_without_the_hash() {
        let before = user();
        let mut after = before.clone();
        after.password.hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        let changes = user_changes(&before, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "password");
        assert!(
            !serde_json::to_string(&changes)
                .expect("json")
                .contains("argon2")
        );
    }

    #[test]
    fn an_identical_user_has_no_changes() {
        let before = user();
        assert!(user_changes(&before, &before.clone()).is_empty());
    }
}
