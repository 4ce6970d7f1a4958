//! The query string of `GET /api/v2/bulk/userstates`: `userid` and JumpCloud's v2 `filter`
//! (`field:operator:value`, repeatable, every filter must hold) over the fields of a
//! scheduled-userstate result, turned into store conditions.

use chrono::{DateTime, Utc};

use super::api_error::ApiError;
use crate::domain::{LifecycleState, ScheduleId, UserId};
use crate::store::schedules::{Comparison, ScheduleCondition};

const FIELDS: &str = "scheduledDate, scheduledJobId, state or systemUserId";

/// The conditions named by every `userid` and `filter` parameter of a list request.
pub fn conditions(query: &[(String, String)]) -> Result<Vec<ScheduleCondition>, ApiError> {
    let mut conditions = Vec::new();
    for (key, value) in query {
        match key.as_str() {
            "userid" => conditions.push(ScheduleCondition::UserIn(vec![user_id("userid", value)?])),
            "filter" => conditions.push(filter(value)?),
            _ => {}
        }
    }
    Ok(conditions)
}

pub fn user_id(field: &str, text: &str) -> Result<UserId, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{field}: {text:?} is not a user id")))
}

fn filter(text: &str) -> Result<ScheduleCondition, ApiError> {
    let mut parts = text.splitn(3, ':');
    let (Some(field), Some(operator), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::bad_request(format!(
            "filter {text:?} must have the form field:operator:value, with field one of {FIELDS}"
        )));
    };
    let unsupported = |supported: &str| {
        ApiError::bad_request(format!(
            "filter {text:?}: {field} takes the operators {supported}, not {operator:?}"
        ))
    };
    match field {
        "systemUserId" => match operator {
            "eq" => Ok(ScheduleCondition::UserIn(vec![user_id("filter", value)?])),
            "ne" => Ok(ScheduleCondition::UserIsNot(user_id("filter", value)?)),
            // JumpCloud separates the values of `in` with `|`.
            "in" => Ok(ScheduleCondition::UserIn(
                value
                    .split('|')
                    .map(|id| user_id("filter", id))
                    .collect::<Result<_, _>>()?,
            )),
            _ => Err(unsupported("eq, ne and in")),
        },
        "state" => {
            let state = value
                .parse::<LifecycleState>()
                .map_err(|error| ApiError::bad_request(format!("filter {text:?}: {error}")))?;
            match operator {
                "eq" => Ok(ScheduleCondition::TargetIs(state)),
                "ne" => Ok(ScheduleCondition::TargetIsNot(state)),
                _ => Err(unsupported("eq and ne")),
            }
        }
        "scheduledDate" => {
            let comparison = match operator {
                "eq" => Comparison::Equal,
                "lt" => Comparison::Before,
                "le" => Comparison::AtOrBefore,
                "gt" => Comparison::After,
                "ge" => Comparison::AtOrAfter,
                _ => return Err(unsupported("eq, lt, le, gt and ge")),
            };
            let time = DateTime::parse_from_rfc3339(value).map_err(|_| {
                ApiError::bad_request(format!(
                    "filter {text:?}: scheduledDate takes an RFC 3339 time with an offset, such as 2030-01-31T17:00:00Z"
                ))
            })?;
            Ok(ScheduleCondition::RunAt(
                comparison,
                time.with_timezone(&Utc),
            ))
        }
        "scheduledJobId" => match operator {
            "eq" => value
                .parse::<ScheduleId>()
                .map(ScheduleCondition::IdIs)
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "filter {text:?}: {value:?} is not a scheduled job id"
                    ))
                }),
            _ => Err(unsupported("eq")),
        },
        _ => Err(ApiError::bad_request(format!(
            "filter {text:?}: unknown field {field:?}; filter on {FIELDS}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn refusal(query: &[(&str, &str)]) -> String {
        conditions(&pairs(query)).expect_err("refused").to_string()
    }

    #[test]
    fn every_filter_and_userid_must_hold() {
        let ann = UserId::generate();
        let bob = UserId::generate();
        let in_list = format!("systemUserId:in:{ann}|{bob}");
        let parsed = conditions(&pairs(&[
            ("userid", &ann.to_string()),
            ("filter", "state:eq:SUSPENDED"),
            ("filter", "scheduledDate:ge:2030-01-31T18:00:00+01:00"),
            ("filter", &in_list),
            ("limit", "5"),
        ]))
        .expect("parsed");
        assert_eq!(
            parsed,
            vec![
                ScheduleCondition::UserIn(vec![ann]),
                ScheduleCondition::TargetIs(LifecycleState::Suspended),
                ScheduleCondition::RunAt(
                    Comparison::AtOrAfter,
                    "2030-01-31T17:00:00Z".parse().expect("time")
                ),
                ScheduleCondition::UserIn(vec![ann, bob]),
            ]
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(refusal(&[("filter", "state")]).contains("field:operator:value"));
        assert!(refusal(&[("filter", "color:eq:red")]).contains("unknown field \"color\""));
        assert!(refusal(&[("filter", "state:gt:SUSPENDED")]).contains("eq and ne"));
        assert!(refusal(&[("filter", "state:eq:ASLEEP")]).contains("ASLEEP"));
        assert!(refusal(&[("filter", "scheduledDate:gt:tomorrow")]).contains("RFC 3339"));
        assert!(refusal(&[("filter", "systemUserId:eq:nobody")]).contains("not a user id"));
        assert!(refusal(&[("filter", "scheduledJobId:eq:x")]).contains("not a scheduled job id"));
        assert!(refusal(&[("userid", "x")]).contains("userid"));
    }
}
