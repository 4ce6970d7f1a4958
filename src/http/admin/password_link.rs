//! Self-service password endpoints, with no API key: `POST /api/password/set` with
//! `{"token", "password"}` (the one-time token of an activation or reset email is the
//! credential) and `POST /api/password/reset-request` with `{"username"}`. A suspended user is
//! refused with 403 by both.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{AdminSettings, blocking};
use crate::domain::User;
use crate::http::AppState;
use crate::http::api_error::ApiError;
use crate::service::passwords::{hash_password, request_password_reset, set_password_with_token};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    token: String,
    password: String,
}

pub async fn set(
    state: web::Data<AppState>,
    settings: web::Data<AdminSettings>,
    body: web::Json<SetPassword>,
) -> Result<HttpResponse, ApiError> {
    let SetPassword { token, password } = body.into_inner();
    let user = set_with_token(&state, &settings, token, password).await?;
    Ok(HttpResponse::Ok().json(json!({ "_id": user.id.to_string(), "activated": true })))
}

/// Checks the password against the policy and sets it with a one-time token: the JSON
/// endpoint and the set-password page both come here.
pub(super) async fn set_with_token(
    state: &AppState,
    settings: &AdminSettings,
    token: String,
    password: String,
) -> Result<User, ApiError> {
    let policy = settings.password_policy.clone();
    let hash = blocking(move || hash_password(&policy, &password)).await?;
    Ok(state
        .store
        .run(move |conn| set_password_with_token(conn, &token, hash, Utc::now()))
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    username: String,
}

/// Answers 202 whether or not the user exists or a message goes out, so the answer tells a
/// stranger nothing; only a suspended account gets its 403.
pub async fn reset_request(
    state: web::Data<AppState>,
    body: web::Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let username = body.into_inner().username;
    state
        .store
        .run(move |conn| request_password_reset(conn, &username, Utc::now()))
        .await?;
    Ok(HttpResponse::Accepted().json(json!({
        "message": "if the account exists and is active, a reset link is on its way"
    })))
}
