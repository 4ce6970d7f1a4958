//! The query string of `GET /api/systemusers`: `limit`, `skip`, `sort`, `fields`, `filter`,
//! `search` and `state`, checked and turned into a store query.

use crate::domain::LifecycleState;
use crate::http::api_error::ApiError;
use crate::store::user_queries::{Condition, FilterOp, UserField, UserQuery};

pub const DEFAULT_LIMIT: i64 = 10;
/// JumpCloud's own ceiling for one page.
pub const MAX_LIMIT: i64 = 100;

/// A parsed list request: the store query and the fields to return (all when `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    pub query: UserQuery,
    pub fields: Option<Vec<String>>,
}

fn number(name: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!("{name} must be a whole number from {min} to {max}"))
        })
}

fn field(parameter: &str, name: &str) -> Result<UserField, ApiError> {
    UserField::from_api_name(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{parameter}: unknown or unsupported field {name:?}"
        ))
    })
}

fn state(value: &str) -> Result<LifecycleState, ApiError> {
    value
        .parse()
        .map_err(|e| ApiError::bad_request(format!("state: {e}")))
}

/// `field:op:value`, as JumpCloud writes filters; `in` takes values separated by `|`.
fn filter(text: &str) -> Result<Condition, ApiError> {
    let mut parts = text.splitn(3, ':');
    let (Some(name), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::bad_request(format!(
            "filter {text:?} must have the form field:operator:value"
        )));
    };
    let op = match op {
        "eq" => FilterOp::Eq,
        "ne" => FilterOp::Ne,
        "gt" => FilterOp::Gt,
        "ge" => FilterOp::Ge,
        "lt" => FilterOp::Lt,
        "le" => FilterOp::Le,
        "in" => FilterOp::In,
        "search" => FilterOp::Search,
        other => {
            return Err(ApiError::bad_request(format!(
                "filter: unknown operator {other:?}: expected eq, ne, gt, ge, lt, le, in or search"
            )));
        }
    };
    // `suspended` is the legacy view of the state.
    if name == "suspended" {
        let suspended = match value {
            "true" => true,
            "false" => false,
            _ => {
                return Err(ApiError::bad_request(
                    "filter: suspended takes true or false",
                ));
            }
        };
        let op = match (op, suspended) {
            (FilterOp::Eq, true) | (FilterOp::Ne, false) => FilterOp::Eq,
            (FilterOp::Eq, false) | (FilterOp::Ne, true) => FilterOp::Ne,
            _ => {
                return Err(ApiError::bad_request(
                    "filter: suspended takes only eq or ne",
                ));
            }
        };
        return Ok(Condition {
            field: UserField::State,
            op,
            values: vec![LifecycleState::Suspended.as_str().into()],
        });
    }
    let field = field("filter", name)?;
    let values: Vec<String> = if op == FilterOp::In {
        value.split('|').map(str::to_owned).collect()
    } else {
        vec![value.to_owned()]
    };
    if field == UserField::State {
        for value in &values {
            state(value)?;
        }
    }
    Ok(Condition { field, op, values })
}

/// Reads the query pairs; unknown parameters are refused by name.
pub fn parse(pairs: &[(String, String)]) -> Result<ListRequest, ApiError> {
    let mut query = UserQuery {
        limit: DEFAULT_LIMIT,
        ..UserQuery::default()
    };
    let mut fields = None;
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => query.limit = number("limit", value, 1, MAX_LIMIT)?,
            "skip" => query.skip = number("skip", value, 0, i64::from(i32::MAX))?,
            "sort" => {
                for key in value.split_whitespace() {
                    let (name, descending) = match key.strip_prefix('-') {
                        Some(name) => (name, true),
                        None => (key, false),
                    };
                    query.sort.push((field("sort", name)?, descending));
                }
            }
            "fields" => {
                let names: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
                for name in &names {
                    if !super::body::RETURNED_FIELDS.contains(&name.as_str()) {
                        return Err(ApiError::bad_request(format!(
                            "fields: unknown field {name:?}"
                        )));
                    }
                }
                fields = Some(names);
            }
            "filter" => {
                for part in value.split(',').filter(|p| !p.is_empty()) {
                    query.conditions.push(filter(part)?);
                }
            }
            "search" => query.search = Some(value.clone()).filter(|v| !v.is_empty()),
            "state" => query.conditions.push(Condition {
                field: UserField::State,
                op: FilterOp::Eq,
                values: vec![state(value)?.as_str().into()],
            }),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {other:?}: expected limit, skip, sort, fields, \
                     filter, search or state"
                )));
            }
        }
    }
    Ok(ListRequest { query, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_ten_from_the_start() {
        let request = parse(&[]).expect("empty query");
        assert_eq!((request.query.limit, request.query.skip), (10, 0));
    }

    #[test]
    fn sort_is_space_separated_with_minus_for_descending() {
        let request = parse(&pairs(&[("sort", "-lastname username")])).expect("valid");
        assert_eq!(
            request.query.sort,
            vec![(UserField::LastName, true), (UserField::Username, false)]
        );
    }

    #[test]
    fn filters_and_the_state_parameter_become_conditions() {
        let request = parse(&pairs(&[
            ("filter", "department:eq:R&D"),
            ("filter", "email:in:a@x.io|b@x.io"),
            ("state", "STAGED"),
        ]))
        .expect("valid");
        assert_eq!(request.query.conditions.len(), 3);
        assert_eq!(request.query.conditions[1].values.len(), 2);
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (query, named) in [
            (("limit", "1000"), "limit"),
            (("skip", "-1"), "skip"),
            (("sort", "shoe_size"), "shoe_size"),
            (("filter", "username:like:x"), "like"),
            (("state", "ACTIVE"), "state"),
            (("colour", "red"), "colour"),
        ] {
            let error = parse(&pairs(&[query])).expect_err("refused");
            assert!(error.message.contains(named), "{}", error.message);
        }
    }
}
