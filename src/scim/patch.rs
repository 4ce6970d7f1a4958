//! PATCH (RFC 7644 §3.5.2) applied to a resource's JSON form. The caller applies all
//! operations to a copy and writes only when every one succeeded, which makes a PATCH atomic.
//! Accepts what Okta and Entra ID send: `op` in any case, pathless values with dotted or
//! URN-qualified keys, unknown extension URNs (ignored), values for members to remove.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::filter::parse_patch_path;
use super::projection::key_of;
use super::schema::{self, Attribute, Mutability};
use super::{ScimError, ScimLimits};

/// The PatchOp message schema.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// The schemas of a resource type: its core schema and the extensions it may carry.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    pub core: &'static str,
    pub attributes: &'static [Attribute],
    pub extensions: &'static [(&'static str, &'static [Attribute])],
}

/// Reads the operations of a PatchOp body, refusing more than the limit.
pub fn parse_request(body: &Value, limits: &ScimLimits) -> Result<Vec<Operation>, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the body must be a PatchOp object"))?;
    if let Some(schemas) =
        key_of(object, "schemas").and_then(|key| object[&key].as_array().cloned())
        && !schemas.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
        })
    {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {PATCH_SCHEMA}"
        )));
    }
    let operations = key_of(object, "Operations")
        .and_then(|key| object[&key].as_array())
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH needs an Operations array"))?;
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax(
            "Operations is empty; send at least one operation",
        ));
    }
    if operations.len() > limits.max_patch_operations {
        return Err(ScimError::invalid_value(format!(
            "the PATCH has {} operations; send at most {} per request",
            operations.len(),
            limits.max_patch_operations
        )));
    }
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            let operation = operation.as_object().ok_or_else(|| {
                ScimError::invalid_syntax(format!("Operations[{index}] must be an object"))
            })?;
            let op = key_of(operation, "op")
                .and_then(|key| operation[&key].as_str())
                .ok_or_else(|| {
                    ScimError::invalid_syntax(format!("Operations[{index}] has no op"))
                })?;
            let op = match op.to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "remove" => Op::Remove,
                "replace" => Op::Replace,
                other => {
                    return Err(ScimError::invalid_syntax(format!(
                        "Operations[{index}].op {other:?} is not add, remove or replace"
                    )));
                }
            };
            let path = match key_of(operation, "path").map(|key| &operation[&key]) {
                None | Some(Value::Null) => None,
                Some(Value::String(path)) if path.trim().is_empty() => None,
                Some(Value::String(path)) => Some(path.clone()),
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "Operations[{index}].path must be a string"
                    )));
                }
            };
            let value = key_of(operation, "value").map(|key| operation[&key].clone());
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// Where an attribute lives: in the core object or in an extension's object.
#[derive(Debug, Clone, Copy)]
struct Target {
    extension: Option<&'static str>,
    attribute: &'static Attribute,
}

impl ResourceSchema {
    fn extension(&self, urn: &str) -> Option<(&'static str, &'static [Attribute])> {
        self.extensions
            .iter()
            .copied()
            .find(|(known, _)| known.eq_ignore_ascii_case(urn))
    }

    /// Resolves `uri:name`; `None` for an extension URN this resource does not know (ignored).
    fn resolve(
        &self,
        uri: Option<&str>,
        name: &str,
        shown: &str,
    ) -> Result<Option<Target>, ScimError> {
        let unknown = || ScimError::invalid_path(format!("{shown}: no such attribute"));
        match uri {
            None => Ok(Some(Target {
                extension: None,
                attribute: schema::find(self.attributes, name).ok_or_else(unknown)?,
            })),
            Some(uri) if uri.eq_ignore_ascii_case(self.core) => Ok(Some(Target {
                extension: None,
                attribute: schema::find(self.attributes, name).ok_or_else(unknown)?,
            })),
            Some(uri) => match self.extension(uri) {
                Some((urn, attributes)) => Ok(Some(Target {
                    extension: Some(urn),
                    attribute: attributes
                        .iter()
                        .find(|a| a.name.eq_ignore_ascii_case(name))
                        .ok_or_else(unknown)?,
                })),
                None => Ok(None),
            },
        }
    }

    /// Splits a pathless value's key (`name.givenName`, `urn:…:User:employeeNumber`, `urn:…:User`).
    fn split_key<'k>(&self, key: &'k str) -> KeyTarget<'k> {
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("urn:") {
            if lower == self.core.to_ascii_lowercase() {
                return KeyTarget::Core;
            }
            if let Some((urn, _)) = self.extension(key) {
                return KeyTarget::WholeExtension(urn);
            }
            let core_prefix = format!("{}:", self.core.to_ascii_lowercase());
            if lower.starts_with(&core_prefix) {
                return KeyTarget::Attribute(None, &key[core_prefix.len()..]);
            }
            for (urn, _) in self.extensions {
                let prefix = format!("{}:", urn.to_ascii_lowercase());
                if lower.starts_with(&prefix) {
                    return KeyTarget::Attribute(Some(urn), &key[prefix.len()..]);
                }
            }
            // Entra's older jobs put a dot before extension attributes.
            for (urn, _) in self.extensions {
                let prefix = format!("{}.", urn.to_ascii_lowercase());
                if lower.starts_with(&prefix) {
                    return KeyTarget::Attribute(Some(urn), &key[prefix.len()..]);
                }
            }
            return KeyTarget::Unknown;
        }
        if lower == "schemas" {
            return KeyTarget::Unknown;
        }
        KeyTarget::Attribute(None, key)
    }
}

enum KeyTarget<'k> {
    Core,
    WholeExtension(&'static str),
    Attribute(Option<&'static str>, &'k str),
    Unknown,
}

fn container<'d>(
    resource: &'d mut Map<String, Value>,
    extension: Option<&str>,
) -> &'d mut Map<String, Value> {
    let Some(urn) = extension else {
        return resource;
    };
    let key = key_of(resource, urn).unwrap_or_else(|| urn.to_owned());
    let slot = resource
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

/// Applies every operation to `resource`, stopping at the first that fails.
pub fn apply(
    resource: &mut Map<String, Value>,
    operations: &[Operation],
    schema: &ResourceSchema,
    limits: &ScimLimits,
) -> Result<(), ScimError> {
    for (index, operation) in operations.iter().enumerate() {
        apply_one(resource, operation, schema, limits).map_err(|mut error| {
            error.detail = format!("Operations[{index}]: {}", error.detail);
            error
        })?;
    }
    Ok(())
}

fn apply_one(
    resource: &mut Map<String, Value>,
    operation: &Operation,
    schema: &ResourceSchema,
    limits: &ScimLimits,
) -> Result<(), ScimError> {
    let Some(path) = &operation.path else {
        if operation.op == Op::Remove {
            return Err(ScimError::no_target(
                "remove needs a path naming what to remove",
            ));
        }
        let Some(Value::Object(values)) = &operation.value else {
            return Err(ScimError::invalid_value(
                "an operation without a path needs an object value",
            ));
        };
        return apply_pathless(resource, operation.op, values, schema);
    };
    // A whole extension as the path: its value holds that extension's attributes.
    if let Some((urn, _)) = schema.extension(path.trim()) {
        return match (operation.op, &operation.value) {
            (Op::Remove, _) => {
                if let Some(key) = key_of(resource, urn) {
                    resource.remove(&key);
                }
                Ok(())
            }
            (op, Some(value @ Value::Object(_))) => {
                let wrapped = Map::from_iter([(urn.to_owned(), value.clone())]);
                apply_pathless(resource, op, &wrapped, schema)
            }
            _ => Err(ScimError::invalid_value(format!(
                "{path} needs an object value"
            ))),
        };
    }
    match parse_patch_path(path, limits)? {
        PatchPath::Attr(AttrPath {
            uri,
            name,
            sub_attr,
        }) => {
            let Some(target) = schema.resolve(uri.as_deref(), &name, path)? else {
                return Ok(());
            };
            set_attribute(
                resource,
                operation.op,
                target,
                sub_attr.as_deref(),
                operation.value.as_ref(),
                path,
            )
        }
        PatchPath::Value(value_path) => {
            let AttrPath {
                uri,
                name,
                sub_attr,
            } = &value_path.attr;
            if sub_attr.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "{path}: a value filter applies to a multi-valued attribute"
                )));
            }
            let Some(target) = schema.resolve(uri.as_deref(), name, path)? else {
                return Ok(());
            };
            if !target.attribute.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "{path}: {name} is not multi-valued"
                )));
            }
            check_writable(resource, target, None, path)?;
            apply_value_path(
                container(resource, target.extension),
                operation.op,
                target.attribute,
                &value_path.filter,
                value_path.sub_attr.as_deref(),
                operation.value.as_ref(),
                path,
            )
        }
    }
}

fn apply_pathless(
    resource: &mut Map<String, Value>,
    op: Op,
    values: &Map<String, Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    for (key, value) in values {
        match schema.split_key(key) {
            KeyTarget::Unknown => {}
            KeyTarget::Core => {
                let Value::Object(inner) = value else {
                    return Err(ScimError::invalid_value(format!("{key} must be an object")));
                };
                apply_pathless(resource, op, inner, schema)?;
            }
            KeyTarget::WholeExtension(urn) => {
                let Value::Object(inner) = value else {
                    return Err(ScimError::invalid_value(format!("{key} must be an object")));
                };
                for (name, value) in inner {
                    if name.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    let shown = format!("{urn}:{name}");
                    let (name, sub) = split_dotted(name);
                    if let Some(target) = schema.resolve(Some(urn), name, &shown)? {
                        set_attribute(resource, op, target, sub, Some(value), &shown)?;
                    }
                }
            }
            KeyTarget::Attribute(extension, rest) => {
                let (name, sub) = split_dotted(rest);
                if let Some(target) = schema.resolve(extension, name, key)? {
                    set_attribute(resource, op, target, sub, Some(value), key)?;
                }
            }
        }
    }
    Ok(())
}

fn split_dotted(text: &str) -> (&str, Option<&str>) {
    match text.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (text, None),
    }
}

/// A read-only attribute may be "set" to the value it has (clients echo resources back), but
/// not changed.
fn check_writable(
    resource: &Map<String, Value>,
    target: Target,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    if target.attribute.mutability != Mutability::ReadOnly {
        return Ok(());
    }
    let current = match target.extension {
        None => key_of(resource, target.attribute.name).map(|key| &resource[&key]),
        Some(urn) => key_of(resource, urn)
            .and_then(|key| resource[&key].as_object())
            .and_then(|inner| key_of(inner, target.attribute.name).map(|key| &inner[&key])),
    };
    if value.is_some() && current == value {
        return Ok(());
    }
    Err(ScimError::mutability(format!(
        "{path} is read-only and cannot be changed"
    )))
}

fn set_attribute(
    resource: &mut Map<String, Value>,
    op: Op,
    target: Target,
    sub: Option<&str>,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    if sub.is_none() {
        check_writable(resource, target, value, path)?;
        if target.attribute.mutability == Mutability::ReadOnly {
            return Ok(());
        }
    } else if target.attribute.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "{path} is read-only and cannot be changed"
        )));
    }
    let attribute = target.attribute;
    if let Some(sub) = sub
        && (attribute.sub_attributes.is_empty() || schema::find_sub(attribute, sub).is_none())
    {
        return Err(ScimError::invalid_path(format!(
            "{path}: no such attribute"
        )));
    }
    let object = container(resource, target.extension);
    let key = key_of(object, attribute.name).unwrap_or_else(|| attribute.name.to_owned());
    match op {
        Op::Remove if sub.is_none() && attribute.required => Err(ScimError::invalid_value(
            format!("{path} is required and cannot be removed; replace it instead"),
        )),
        Op::Remove => {
            match (sub, value, object.get_mut(&key)) {
                (None, Some(Value::Array(remove)), Some(Value::Array(items)))
                    if attribute.multi_valued =>
                {
                    // Entra's legacy member removal: the values to remove are listed.
                    let ids: Vec<&Value> =
                        remove.iter().filter_map(|item| item.get("value")).collect();
                    items.retain(|item| !item.get("value").is_some_and(|v| ids.contains(&v)));
                }
                (None, _, _) => {
                    object.remove(&key);
                }
                (Some(sub), _, Some(Value::Object(inner))) => {
                    if let Some(sub_key) = key_of(inner, sub) {
                        inner.remove(&sub_key);
                    }
                }
                (Some(sub), _, Some(Value::Array(items))) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(sub_key) = key_of(item, sub) {
                            item.remove(&sub_key);
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
        Op::Add | Op::Replace => {
            let value = value
                .ok_or_else(|| ScimError::invalid_value(format!("{path}: {op:?} needs a value")))?;
            match sub {
                Some(sub) => {
                    let slot = object
                        .entry(key)
                        .or_insert_with(|| Value::Object(Map::new()));
                    match slot {
                        Value::Object(inner) => {
                            let sub_key = key_of(inner, sub).unwrap_or_else(|| sub.to_owned());
                            inner.insert(sub_key, value.clone());
                        }
                        Value::Array(items) => {
                            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                                let sub_key = key_of(item, sub).unwrap_or_else(|| sub.to_owned());
                                item.insert(sub_key, value.clone());
                            }
                        }
                        other => {
                            *other =
                                Value::Object(Map::from_iter([(sub.to_owned(), value.clone())]))
                        }
                    }
                }
                None if attribute.multi_valued => {
                    let new_items = match value {
                        Value::Array(items) => items.clone(),
                        Value::Null => Vec::new(),
                        single => vec![single.clone()],
                    };
                    match (op, object.get_mut(&key)) {
                        (Op::Add, Some(Value::Array(items))) => {
                            for item in new_items {
                                if !items.contains(&item) {
                                    items.push(item);
                                }
                            }
                        }
                        _ => {
                            object.insert(key, Value::Array(new_items));
                        }
                    }
                }
                None => match (value, object.get_mut(&key)) {
                    // A complex value merges into what is there (RFC 7644 §3.5.2.1 and .3).
                    (Value::Object(new), Some(Value::Object(existing)))
                        if !attribute.sub_attributes.is_empty() =>
                    {
                        for (sub, sub_value) in new {
                            let sub_key = key_of(existing, sub).unwrap_or_else(|| sub.clone());
                            existing.insert(sub_key, sub_value.clone());
                        }
                    }
                    _ => {
                        object.insert(key, value.clone());
                    }
                },
            }
            Ok(())
        }
    }
}

fn apply_value_path(
    object: &mut Map<String, Value>,
    op: Op,
    attribute: &Attribute,
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    if let Some(sub) = sub
        && schema::find_sub(attribute, sub).is_none()
    {
        return Err(ScimError::invalid_path(format!(
            "{path}: no such sub-attribute {sub}"
        )));
    }
    let key = key_of(object, attribute.name).unwrap_or_else(|| attribute.name.to_owned());
    let items = match object
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => items,
        other => {
            *other = Value::Array(Vec::new());
            other.as_array_mut().expect("made an array above")
        }
    };
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| matches(&items[i], filter))
        .collect();
    match op {
        Op::Remove => {
            match sub {
                None => {
                    let mut index = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&index);
                        index += 1;
                        keep
                    });
                }
                Some(sub) => {
                    for &i in &matched {
                        if let Some(item) = items[i].as_object_mut()
                            && let Some(sub_key) = key_of(item, sub)
                        {
                            item.remove(&sub_key);
                        }
                    }
                }
            }
            Ok(())
        }
        Op::Add | Op::Replace => {
            let value = value
                .ok_or_else(|| ScimError::invalid_value(format!("{path}: {op:?} needs a value")))?;
            if matched.is_empty() {
                if op == Op::Replace {
                    return Err(ScimError::no_target(format!("{path} matches no value")));
                }
                // An add through a filter creates the value the filter describes.
                let mut item = equalities(filter).ok_or_else(|| {
                    ScimError::no_target(format!(
                        "{path} matches no value, and its filter does not describe a new one"
                    ))
                })?;
                match (sub, value) {
                    (Some(sub), value) => {
                        item.insert(sub.to_owned(), value.clone());
                    }
                    (None, Value::Object(fields)) => item.extend(fields.clone()),
                    (None, _) => {
                        return Err(ScimError::invalid_value(format!(
                            "{path}: the value must be an object"
                        )));
                    }
                }
                items.push(Value::Object(item));
                return Ok(());
            }
            for &i in &matched {
                match (sub, &mut items[i]) {
                    (Some(sub), Value::Object(item)) => {
                        let sub_key = key_of(item, sub).unwrap_or_else(|| sub.to_owned());
                        item.insert(sub_key, value.clone());
                    }
                    (None, Value::Object(item)) => {
                        let Value::Object(fields) = value else {
                            return Err(ScimError::invalid_value(format!(
                                "{path}: the value must be an object"
                            )));
                        };
                        if op == Op::Replace {
                            item.clear();
                        }
                        item.extend(fields.clone());
                    }
                    _ => {}
                }
            }
            Ok(())
        }
    }
}

/// The element a conjunction of `eq` comparisons describes, such as `type eq "work"`.
fn equalities(filter: &ValFilter) -> Option<Map<String, Value>> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value))
            if path.uri.is_none() && path.sub_attr.is_none() =>
        {
            let value = match value {
                CompValue::Str(text) => Value::String(text.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(number) => Value::Number(number.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(path.name.clone(), value)]))
        }
        ValFilter::And(items) => {
            let mut all = Map::new();
            for item in items {
                all.extend(equalities(item)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// Whether one element of a multi-valued attribute matches a value filter. Strings compare
/// without regard to case.
pub fn matches(element: &Value, filter: &ValFilter) -> bool {
    match filter {
        ValFilter::And(items) => items.iter().all(|item| matches(element, item)),
        ValFilter::Or(items) => items.iter().any(|item| matches(element, item)),
        ValFilter::Not(inner) => !matches(element, inner),
        ValFilter::Attr(expression) => {
            let (path, comparison) = match expression {
                AttrExp::Present(path) => (path, None),
                AttrExp::Comparison(path, op, value) => (path, Some((op, value))),
            };
            let Some(object) = element.as_object() else {
                return false;
            };
            let actual = key_of(object, &path.name)
                .map(|key| &object[&key])
                .filter(|v| !v.is_null());
            let actual = match (&path.sub_attr, actual) {
                (Some(sub), Some(Value::Object(inner))) => {
                    key_of(inner, sub).map(|key| &inner[&key])
                }
                (Some(_), _) => None,
                (None, actual) => actual,
            };
            let Some((op, wanted)) = comparison else {
                return actual.is_some_and(|value| value != &Value::String(String::new()));
            };
            compare(actual, op, wanted)
        }
    }
}

fn compare(actual: Option<&Value>, op: &CompareOp, wanted: &CompValue) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, wanted) {
        (None, CompValue::Null) => Some(Ordering::Equal),
        (None, _) => return matches!(op, CompareOp::Ne),
        (Some(Value::String(a)), CompValue::Str(b)) => {
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => Some(a.cmp(&b)),
            }
        }
        (Some(Value::Bool(a)), CompValue::True) => Some(a.cmp(&true)),
        (Some(Value::Bool(a)), CompValue::False) => Some(a.cmp(&false)),
        (Some(Value::String(a)), CompValue::True) => {
            Some(a.to_ascii_lowercase().as_str().cmp("true"))
        }
        (Some(Value::String(a)), CompValue::False) => {
            Some(a.to_ascii_lowercase().as_str().cmp("false"))
        }
        (Some(Value::Number(a)), CompValue::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        _ => None,
    };
    match (op, ordering) {
        (CompareOp::Eq, Some(order)) => order == Ordering::Equal,
        (CompareOp::Ne, Some(order)) => order != Ordering::Equal,
        (CompareOp::Ne, None) => true,
        (CompareOp::Gt, Some(order)) => order == Ordering::Greater,
        (CompareOp::Ge, Some(order)) => order != Ordering::Less,
        (CompareOp::Lt, Some(order)) => order == Ordering::Less,
        (CompareOp::Le, Some(order)) => order != Ordering::Greater,
        _ => false,
    }
}
