//! Errors of the admin API, as JSON bodies `{"message": …, "error": …}` with the HTTP status
//! that fits. Internal failures are logged in full and answered opaquely.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A short machine-readable code: `invalid_request`, `not_found`, `unauthorized`, ...
    pub code: &'static str,
    /// What is wrong, in words a caller can act on.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A failure the caller cannot fix: logged with its cause chain, answered without details.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error.message = %error, error.cause_chain = ?error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to handle the request; the error is in its log",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({
            "message": self.message,
            "error": self.code,
        }))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// Every service error gets its status here, with no catch-all arm: a new kind of error does
/// not compile until someone decides how the API reports it.
impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match &error {
            ServiceError::Lifecycle(_)
            | ServiceError::InvalidField(_)
            | ServiceError::Schedule(_) => Self::bad_request(error.to_string()),
            ServiceError::UserNotFound(_) | ServiceError::ScheduleNotFound(_) => {
                Self::not_found(error.to_string())
            }
            ServiceError::NotAllowed(_) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            ServiceError::Duplicate(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            ServiceError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "concurrent_modification",
                error.to_string(),
            ),
            ServiceError::Store(StoreError::UnknownReference(_)) => {
                Self::bad_request("a referenced user or group does not exist")
            }
            ServiceError::Store(StoreError::Unavailable(_)) => {
                tracing::error!(error.message = %error, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again later",
                )
            }
            ServiceError::Store(_) => Self::internal(&error),
        }
    }
}
