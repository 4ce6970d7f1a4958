//! Sorting an app's answers into transient, permanent and target-wide failures.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::FailureKind;

/// The longest wait a `Retry-After` can impose; a larger one is cut to this, so that one
/// answer cannot hold a job back for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// How much of an error body goes into a message (parked jobs, logs).
const MAX_DETAIL_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScimFailure {
    pub kind: FailureKind,
    pub message: String,
    /// How long the app asked Roster to wait (`Retry-After` on 429 or 503).
    pub retry_after: Option<Duration>,
}

impl ScimFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The failure an unexpected HTTP answer stands for. `operation` says what was asked
/// (`POST /Users`), `body` is the answer's body as received.
pub fn classify(
    operation: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    now: DateTime<Utc>,
) -> ScimFailure {
    let detail = detail(body);
    let kind = match status {
        401 | 403 => FailureKind::TargetRefused,
        408 | 429 | 500..=599 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    };
    let message = match kind {
        FailureKind::TargetRefused => {
            format!("the app refused Roster's bearer token: {operation} answered {status}{detail}")
        }
        _ => format!("{operation} answered {status}{detail}"),
    };
    ScimFailure {
        kind,
        message,
        retry_after: retry_after.and_then(|value| parse_retry_after(value, now)),
    }
}

/// What the app said went wrong: the SCIM error's `detail` (and `scimType`), else the start of
/// the body. Empty when the body says nothing.
fn detail(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let said = match parsed.as_ref() {
        Some(error) if error.get("detail").is_some_and(Value::is_string) => {
            let detail = error["detail"].as_str().unwrap_or_default();
            match error.get("scimType").and_then(Value::as_str) {
                Some(scim_type) => format!("{detail} (scimType {scim_type})"),
                None => detail.to_owned(),
            }
        }
        _ => body.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    if said.is_empty() {
        return String::new();
    }
    let mut cut: String = said.chars().take(MAX_DETAIL_CHARS).collect();
    if cut.len() < said.len() {
        cut.push('…');
    }
    format!(": {cut}")
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&Utc) - now).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn kind(status: u16) -> FailureKind {
        classify("GET /Users", status, None, "", Utc::now()).kind
    }

    #[test]
    fn credentials_refused_pause_the_target() {
        assert_eq!(kind(401), FailureKind::TargetRefused);
        assert_eq!(kind(403), FailureKind::TargetRefused);
    }

    #[test]
    fn overload_and_server_errors_are_retried() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(kind(status), FailureKind::Transient, "{status}");
        }
    }

    #[test]
    fn refused_requests_are_parked() {
        for status in [301, 400, 404, 409, 412, 413, 422] {
            assert_eq!(kind(status), FailureKind::Permanent, "{status}");
        }
    }

    #[test]
    fn the_message_carries_the_scim_detail() {
        let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"emails[0].value is not an address"}"#;
        let failure = classify("POST /Users", 400, None, body, Utc::now());
        assert_eq!(
            failure.message,
            "POST /Users answered 400: emails[0].value is not an address (scimType invalidValue)"
        );
        let plain = classify(
            "POST /Users",
            502,
            None,
            "<h1>Bad\n gateway</h1>",
            Utc::now(),
        );
        assert_eq!(
            plain.message,
            "POST /Users answered 502: <h1>Bad gateway</h1>"
        );
        assert_eq!(
            classify("DELETE /Users/1", 500, None, "", Utc::now()).message,
            "DELETE /Users/1 answered 500"
        );
        let long = classify("POST /Users", 400, None, &"x".repeat(5000), Utc::now());
        assert!(long.message.chars().count() < 600, "{}", long.message);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let now = at("2026-12-04T10:00:00Z");
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        let limited = classify("POST /Users", 429, Some("2"), "", now);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(2)));
    }
}
