//! `POST /api/v2/bulk/users` and `GET /api/v2/bulk/users/{job_id}/results`: JumpCloud's bulk
//! user create.
//!
//! JumpCloud runs the job asynchronously and answers with its id at once. Roster does the work
//! inside the request (a thousand users at most) and records each item's outcome before it
//! answers, so the results are complete as soon as the client has the job id; a client that
//! polls them, as JumpCloud's scripts do, finds them finished on its first call.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::systemusers::create_from_body;
use super::{AdminSettings, json_config_with_limit};
use crate::domain::defaults::BulkCreationSource;
use crate::domain::ids::BulkJobId;
use crate::domain::{CreationMethod, User};
use crate::http::AppState;
use crate::http::admin_auth::AdminCaller;
use crate::http::api_error::ApiError;
use crate::store::bulk_jobs::{self, BulkJob, ItemResult, ItemStatus};

/// The most users one bulk create may carry.
pub const MAX_BULK_USERS: usize = 1000;

/// The header naming where the users come from; it picks the default state.
pub const CREATION_SOURCE_HEADER: &str = "creation-source";

/// A thousand users with long profiles fit.
const BULK_BODY_LIMIT: usize = 4 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v2/bulk/users")
            .app_data(json_config_with_limit(BULK_BODY_LIMIT))
            .route(web::post().to(create)),
    )
    .service(web::resource("/api/v2/bulk/users/{job_id}/results").route(web::get().to(results)));
}

/// The request's creation source: `None` without the header, a 400 naming the accepted values
/// for anything unknown.
fn creation_source(request: &HttpRequest) -> Result<Option<BulkCreationSource>, ApiError> {
    let Some(value) = request.headers().get(CREATION_SOURCE_HEADER) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("the creation-source header is not readable text"))?;
    text.parse()
        .map(Some)
        .map_err(|error| ApiError::bad_request(format!("{error}")))
}

fn source_name(source: Option<BulkCreationSource>) -> &'static str {
    match source {
        None | Some(BulkCreationSource::Bulk) => "jumpcloud:bulk",
        Some(BulkCreationSource::Gapps) => "jumpcloud:gapps",
        Some(BulkCreationSource::O365) => "jumpcloud:o365",
        Some(BulkCreationSource::Workday) => "jumpcloud:workday",
        Some(BulkCreationSource::Scim) => "jumpcloud:scim",
        Some(BulkCreationSource::CustomIntegration) => "jumpcloud:custom_integration",
    }
}

fn created(position: usize, item: &Value, user: &User) -> ItemResult {
    let now = Utc::now();
    ItemResult {
        id: BulkJobId::generate().to_string(),
        status: ItemStatus::Finished,
        status_msg: format!("created user {}", user.username.as_str()),
        meta: json!({ "index": position, "username": item.get("username") }),
        persisted_fields: json!({
            "id": user.id.to_string(),
            "username": user.username.as_str(),
            "email": user.email.as_str(),
            "state": user.state,
        }),
        created_at: now,
        updated_at: now,
    }
}

fn failed(position: usize, item: &Value, error: &ApiError) -> ItemResult {
    let now = Utc::now();
    ItemResult {
        id: BulkJobId::generate().to_string(),
        status: ItemStatus::Failed,
        status_msg: error.message.clone(),
        meta: json!({ "index": position, "username": item.get("username") }),
        persisted_fields: json!({}),
        created_at: now,
        updated_at: now,
    }
}

/// Creates each user on its own: one that fails (a duplicate, a bad field) does not stop the
/// others, and its result says why. A request that is wrong as a whole creates nobody.
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    settings: web::Data<AdminSettings>,
    request: HttpRequest,
    json: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let source = creation_source(&request)?;
    let Some(items) = json.as_array() else {
        return Err(ApiError::bad_request(
            "the body must be a JSON array of users",
        ));
    };
    if items.is_empty() || items.len() > MAX_BULK_USERS {
        return Err(ApiError::bad_request(format!(
            "the body must hold 1 to {MAX_BULK_USERS} users; it holds {}",
            items.len()
        )));
    }
    let method = CreationMethod::BulkApi(source);
    let source_name = source_name(source);
    let mut outcomes = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let outcome = create_from_body(
            &state,
            &settings,
            item,
            caller.actor(),
            method.clone(),
            source_name,
        )
        .await;
        outcomes.push(match outcome {
            Ok(user) => created(position, item, &user),
            Err(error) => failed(position, item, &error),
        });
    }
    let job = BulkJob {
        id: BulkJobId::generate(),
        creation_source: source_name.to_owned(),
        created_by: caller.key_name.clone(),
        created_at: Utc::now(),
    };
    let finished = outcomes
        .iter()
        .filter(|outcome| outcome.status == ItemStatus::Finished)
        .count();
    tracing::info!(
        bulk_job.id = %job.id,
        bulk_job.source = source_name,
        bulk_job.items = outcomes.len(),
        bulk_job.created = finished,
        "bulk user create finished"
    );
    let recorded = job.clone();
    state
        .store
        .run(move |conn| bulk_jobs::record(conn, &recorded, &outcomes))
        .await?;
    Ok(HttpResponse::Created().json(json!({ "jobId": job.id.to_string() })))
}

pub async fn results(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found(format!("no bulk job has id {path}"));
    let job: BulkJobId = path.parse().map_err(|_| not_found())?;
    let results = state
        .store
        .run(move |conn| bulk_jobs::results(conn, job))
        .await?
        .ok_or_else(not_found)?;
    let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let body: Vec<Value> = results
        .iter()
        .map(|result| {
            json!({
                "id": result.id,
                "createdAt": time(result.created_at),
                "updatedAt": time(result.updated_at),
                "status": result.status.as_str(),
                "statusMsg": result.status_msg,
                "meta": result.meta,
                "persistedFields": result.persisted_fields,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
