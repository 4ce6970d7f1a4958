//! `POST /api/systemusers/bulk-delete` with `{"user_ids": [...], "expected_count": N}`: the
//! caller states how many users it deletes, so a script with a wrong list deletes nothing.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::domain::UserId;
use crate::http::AppState;
use crate::http::admin_auth::AdminCaller;
use crate::http::api_error::ApiError;
use crate::service::admin_users::delete_many;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    user_ids: Vec<String>,
    expected_count: usize,
}

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<BulkDelete>,
) -> Result<HttpResponse, ApiError> {
    let ids = body
        .user_ids
        .iter()
        .map(|raw| {
            raw.parse::<UserId>()
                .map_err(|_| ApiError::bad_request(format!("user_ids: {raw:?} is not a user id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expected = body.expected_count;
    let actor = caller.actor();
    let deleted = state
        .store
        .run(move |conn| delete_many(conn, &ids, expected, &actor, Utc::now()))
        .await?;
    let ids: Vec<String> = deleted.iter().map(|u| u.id.to_string()).collect();
    Ok(HttpResponse::Ok().json(json!({ "deleted_count": ids.len(), "deleted": ids })))
}
