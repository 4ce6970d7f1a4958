//! The four requests the connector makes (`GET` by `userName`, `POST`, `PATCH`, `DELETE`
//! of `/Users`), each with the answers it treats as success.

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::ScimTarget;
use super::failure::{ScimFailure, classify};
use super::mapping::{ScimAccount, user_name_filter, user_resource};
use crate::FailureKind;

const MEDIA_TYPE: &str = "application/scim+json";

/// An answer: status, `Retry-After` and body.
struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn failure(&self, operation: &str) -> ScimFailure {
        classify(
            operation,
            self.status.as_u16(),
            self.retry_after.as_deref(),
            &self.body,
            chrono::Utc::now(),
        )
    }
}

/// The outcome of a PATCH of a linked account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Patched {
    Done,
    /// 404: the app has no account with that id (any more).
    NotFound,
}

/// A remote id as the app wrote it: SCIM ids are strings, a few apps send numbers.
fn id_of(resource: &Value) -> Option<String> {
    match resource.get("id")? {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

impl ScimTarget {
    fn user_url(&self, id: &str) -> Url {
        let mut url = self.users.clone();
        // Escaped as a path segment: an id is the app's text, not a path.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(id);
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        operation: &str,
    ) -> Result<Reply, ScimFailure> {
        tracing::debug!(operation, "SCIM request");
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::ACCEPT, MEDIA_TYPE);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
                .body(body.to_string());
        }
        let unreachable = |error: reqwest::Error| {
            ScimFailure::new(
                FailureKind::Transient,
                format!("{operation} did not get an answer: {error}"),
            )
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.map_err(unreachable)?;
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }

    /// The id of the account whose `userName` is `user_name`, if the app has one.
    pub(super) async fn find(&self, user_name: &str) -> Result<Option<String>, ScimFailure> {
        let operation = "GET /Users?filter=userName eq …";
        let mut url = self.users.clone();
        url.query_pairs_mut()
            .append_pair("filter", &user_name_filter(user_name))
            .append_pair("startIndex", "1")
            .append_pair("count", "2");
        let reply = self.send(Method::GET, url, None, operation).await?;
        if !reply.status.is_success() {
            return Err(reply.failure(operation));
        }
        let list = reply.json();
        let Some(found) = list.get("Resources").and_then(Value::as_array) else {
            // An empty ListResponse may leave `Resources` out (RFC 7644 §3.4.2).
            return Ok(None);
        };
        // userName is case-insensitive in SCIM; a filter that matched loosely is narrowed
        // here, and two accounts for one name is something an admin must sort out.
        let matching: Vec<&Value> = found
            .iter()
            .filter(|user| {
                user.get("userName")
                    .and_then(Value::as_str)
                    .is_none_or(|name| name.eq_ignore_ascii_case(user_name))
            })
            .collect();
        match matching.as_slice() {
            [] => Ok(None),
            [user] => id_of(user).map(Some).ok_or_else(|| {
                ScimFailure::new(
                    FailureKind::Permanent,
                    format!("{operation} answered a user without an id"),
                )
            }),
            _ => Err(ScimFailure::new(
                FailureKind::Permanent,
                format!(
                    "the app has several users with userName {user_name:?}; link one by hand or remove the others"
                ),
            )),
        }
    }

    /// Creates the account; `None` when the app answers 409 (it exists already).
    pub(super) async fn create(
        &self,
        account: &ScimAccount,
    ) -> Result<Option<String>, ScimFailure> {
        let operation = "POST /Users";
        let body = user_resource(account, true);
        let reply = self
            .send(Method::POST, self.users.clone(), Some(&body), operation)
            .await?;
        if reply.status == StatusCode::CONFLICT {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(reply.failure(operation));
        }
        id_of(&reply.json()).map(Some).ok_or_else(|| {
            ScimFailure::new(
                FailureKind::Permanent,
                format!(
                    "{operation} answered {} without the new user's id",
                    reply.status.as_u16()
                ),
            )
        })
    }

    pub(super) async fn patch(&self, id: &str, body: &Value) -> Result<Patched, ScimFailure> {
        let operation = format!("PATCH /Users/{id}");
        let reply = self
            .send(Method::PATCH, self.user_url(id), Some(body), &operation)
            .await?;
        match reply.status {
            status if status.is_success() => Ok(Patched::Done),
            StatusCode::NOT_FOUND => Ok(Patched::NotFound),
            _ => Err(reply.failure(&operation)),
        }
    }

    /// Deletes the account; one that is already gone counts as deleted.
    pub(super) async fn delete(&self, id: &str) -> Result<(), ScimFailure> {
        let operation = format!("DELETE /Users/{id}");
        let reply = self
            .send(Method::DELETE, self.user_url(id), None, &operation)
            .await?;
        match reply.status {
            status if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(reply.failure(&operation)),
        }
    }
}
