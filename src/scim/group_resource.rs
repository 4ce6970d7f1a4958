//! A group as a SCIM Group resource, and back.

use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use super::ScimError;
use super::schema::GROUP_SCHEMA;
use super::user_resource::field;
use crate::domain::{Group, GroupName, UserId};

/// A member as shown in `members`.
#[derive(Debug, Clone)]
pub struct MemberRef {
    pub id: UserId,
    pub display: Option<String>,
}

/// The full resource; `members` is `None` when it was not loaded (excluded by the request).
pub fn to_json(group: &Group, members: Option<&[MemberRef]>, base: &str) -> Value {
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!([GROUP_SCHEMA]));
    resource.insert("id".into(), json!(group.id.to_string()));
    if let Some(external_id) = &group.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("displayName".into(), json!(group.display_name.as_str()));
    if let Some(members) = members {
        let members: Vec<Value> = members
            .iter()
            .map(|member| {
                let mut item = json!({"value": member.id.to_string(), "$ref": format!("{base}/Users/{}", member.id), "type": "User"});
                if let Some(display) = &member.display {
                    item["display"] = json!(display);
                }
                item
            })
            .collect();
        resource.insert("members".into(), Value::Array(members));
    }
    let time = |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(SecondsFormat::Millis, true);
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": time(group.created_at),
            "lastModified": time(group.updated_at),
            "location": format!("{base}/Groups/{}", group.id),
            "version": super::etag(group.version),
        }),
    );
    Value::Object(resource)
}

/// Replaces the group's attributes with the resource's and returns the wanted member ids
/// (`None` when the resource has no `members` attribute).
pub fn apply(
    resource: &Map<String, Value>,
    group: &mut Group,
) -> Result<Option<Vec<UserId>>, ScimError> {
    let name = field(resource, "displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("displayName is required and must be a string"))?;
    group.display_name =
        GroupName::parse(name).map_err(|e| ScimError::invalid_value(e.to_string()))?;
    group.external_id = match field(resource, "externalId") {
        None => None,
        Some(Value::String(id)) if id.is_empty() => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(ScimError::invalid_value("externalId must be a string")),
    };
    let Some(members) = field(resource, "members") else {
        return Ok(None);
    };
    let members = members
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("members must be an array"))?;
    members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            let id = member
                .get("value")
                .or_else(|| member.as_object().and_then(|m| field(m, "value")))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ScimError::invalid_value(format!("members[{index}].value must be a user id"))
                })?;
            id.parse().map_err(|_| {
                ScimError::invalid_value(format!("members[{index}].value {id:?} is not a user id"))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
