//! `POST /api/password/set` with `{"token", "password"}`: the page behind an activation email's
//! link. It needs no API key (the one-time token is the credential); a suspended user is
//! refused with 403.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{AdminSettings, blocking};
use crate::http::AppState;
use crate::http::api_error::ApiError;
use crate::service::passwords::{hash_password, set_password_with_token};

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
    let policy = settings.password_policy.clone();
    let hash = blocking(move || hash_password(&policy, &password)).await?;
    let user = state
        .store
        .run(move |conn| set_password_with_token(conn, &token, hash, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "_id": user.id.to_string(), "activated": true })))
}
