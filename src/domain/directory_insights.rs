//! The audit trail in the shape of JumpCloud's Directory Insights: the query body of
//! `POST /insights/directory/v1/events` and the event objects it answers with. Scripts written
//! for Directory Insights read Roster's trail unchanged; `roster audit export` writes the same
//! objects.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::audit::{AuditEvent, InitiatorKind};

/// The largest page one query may ask for.
pub const MAX_LIMIT: i64 = 10_000;
/// The page size when the query names none.
pub const DEFAULT_LIMIT: i64 = 1_000;

/// Directory Insights services. Roster records `directory` events only; the others are
/// accepted so that scripts asking for several services work, and match nothing.
const SERVICES: &[&str] = &[
    "all",
    "directory",
    "ldap",
    "sso",
    "radius",
    "systems",
    "mdm",
    "software",
    "password_manager",
    "object_storage",
    "alert",
    "notifications",
    "reports",
    "access_management",
    "asset_management",
];

/// The fields a `search_term` may test, and the stored column each one reads.
const SEARCHABLE: &[&str] = &["event_type", "resource.id"];

/// What to read from the trail: a time window, optional exact matches, order and page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSearch {
    /// Inclusive.
    pub start: DateTime<Utc>,
    /// Exclusive; `None` for "up to now".
    pub end: Option<DateTime<Utc>>,
    /// Empty: any type.
    pub event_types: Vec<String>,
    /// Empty: any resource.
    pub resource_ids: Vec<String>,
    /// Only events after this position in the trail (0: from the first), for paging through
    /// a long export without OFFSET.
    pub after_seq: i64,
    pub newest_first: bool,
    pub skip: i64,
    pub limit: i64,
}

/// A Directory Insights query: which events, and which of their fields to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub search: AuditSearch,
    /// `false` when no requested service records anything in Roster (the answer is empty).
    pub matches_directory: bool,
    /// Top-level fields to keep; empty keeps all.
    pub fields: Vec<String>,
}

/// A query that cannot be run, with a message naming what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidQuery(pub String);

fn invalid(message: impl Into<String>) -> InvalidQuery {
    InvalidQuery(message.into())
}

fn time_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, InvalidQuery> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|time| Some(time.with_timezone(&Utc)))
            .map_err(|_| invalid(format!("{name} must be an RFC 3339 time, not {text:?}"))),
        Some(other) => Err(invalid(format!(
            "{name} must be an RFC 3339 time string, not {other}"
        ))),
    }
}

fn count_field(
    body: &Map<String, Value>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, InvalidQuery> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} must be a whole number from {min} to {max}"))),
    }
}

fn string_list(value: &Value, name: &str) -> Result<Vec<String>, InvalidQuery> {
    let strings = match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(format!("{name} must hold strings only")))?,
        _ => {
            return Err(invalid(format!(
                "{name} must be a string or a list of strings"
            )));
        }
    };
    if strings.is_empty() {
        return Err(invalid(format!("{name} must not be empty")));
    }
    Ok(strings)
}

/// Reads `search_term`: `{"and": [{"event_type": "user_create"}, {"resource.id": [...]}]}`.
/// Each condition is an exact match on one field, against one value or any of a list.
fn search_term(value: &Value, search: &mut AuditSearch) -> Result<(), InvalidQuery> {
    let Some(term) = value.as_object() else {
        return Err(invalid(
            "search_term must be an object like {\"and\": [{\"event_type\": \"user_create\"}]}",
        ));
    };
    for (operator, conditions) in term {
        if operator != "and" {
            return Err(invalid(format!(
                "search_term supports \"and\" only, not {operator:?}; list several values for one field to match any of them"
            )));
        }
        let conditions = match conditions {
            Value::Array(list) => list.iter().collect::<Vec<_>>(),
            single @ Value::Object(_) => vec![single],
            _ => return Err(invalid("search_term.and must be a list of conditions")),
        };
        for condition in conditions {
            let Some(fields) = condition.as_object() else {
                return Err(invalid("each search_term condition must be an object"));
            };
            for (field, wanted) in fields {
                let values = string_list(wanted, field)?;
                let target = match field.as_str() {
                    "event_type" => &mut search.event_types,
                    "resource.id" => &mut search.resource_ids,
                    other => {
                        return Err(invalid(format!(
                            "search_term cannot test {other:?}; searchable fields: {}",
                            SEARCHABLE.join(", ")
                        )));
                    }
                };
                // Two conditions on one field must both hold: keep the values in both.
                if target.is_empty() {
                    *target = values;
                } else {
                    target.retain(|v| values.contains(v));
                    if target.is_empty() {
                        // No value satisfies both conditions: keep one that no event has.
                        target.push(String::new());
                    }
                }
            }
        }
    }
    Ok(())
}

impl EventQuery {
    /// Reads a query body. `service` and `start_time` are required, as in Directory Insights.
    pub fn parse(body: &Value) -> Result<Self, InvalidQuery> {
        let Some(body) = body.as_object() else {
            return Err(invalid("the query must be a JSON object"));
        };
        const KNOWN: &[&str] = &[
            "service",
            "start_time",
            "end_time",
            "limit",
            "skip",
            "sort",
            "fields",
            "search_term",
        ];
        if let Some(unknown) = body.keys().find(|key| !KNOWN.contains(&key.as_str())) {
            return Err(invalid(format!(
                "{unknown:?} is not supported; the query takes {}",
                KNOWN.join(", ")
            )));
        }
        let services = string_list(
            body.get("service")
                .ok_or_else(|| invalid("service is required, for example [\"directory\"]"))?,
            "service",
        )?;
        if let Some(unknown) = services.iter().find(|s| !SERVICES.contains(&s.as_str())) {
            return Err(invalid(format!(
                "service {unknown:?} is unknown; use one of {}",
                SERVICES.join(", ")
            )));
        }
        let start = time_field(body, "start_time")?.ok_or_else(|| {
            invalid("start_time is required (RFC 3339, for example 2026-01-01T00:00:00Z)")
        })?;
        let end = time_field(body, "end_time")?;
        if end.is_some_and(|end| end <= start) {
            return Err(invalid("end_time must be later than start_time"));
        }
        let newest_first = match body.get("sort").and_then(Value::as_str) {
            None if body.get("sort").is_none_or(Value::is_null) => true,
            Some(sort) if sort.eq_ignore_ascii_case("desc") => true,
            Some(sort) if sort.eq_ignore_ascii_case("asc") => false,
            _ => return Err(invalid("sort must be \"ASC\" or \"DESC\"")),
        };
        let fields = match body.get("fields") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => string_list(value, "fields")?,
        };
        let mut search = AuditSearch {
            start,
            end,
            event_types: Vec::new(),
            resource_ids: Vec::new(),
            after_seq: 0,
            newest_first,
            skip: count_field(body, "skip", 0, i64::MAX)?.unwrap_or(0),
            limit: count_field(body, "limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT),
        };
        if let Some(term) = body.get("search_term") {
            search_term(term, &mut search)?;
        }
        Ok(Self {
            search,
            matches_directory: services.iter().any(|s| s == "all" || s == "directory"),
            fields,
        })
    }

    /// Keeps the requested top-level fields of a rendered event.
    pub fn project(&self, event: Value) -> Value {
        if self.fields.is_empty() {
            return event;
        }
        match event {
            Value::Object(all) => Value::Object(
                all.into_iter()
                    .filter(|(key, _)| self.fields.iter().any(|f| f == key))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Who made the change, in Directory Insights' `initiated_by` shape, and the `auth_method`
/// that goes with it (only administrators authenticate).
fn initiated_by(event: &AuditEvent) -> (Value, Option<&'static str>) {
    let name = event.initiated_by.name.clone();
    match event.initiated_by.kind {
        InitiatorKind::Admin => (json!({"type": "admin", "name": name}), Some("api-key")),
        InitiatorKind::Cli => (
            json!({"type": "admin", "name": name, "source": "roster:cli"}),
            Some("cli"),
        ),
        InitiatorKind::Scim => (
            json!({"type": "integration", "source": "jumpcloud:scim", "source_metadata": {"name": name}}),
            None,
        ),
        InitiatorKind::Scheduler => (
            json!({"type": "system", "source": "roster:scheduler"}),
            None,
        ),
        InitiatorKind::Import => (
            json!({"type": "system", "source": "import", "source_metadata": {"name": name}}),
            None,
        ),
        InitiatorKind::System => (json!({"type": "system", "source": "roster"}), None),
    }
}

/// One event as Directory Insights shows it. The event's details (`changes`, `from`/`to`,
/// `error_message`, ...) sit at the top level beside the standard fields, which they never
/// replace; `chain` carries the hash chain so that an exported trail can be checked offline.
pub fn render(event: &AuditEvent, organization: &str) -> Value {
    let (initiator, auth_method) = initiated_by(event);
    let mut resource = Map::new();
    resource.insert("type".into(), json!(event.resource.kind));
    resource.insert("id".into(), json!(event.resource.id));
    let name_key = if event.resource.kind == "systemuser" {
        "username"
    } else {
        "name"
    };
    if let Some(name) = &event.resource.name {
        resource.insert(name_key.into(), json!(name));
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(event.id.to_string()));
    out.insert("event_type".into(), json!(event.event_type));
    out.insert(
        "timestamp".into(),
        json!(
            event
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
        ),
    );
    out.insert("service".into(), json!("directory"));
    out.insert("organization".into(), json!(organization));
    out.insert("resource".into(), Value::Object(resource));
    out.insert("initiated_by".into(), initiator);
    if let Some(method) = auth_method {
        out.insert("auth_method".into(), json!(method));
    }
    out.insert(
        "chain".into(),
        json!({"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash}),
    );
    if let Ok(Value::Object(details)) = serde_json::from_str::<Value>(&event.details) {
        for (key, value) in details {
            out.entry(key).or_insert(value);
        }
    }
    out.entry("success").or_insert(json!(true));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AuditEventId;
    use crate::domain::audit::{AuditResource, Initiator};

    fn event(initiator: Initiator, details: &str) -> AuditEvent {
        AuditEvent {
            seq: 7,
            id: AuditEventId::generate(),
            occurred_at: "2026-12-03T10:00:00Z".parse().expect("time"),
            event_type: "user_update".into(),
            initiated_by: initiator,
            resource: AuditResource::user("u1", "ada"),
            details: details.into(),
            prev_hash: "p".into(),
            hash: "h".into(),
        }
    }

    #[test]
    fn scim_events_name_the_integration_as_directory_insights_does() {
        let rendered = render(&event(Initiator::scim("okta"), "{}"), "org");
        assert_eq!(rendered["initiated_by"]["source"], "jumpcloud:scim");
        assert_eq!(rendered["initiated_by"]["source_metadata"]["name"], "okta");
        assert!(rendered.get("auth_method").is_none());
        assert_eq!(rendered["resource"]["username"], "ada");
        assert_eq!(rendered["service"], "directory");
    }

    #[test]
    fn admin_events_carry_the_api_key_auth_method() {
        let rendered = render(&event(Initiator::admin("deploy-script"), "{}"), "org");
        assert_eq!(rendered["auth_method"], "api-key");
        assert_eq!(rendered["initiated_by"]["name"], "deploy-script");
        let rendered = render(&event(Initiator::cli(Some("root".into())), "{}"), "org");
        assert_eq!(rendered["auth_method"], "cli");
    }

    #[test]
    fn details_sit_beside_the_standard_fields_without_replacing_them() {
        let details = r#"{"changes":[{"field":"email","from":"a","to":"b"}],"service":"evil"}"#;
        let rendered = render(&event(Initiator::admin("k"), details), "org");
        assert_eq!(rendered["changes"][0]["field"], "email");
        assert_eq!(rendered["service"], "directory");
        assert_eq!(rendered["success"], true);
        assert_eq!(rendered["chain"]["seq"], 7);
    }

    #[test]
    fn a_query_needs_a_known_service_and_a_start_time() {
        let refuse = |body: Value, needle: &str| {
            let error = EventQuery::parse(&body).expect_err("refused").0;
            assert!(error.contains(needle), "{error}");
        };
        refuse(json!({"start_time": "2026-01-01T00:00:00Z"}), "service");
        refuse(json!({"service": ["directory"]}), "start_time");
        refuse(
            json!({"service": ["payroll"], "start_time": "2026-01-01T00:00:00Z"}),
            "payroll",
        );
        refuse(
            json!({"service": ["all"], "start_time": "yesterday"}),
            "RFC 3339",
        );
        refuse(
            json!({"service": ["all"], "start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"}),
            "end_time",
        );
        refuse(
            json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z", "limit": 0}),
            "limit",
        );
        refuse(
            json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z", "sort": "up"}),
            "sort",
        );
        refuse(
            json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z", "q": "x"}),
            "\"q\"",
        );
        refuse(
            json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z", "search_term": {"or": []}}),
            "\"and\" only",
        );
        refuse(
            json!({"service": ["all"], "start_time": "2026-01-01T00:00:00Z", "search_term": {"and": [{"client_ip": "1"}]}}),
            "client_ip",
        );
    }

    #[test]
    fn a_query_reads_window_order_page_and_exact_matches() {
        let query = EventQuery::parse(&json!({
            "service": ["directory"],
            "start_time": "2026-01-01T00:00:00+01:00",
            "sort": "ASC",
            "limit": 5,
            "skip": 10,
            "fields": ["event_type"],
            "search_term": {"and": [{"event_type": ["user_create", "user_delete"]}, {"resource.id": "u1"}]}
        }))
        .expect("valid");
        assert!(query.matches_directory);
        assert!(!query.search.newest_first);
        assert_eq!(query.search.start.to_rfc3339(), "2025-12-31T23:00:00+00:00");
        assert_eq!((query.search.skip, query.search.limit), (10, 5));
        assert_eq!(query.search.event_types, ["user_create", "user_delete"]);
        assert_eq!(query.search.resource_ids, ["u1"]);
        let projected = query.project(json!({"event_type": "x", "id": "y"}));
        assert_eq!(projected, json!({"event_type": "x"}));
        let ldap =
            EventQuery::parse(&json!({"service": ["ldap"], "start_time": "2026-01-01T00:00:00Z"}))
                .expect("valid");
        assert!(!ldap.matches_directory);
        assert!(ldap.search.newest_first, "DESC by default");
    }
}
