//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes a response
//! carries. `id` and `schemas` are always returned; attributes returned only on request
//! (RFC 7643 §7) appear when `attributes` names them or the body of the write being answered
//! did.

use serde_json::{Map, Value};

use super::schema::{self, ENTERPRISE_SCHEMA, GROUP_SCHEMA, ROSTER_SCHEMA, Returned, USER_SCHEMA};

/// One requested attribute: the extension it lives in (`None` for the core schema), its name
/// and an optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    extension: Option<&'static str>,
    name: Option<String>,
    sub: Option<String>,
}

/// What to keep or drop from a resource.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Vec<Spec>,
    excluded: Vec<Spec>,
    /// What the body of the write being answered named (RFC 7643 §7: an attribute returned on
    /// request comes back when the client specified it).
    named: Vec<Spec>,
}

fn parse_spec(text: &str) -> Option<Spec> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let mut extension = None;
    let mut rest = text;
    for urn in [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA, ROSTER_SCHEMA] {
        let urn_lower = urn.to_ascii_lowercase();
        if lower == urn_lower {
            let is_core = urn == USER_SCHEMA || urn == GROUP_SCHEMA;
            return (!is_core).then_some(Spec {
                extension: Some(urn),
                name: None,
                sub: None,
            });
        }
        if lower.starts_with(&format!("{urn_lower}:")) {
            if urn != USER_SCHEMA && urn != GROUP_SCHEMA {
                extension = Some(urn);
            }
            rest = &text[urn.len() + 1..];
            break;
        }
    }
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub.to_owned())),
        None => (rest, None),
    };
    Some(Spec {
        extension,
        name: Some(name.to_owned()),
        sub,
    })
}

fn parse_list(text: Option<&str>) -> Vec<Spec> {
    text.map(|text| text.split(',').filter_map(parse_spec).collect())
        .unwrap_or_default()
}

/// The key of `object` equal to `name` ignoring case.
pub fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self {
            attributes: parse_list(attributes),
            excluded: parse_list(excluded),
            named: Vec::new(),
        }
    }

    /// True when `name` (a core attribute) is left out, so the caller can skip loading it.
    pub fn excludes(&self, name: &str) -> bool {
        let named = |spec: &Spec| {
            spec.extension.is_none()
                && spec.sub.is_none()
                && spec
                    .name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        };
        self.excluded.iter().any(named)
            || (!self.attributes.is_empty()
                && !self.attributes.iter().any(|spec| {
                    spec.extension.is_none()
                        && spec
                            .name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                }))
    }

    /// Adds the attributes a resource body names (a POST or PUT body, or a pathless PATCH
    /// value): its top-level keys, URN-qualified ones, and the keys of its extension objects.
    pub fn naming_body(mut self, body: &Map<String, Value>) -> Self {
        for (key, value) in body {
            self.named.extend(named_by(key, Some(value)));
        }
        self
    }

    /// Adds what a PATCH operation with a path names; a path that is an extension's URN names
    /// the keys of its value.
    pub fn naming_path(mut self, path: &str, value: Option<&Value>) -> Self {
        self.named.extend(named_by(path, value));
        self
    }

    /// True when the response carries what a read without `attributes` does: nothing is picked,
    /// nothing left out, and the write answered named nothing returned only on request.
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty()
            && self.excluded.is_empty()
            && !schema::EXTENSIONS.iter().any(|(extension, attributes)| {
                attributes.iter().any(|attribute| {
                    attribute.returned == Returned::Request
                        && self.asks_for(extension, attribute.name)
                })
            })
    }

    /// True when an attribute returned only on request is asked for, so the caller can skip
    /// loading it otherwise.
    pub fn asks_for(&self, extension: &str, name: &str) -> bool {
        let asks = |spec: &Spec| {
            spec.extension == Some(extension)
                && spec
                    .name
                    .as_deref()
                    .is_none_or(|n| n.eq_ignore_ascii_case(name))
        };
        let excluded = self.excluded.iter().any(|spec| {
            spec.extension == Some(extension)
                && spec.sub.is_none()
                && spec
                    .name
                    .as_deref()
                    .is_none_or(|n| n.eq_ignore_ascii_case(name))
        });
        !excluded && (self.attributes.iter().any(asks) || self.named.iter().any(asks))
    }

    /// Applies the projection to a full resource.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut full) = resource else {
            return resource;
        };
        if !self.attributes.is_empty() {
            let mut kept = Map::new();
            for key in ["schemas", "id"] {
                if let Some(value) = full.get(key) {
                    kept.insert(key.to_owned(), value.clone());
                }
            }
            for spec in &self.attributes {
                copy(&full, &mut kept, spec);
            }
            full = kept;
        }
        for spec in &self.excluded {
            remove(&mut full, spec);
        }
        self.drop_unrequested(&mut full);
        Value::Object(full)
    }

    /// Removes the attributes returned only on request that nobody asked for, and an extension
    /// object left empty by that.
    fn drop_unrequested(&self, resource: &mut Map<String, Value>) {
        for (extension, attributes) in schema::EXTENSIONS {
            let Some(key) = key_of(resource, extension) else {
                continue;
            };
            let Some(object) = resource.get_mut(&key).and_then(Value::as_object_mut) else {
                continue;
            };
            for attribute in attributes
                .iter()
                .filter(|attribute| attribute.returned == Returned::Request)
            {
                if !self.asks_for(extension, attribute.name)
                    && let Some(name) = key_of(object, attribute.name)
                {
                    object.remove(&name);
                }
            }
            if object.is_empty() {
                resource.remove(&key);
            }
        }
    }
}

/// What a body key or a PATCH path names: an extension's URN with an object value names that
/// object's keys; anything else names itself.
fn named_by(key: &str, value: Option<&Value>) -> Vec<Spec> {
    let extension = schema::EXTENSIONS
        .iter()
        .map(|(urn, _)| *urn)
        .find(|urn| urn.eq_ignore_ascii_case(key.trim()));
    match (extension, value) {
        (Some(urn), Some(Value::Object(inner))) => inner
            .keys()
            .map(|name| Spec {
                extension: Some(urn),
                name: Some(name.clone()),
                sub: None,
            })
            .collect(),
        _ => parse_spec(key).into_iter().collect(),
    }
}

fn container<'a>(object: &'a Map<String, Value>, spec: &Spec) -> Option<&'a Map<String, Value>> {
    match spec.extension {
        None => Some(object),
        Some(urn) => object.get(urn)?.as_object(),
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, spec: &Spec) {
    let Some(source) = container(from, spec) else {
        return;
    };
    let target = match spec.extension {
        None => to,
        Some(urn) => {
            let slot = to
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match slot.as_object_mut() {
                Some(object) => object,
                None => return,
            }
        }
    };
    let Some(name) = &spec.name else {
        target.extend(source.iter().map(|(k, v)| (k.clone(), v.clone())));
        return;
    };
    let Some(key) = key_of(source, name) else {
        return;
    };
    let value = &source[&key];
    match (&spec.sub, value) {
        (None, value) => {
            target.insert(key, value.clone());
        }
        (Some(sub), Value::Object(inner)) => {
            if let Some(sub_key) = key_of(inner, sub) {
                let slot = target
                    .entry(key)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(object) = slot.as_object_mut() {
                    object.insert(sub_key.clone(), inner[&sub_key].clone());
                }
            }
        }
        (Some(sub), Value::Array(items)) => {
            let picked: Vec<Value> = items
                .iter()
                .filter_map(|item| {
                    let item = item.as_object()?;
                    let sub_key = key_of(item, sub)?;
                    let mut one = Map::new();
                    one.insert(sub_key.clone(), item[&sub_key].clone());
                    Some(Value::Object(one))
                })
                .collect();
            target.insert(key, Value::Array(picked));
        }
        _ => {}
    }
}

fn remove(object: &mut Map<String, Value>, spec: &Spec) {
    let target = match spec.extension {
        None => object,
        Some(urn) => match spec.name {
            None => {
                object.remove(urn);
                return;
            }
            Some(_) => match object.get_mut(urn).and_then(Value::as_object_mut) {
                Some(inner) => inner,
                None => return,
            },
        },
    };
    let Some(name) = &spec.name else { return };
    if spec.extension.is_none()
        && (name.eq_ignore_ascii_case("id") || name.eq_ignore_ascii_case("schemas"))
    {
        return;
    }
    let Some(key) = key_of(target, name) else {
        return;
    };
    match &spec.sub {
        None => {
            target.remove(&key);
        }
        Some(sub) => match target.get_mut(&key) {
            Some(Value::Object(inner)) => {
                if let Some(sub_key) = key_of(inner, sub) {
                    inner.remove(&sub_key);
                }
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(sub_key) = key_of(item, sub) {
                        item.remove(&sub_key);
                    }
                }
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "id": "1",
            "userName": "alice",
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "emails": [{"value": "a@x", "type": "work"}],
            ROSTER_SCHEMA: {"state": "ACTIVATED", "sambaServiceUser": false},
            "meta": {"resourceType": "User"},
        })
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id() {
        let projected =
            Projection::new(Some("userName,NAME.givenName,emails.value"), None).apply(user());
        assert_eq!(
            projected,
            json!({
                "schemas": [USER_SCHEMA],
                "id": "1",
                "userName": "alice",
                "name": {"givenName": "Alice"},
                "emails": [{"value": "a@x"}],
            })
        );
        let projected = Projection::new(
            Some(&format!(
                "{ROSTER_SCHEMA}:state,urn:ietf:params:scim:schemas:core:2.0:User:userName"
            )),
            None,
        )
        .apply(user());
        assert_eq!(projected[ROSTER_SCHEMA], json!({"state": "ACTIVATED"}));
        assert_eq!(projected["userName"], "alice");
    }

    #[test]
    fn excluded_attributes_are_dropped_but_never_id() {
        let projected = Projection::new(
            None,
            Some(&format!("id,emails,name.familyName,{ROSTER_SCHEMA}")),
        )
        .apply(user());
        assert_eq!(projected["id"], "1");
        assert!(projected.get("emails").is_none());
        assert_eq!(projected["name"], json!({"givenName": "Alice"}));
        assert!(projected.get(ROSTER_SCHEMA).is_none());
        assert!(Projection::new(None, Some("members")).excludes("members"));
        assert!(Projection::new(Some("displayName"), None).excludes("members"));
        assert!(!Projection::new(None, None).excludes("members"));
    }

    #[test]
    fn attributes_returned_on_request_appear_only_when_named() {
        let user = || {
            let mut user = user();
            user[ROSTER_SCHEMA]["location"] = json!("Berlin");
            user
        };
        let plain = Projection::new(None, None).apply(user());
        assert_eq!(plain[ROSTER_SCHEMA], json!({"location": "Berlin"}));

        let mut without_location = user();
        without_location[ROSTER_SCHEMA]
            .as_object_mut()
            .expect("object")
            .remove("location");
        let plain = Projection::new(None, None).apply(without_location);
        assert!(
            plain.get(ROSTER_SCHEMA).is_none(),
            "an emptied extension goes"
        );

        let asked = Projection::new(Some(&format!("userName,{ROSTER_SCHEMA}")), None);
        assert_eq!(
            asked.apply(user())[ROSTER_SCHEMA],
            json!({"state": "ACTIVATED", "sambaServiceUser": false, "location": "Berlin"})
        );
        assert!(asked.asks_for(ROSTER_SCHEMA, "scheduledStateChanges"));
        assert!(!Projection::new(None, None).asks_for(ROSTER_SCHEMA, "state"));

        let named = Projection::new(None, None).naming_body(
            json!({ROSTER_SCHEMA: {"state": "STAGED"}})
                .as_object()
                .expect("object"),
        );
        assert_eq!(
            named.apply(user())[ROSTER_SCHEMA],
            json!({"state": "ACTIVATED", "location": "Berlin"})
        );
        let named = Projection::new(None, None).naming_path(
            &format!("{ROSTER_SCHEMA}:sambaServiceUser"),
            Some(&json!(false)),
        );
        assert_eq!(
            named.apply(user())[ROSTER_SCHEMA],
            json!({"sambaServiceUser": false, "location": "Berlin"})
        );
        let excluded =
            Projection::new(Some(ROSTER_SCHEMA), Some(&format!("{ROSTER_SCHEMA}:state")));
        assert!(!excluded.asks_for(ROSTER_SCHEMA, "state"));
        assert!(excluded.apply(user())[ROSTER_SCHEMA].get("state").is_none());
    }
}
