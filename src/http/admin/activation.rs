//! `POST /api/systemusers/{id}/state/activate` with `{"email": true|false|"address"}`.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::Value;

use super::body::user_json;
use super::user_id;
use crate::domain::Email;
use crate::domain::activation_email::EmailRequest;
use crate::http::AppState;
use crate::http::admin_auth::AdminCaller;
use crate::http::api_error::ApiError;
use crate::service::activation::activate as activate_user;

/// Reads the optional body: nothing, `{}`, or `{"email": …}`.
fn email_request(raw: &[u8]) -> Result<EmailRequest, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(EmailRequest::Default);
    }
    let body: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(map) = body else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    if let Some(other) = map.keys().find(|key| *key != "email") {
        return Err(ApiError::bad_request(format!(
            "{other}: is not a field of an activation; only email is"
        )));
    }
    match map.get("email") {
        None | Some(Value::Bool(true)) => Ok(EmailRequest::Default),
        Some(Value::Bool(false)) => Ok(EmailRequest::None),
        Some(Value::String(address)) => Email::parse("email", address)
            .map(EmailRequest::To)
            .map_err(|e| ApiError::bad_request(e.to_string())),
        Some(_) => Err(ApiError::bad_request(
            "email: must be true, false or an email address",
        )),
    }
}

pub async fn activate(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let request = email_request(&body)?;
    let actor = caller.actor();
    let activation = state
        .store
        .run(move |conn| activate_user(conn, id, &request, &actor, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&activation.change.user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_option_takes_jumpclouds_three_forms() {
        assert_eq!(email_request(b"").expect("empty"), EmailRequest::Default);
        assert_eq!(email_request(b"{}").expect("{}"), EmailRequest::Default);
        assert_eq!(
            email_request(br#"{"email":false}"#).expect("false"),
            EmailRequest::None
        );
        assert!(matches!(
            email_request(br#"{"email":"Ops@Corp.example"}"#).expect("address"),
            EmailRequest::To(address) if address.as_str() == "ops@corp.example"
        ));
        for bad in [
            &br#"{"email":3}"#[..],
            br#"{"mail":true}"#,
            b"[]",
            br#"{"email":"nope"}"#,
        ] {
            assert!(email_request(bad).is_err());
        }
    }
}
