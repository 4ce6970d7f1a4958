//! Reading a SCIM request body: JSON media types only, bounded in size, parsed with an error
//! that says where the JSON is broken.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde_json::Value;

use super::{ScimError, limits};

/// The body as JSON. `application/scim+json` and `application/json` are accepted (Okta posts
/// the latter); a body over the limit is refused with 413 before it is all read.
pub async fn read_json(request: &HttpRequest, payload: web::Payload) -> Result<Value, ScimError> {
    let limit = limits(request).max_body_bytes;
    if let Some(content_type) = request.headers().get(actix_web::http::header::CONTENT_TYPE) {
        let content_type = content_type
            .to_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence != "application/scim+json" && essence != "application/json" {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("invalidSyntax"),
                format!(
                    "Content-Type {essence:?} is not accepted; send application/scim+json or application/json"
                ),
            ));
        }
    }
    let too_large = || {
        ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("invalidValue"),
            format!(
                "the request body is larger than {limit} bytes; send fewer attributes or members per request"
            ),
        )
    };
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let body = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| too_large())?
        .map_err(|error| {
            ScimError::invalid_syntax(format!("the request body could not be read: {error}"))
        })?;
    if body.is_empty() {
        return Err(ScimError::invalid_syntax(
            "the request has no body; send a JSON object",
        ));
    }
    let value: Value = serde_json::from_slice(&body).map_err(|error| {
        ScimError::invalid_syntax(format!("the body is not valid JSON: {error}"))
    })?;
    if !value.is_object() {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    }
    Ok(value)
}
