//! `POST /insights/directory/v1/events`: the audit trail queried as JumpCloud's Directory
//! Insights API answers, so existing reporting scripts run against Roster unchanged.

use actix_web::{HttpResponse, web};
use serde_json::Value;

use crate::domain::directory_insights::{EventQuery, render};
use crate::http::AppState;
use crate::http::admin_auth::AdminCaller;
use crate::http::api_error::ApiError;
use crate::store::{audit, organization};

/// Answers a JSON array of events, newest first unless the query says `"sort": "ASC"`.
pub async fn events(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let query = EventQuery::parse(&body).map_err(|error| ApiError::bad_request(error.0))?;
    if !query.matches_directory {
        return Ok(HttpResponse::Ok().json(Vec::<Value>::new()));
    }
    let search = query.search.clone();
    let (organization, events) = state
        .store
        .run(move |conn| {
            let organization = organization::get(conn)?;
            Ok::<_, crate::store::StoreError>((organization, audit::search(conn, &search)?))
        })
        .await?;
    let rendered: Vec<Value> = events
        .iter()
        .map(|event| query.project(render(event, &organization.id)))
        .collect();
    Ok(HttpResponse::Ok().json(rendered))
}
