//! SCIM error responses (RFC 7644 §3.12): `status` as a string, an optional `scimType` and a
//! `detail` that says what to change.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::CONTENT_TYPE;
use crate::service::ServiceError;
use crate::service::scim_tokens::TokenRejected;
use crate::store::scim_query::QueryError;
use crate::store::{StoreError, UniqueField};

/// A refused or failed SCIM request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {scim_type:?}: {detail}")]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidSyntax", detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidFilter", detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidPath", detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request("noTarget", detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request("mutability", detail)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no {kind} has id {id:?}"),
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "the resource has changed since the version in If-Match; read it again and retry",
        )
    }

    fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error.message = %error, "SCIM request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the server failed to handle the request; see its log",
        )
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        let mut response = HttpResponse::build(self.status);
        response.content_type(CONTENT_TYPE);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"roster-scim\""));
        }
        response.body(body.to_string())
    }
}

impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<ServiceError> for ScimError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Lifecycle(error) => Self::invalid_value(error.to_string()),
            ServiceError::InvalidField(error) => Self::invalid_value(error.to_string()),
            ServiceError::UserNotFound(id) => Self::not_found("User", &id.to_string()),
            // SCIM requests never touch schedules; the admin API reports these.
            ServiceError::Schedule(error) => Self::invalid_value(error.to_string()),
            ServiceError::ScheduleNotFound(id) => {
                Self::invalid_value(format!("no scheduled state change has id {id}"))
            }
            ServiceError::NotAllowed(reason) => Self::new(StatusCode::FORBIDDEN, None, reason),
            ServiceError::Duplicate(field) => {
                let attribute = match field {
                    UniqueField::UserName => "userName",
                    UniqueField::EmployeeIdentifier => "employeeNumber",
                    UniqueField::GroupName => "displayName",
                    other => other.api_name(),
                };
                Self::new(
                    StatusCode::CONFLICT,
                    Some("uniqueness"),
                    format!("another resource already has this {attribute}"),
                )
            }
            ServiceError::Conflict => Self::precondition_failed(),
            ServiceError::Store(StoreError::UnknownReference(_)) => {
                Self::invalid_value("a referenced user or group does not exist")
            }
            ServiceError::Store(StoreError::Unavailable(reason)) => {
                tracing::warn!(error.message = %reason, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "the database is unavailable; retry later",
                )
            }
            ServiceError::Store(other) => Self::internal(&other),
        }
    }
}

impl From<QueryError> for ScimError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::InvalidFilter(detail) => Self::invalid_filter(detail),
            QueryError::InvalidSort(detail) => Self::invalid_value(detail),
            QueryError::Store(error) => error.into(),
        }
    }
}

impl From<TokenRejected> for ScimError {
    fn from(error: TokenRejected) -> Self {
        match error {
            TokenRejected::Store(error) => error.into(),
            rejected => Self::unauthorized(rejected.to_string()),
        }
    }
}
