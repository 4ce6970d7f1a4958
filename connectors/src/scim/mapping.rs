//! From the account Roster wants to SCIM 2.0 request bodies (RFC 7643 core User with the
//! enterprise extension, RFC 7644 PatchOp) and filters, as pure functions.

use serde_json::{Map, Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The account Roster wants in a SCIM app.
///
/// There is no password here, on purpose: Roster holds only Argon2id hashes, which an app can
/// neither use nor should ever see. Users sign in to SCIM apps through their identity
/// provider, or set a password in the app itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimAccount {
    pub user_name: String,
    /// Roster's id for the user, sent as `externalId` so the app can tell whose account it is.
    pub external_id: String,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    pub formatted_name: Option<String>,
    pub display_name: Option<String>,
    pub title: Option<String>,
    pub emails: Vec<ScimEmail>,
    pub employee_number: Option<String>,
    pub cost_center: Option<String>,
    pub organization: Option<String>,
    pub division: Option<String>,
    pub department: Option<String>,
}

/// One of the account's email addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimEmail {
    pub value: String,
    /// `work`, `home`, `other`…
    pub kind: String,
    pub primary: bool,
}

/// Every attribute Roster manages in an app, with its value, or `None` when Roster has none
/// for this account. `path` is the PATCH path; a core attribute's path is also its key.
fn managed_attributes(account: &ScimAccount) -> Vec<(String, Option<Value>)> {
    let text = |value: &Option<String>| value.as_ref().map(|v| json!(v));
    let enterprise = |name: &str| format!("{ENTERPRISE_SCHEMA}:{name}");
    let emails = (!account.emails.is_empty()).then(|| {
        account
            .emails
            .iter()
            .map(|e| json!({ "value": e.value, "type": e.kind, "primary": e.primary }))
            .collect::<Value>()
    });
    vec![
        ("userName".into(), Some(json!(account.user_name))),
        ("externalId".into(), Some(json!(account.external_id))),
        ("name.givenName".into(), text(&account.given_name)),
        ("name.middleName".into(), text(&account.middle_name)),
        ("name.familyName".into(), text(&account.family_name)),
        ("name.formatted".into(), text(&account.formatted_name)),
        ("displayName".into(), text(&account.display_name)),
        ("title".into(), text(&account.title)),
        ("emails".into(), emails),
        (enterprise("employeeNumber"), text(&account.employee_number)),
        (enterprise("costCenter"), text(&account.cost_center)),
        (enterprise("organization"), text(&account.organization)),
        (enterprise("division"), text(&account.division)),
        (enterprise("department"), text(&account.department)),
    ]
}

/// The body of `POST /Users`: the account with only the attributes it has.
pub fn user_resource(account: &ScimAccount, active: bool) -> Value {
    let mut resource = Map::new();
    let mut name = Map::new();
    let mut enterprise = Map::new();
    for (path, value) in managed_attributes(account) {
        let Some(value) = value else { continue };
        if let Some(sub) = path.strip_prefix("name.") {
            name.insert(sub.to_owned(), value);
        } else if let Some(key) = path.strip_prefix(&format!("{ENTERPRISE_SCHEMA}:")) {
            enterprise.insert(key.to_owned(), value);
        } else {
            resource.insert(path, value);
        }
    }
    if !name.is_empty() {
        resource.insert("name".into(), Value::Object(name));
    }
    resource.insert("active".into(), json!(active));
    let mut schemas = vec![json!(USER_SCHEMA)];
    if !enterprise.is_empty() {
        schemas.push(json!(ENTERPRISE_SCHEMA));
        resource.insert(ENTERPRISE_SCHEMA.into(), Value::Object(enterprise));
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    Value::Object(resource)
}

/// The body of `PATCH /Users/{id}` that brings a linked account up to date: one `replace` per
/// attribute Roster has and one `remove` per managed attribute it has not, so that a value
/// cleared in Roster does not live on in the app. Sub-attributes of `name` are patched one by
/// one because a `replace` of the whole complex value leaves unnamed sub-attributes as they
/// were (RFC 7644 §3.5.2.3).
pub fn update_operations(account: &ScimAccount, active: bool) -> Value {
    let mut operations: Vec<Value> = managed_attributes(account)
        .into_iter()
        .map(|(path, value)| match value {
            Some(value) => json!({ "op": "replace", "path": path, "value": value }),
            None => json!({ "op": "remove", "path": path }),
        })
        .collect();
    operations.push(json!({ "op": "replace", "path": "active", "value": active }));
    patch_op(operations)
}

/// The body of `PATCH /Users/{id}` that only (de)activates the account.
pub fn activation_operations(active: bool) -> Value {
    patch_op(vec![
        json!({ "op": "replace", "path": "active", "value": active }),
    ])
}

fn patch_op(operations: Vec<Value>) -> Value {
    json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations })
}

/// The filter that finds an account by `userName`. RFC 7644 §3.4.2.2 writes a filter's string
/// value as a JSON string (RFC 7159), so quotes, backslashes and control characters are
/// escaped the way JSON escapes them.
pub fn user_name_filter(user_name: &str) -> String {
    format!("userName eq {}", Value::String(user_name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> ScimAccount {
        ScimAccount {
            user_name: "ada.lovelace".into(),
            external_id: "0190c0de-0000-7000-8000-000000000001".into(),
            given_name: Some("Ada".into()),
            middle_name: None,
            family_name: Some("Lovelace".into()),
            formatted_name: Some("Ada Lovelace".into()),
            display_name: Some("Ada".into()),
            title: Some("Analyst".into()),
            emails: vec![
                ScimEmail {
                    value: "ada@example.com".into(),
                    kind: "work".into(),
                    primary: true,
                },
                ScimEmail {
                    value: "ada@home.example".into(),
                    kind: "other".into(),
                    primary: false,
                },
            ],
            employee_number: Some("E-1815".into()),
            cost_center: None,
            organization: Some("Analytical Engines".into()),
            division: Some("Difference Engines".into()),
            department: Some("Research".into()),
        }
    }

    #[test]
    fn a_new_user_carries_every_attribute_it_has_and_no_empty_ones() {
        let resource = user_resource(&full(), true);
        assert_eq!(
            resource,
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
                "userName": "ada.lovelace",
                "externalId": "0190c0de-0000-7000-8000-000000000001",
                "name": { "givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace" },
                "displayName": "Ada",
                "title": "Analyst",
                "emails": [
                    { "value": "ada@example.com", "type": "work", "primary": true },
                    { "value": "ada@home.example", "type": "other", "primary": false },
                ],
                "active": true,
                ENTERPRISE_SCHEMA: {
                    "employeeNumber": "E-1815",
                    "organization": "Analytical Engines",
                    "division": "Difference Engines",
                    "department": "Research",
                },
            })
        );
    }

    #[test]
    fn a_bare_user_has_only_the_core_schema() {
        let bare = ScimAccount {
            user_name: "bob".into(),
            external_id: "id-1".into(),
            ..ScimAccount::default()
        };
        assert_eq!(
            user_resource(&bare, false),
            json!({ "schemas": [USER_SCHEMA], "userName": "bob", "externalId": "id-1", "active": false })
        );
    }

    #[test]
    fn no_body_ever_has_a_password() {
        for body in [
            user_resource(&full(), true),
            update_operations(&full(), true),
        ] {
            assert!(!body.to_string().to_lowercase().contains("password"));
        }
    }

    #[test]
    fn an_update_replaces_what_roster_has_and_removes_what_it_cleared() {
        let body = update_operations(&full(), true);
        assert_eq!(body["schemas"], json!([PATCH_OP_SCHEMA]));
        let operations = body["Operations"].as_array().expect("operations");
        let find = |path: &str| {
            operations
                .iter()
                .find(|op| op["path"] == path)
                .unwrap_or_else(|| panic!("{path} in {body}"))
        };
        assert_eq!(
            find("name.givenName"),
            &json!({ "op": "replace", "path": "name.givenName", "value": "Ada" })
        );
        assert_eq!(
            find("name.middleName"),
            &json!({ "op": "remove", "path": "name.middleName" })
        );
        assert_eq!(
            find(&format!("{ENTERPRISE_SCHEMA}:costCenter"))["op"],
            "remove"
        );
        assert_eq!(
            find(&format!("{ENTERPRISE_SCHEMA}:department"))["value"],
            "Research"
        );
        assert_eq!(find("emails")["value"][1]["value"], "ada@home.example");
        assert_eq!(
            operations.last(),
            Some(&json!({ "op": "replace", "path": "active", "value": true }))
        );
        assert_eq!(find("externalId")["value"], full().external_id);
    }

    #[test]
    fn an_activation_patch_touches_only_active() {
        assert_eq!(
            activation_operations(false),
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{ "op": "replace", "path": "active", "value": false }],
            })
        );
    }

    #[test]
    fn filter_values_are_escaped_as_json_strings() {
        assert_eq!(user_name_filter("alice"), r#"userName eq "alice""#);
        assert_eq!(
            user_name_filter(r#"o"neil\x"#),
            r#"userName eq "o\"neil\\x""#
        );
        assert_eq!(user_name_filter("tab\there"), r#"userName eq "tab\there""#);
        assert_eq!(user_name_filter("zoë"), "userName eq \"zoë\"");
    }
}
