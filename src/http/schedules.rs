//! Scheduled state changes in JumpCloud's v2 shapes: `/api/v2/bulk/userstates`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::admin_auth::AdminCaller;
use super::api_error::ApiError;
use super::schedule_query::{self, user_id};
use crate::domain::schedule::{Schedule, ScheduleRequest};
use crate::domain::{LifecycleState, ScheduleId, UserId};
use crate::service::schedules::{self, MAX_NEXT_EVENT_USERS};

const COLLECTION: &str = "/api/v2/bulk/userstates";

/// Registers the routes of this module.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource(COLLECTION)
                .route(web::post().to(create))
                .route(web::get().to(list))
                .route(web::put().to(not_editable))
                .route(web::patch().to(not_editable)),
        )
        .service(web::resource(format!("{COLLECTION}/eventlist/next")).route(web::get().to(next)))
        .service(
            web::resource(format!("{COLLECTION}/{{id}}"))
                .route(web::delete().to(delete))
                .route(web::put().to(not_editable))
                .route(web::patch().to(not_editable)),
        );
}

/// The create body (`bulk-scheduled-statechange-create`).
#[derive(Debug, Deserialize)]
struct CreateBody {
    user_ids: Vec<String>,
    state: String,
    start_date: String,
    #[serde(default)]
    send_activation_emails: Option<bool>,
    #[serde(default)]
    activation_email_override: Option<String>,
}

/// One scheduled change (`scheduled-userstate-result`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduledResult {
    /// When the change really runs, in UTC.
    scheduled_date: String,
    scheduled_job_id: String,
    state: LifecycleState,
    system_user_id: String,
}

impl From<&Schedule> for ScheduledResult {
    fn from(schedule: &Schedule) -> Self {
        Self {
            scheduled_date: utc_text(schedule.run_at),
            scheduled_job_id: schedule.id.to_string(),
            state: schedule.target,
            system_user_id: schedule.user_id.to_string(),
        }
    }
}

fn utc_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn results(schedules: &[Schedule]) -> Vec<ScheduledResult> {
    schedules.iter().map(ScheduledResult::from).collect()
}

async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("invalid request body: {error}")))?;
    let user_ids = body
        .user_ids
        .iter()
        .enumerate()
        .map(|(index, text)| user_id(&format!("user_ids[{index}]"), text))
        .collect::<Result<Vec<_>, _>>()?;
    let target = body
        .state
        .parse::<LifecycleState>()
        .map_err(|error| ApiError::bad_request(format!("state: {error}")))?;
    let request = ScheduleRequest {
        user_ids,
        target,
        start_date: body.start_date,
        send_activation_emails: body.send_activation_emails,
        activation_email_override: body.activation_email_override,
    };
    let actor = caller.actor();
    let created = state
        .store
        .run(move |conn| schedules::create_schedules(conn, request, &actor, Utc::now()))
        .await?;
    Ok(HttpResponse::Created().json(results(&created)))
}

/// `limit` and `skip` of a list request: limit 1–100, 10 when absent, as in JumpCloud's v2 API.
fn paging(query: &[(String, String)]) -> Result<(i64, i64), ApiError> {
    let number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| match query
        .iter()
        .rev()
        .find(|(key, _)| key == name)
    {
        None => Ok(default),
        Some((_, text)) => text
            .parse::<i64>()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name}: {text:?} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))
            }),
    };
    Ok((
        number("limit", 10, 1..=100)?,
        number("skip", 0, 0..=i64::MAX)?,
    ))
}

fn query_pairs(request: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    web::Query::<Vec<(String, String)>>::from_query(request.query_string())
        .map(web::Query::into_inner)
        .map_err(|error| ApiError::bad_request(format!("invalid query string: {error}")))
}

async fn list(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&request)?;
    let (limit, skip) = paging(&query)?;
    let conditions = schedule_query::conditions(&query)?;
    let listed = state
        .store
        .run(move |conn| schedules::list_schedules(conn, &conditions, skip, limit))
        .await?;
    Ok(HttpResponse::Ok().json(results(&listed)))
}

#[derive(Debug, Serialize)]
struct NextEvents {
    events_count: usize,
    results: Vec<ScheduledResult>,
}

async fn next(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&request)?;
    let (limit, skip) = paging(&query)?;
    // `users=a,b` as JumpCloud documents it; `users=a&users=b` is accepted too.
    let mut users: Vec<UserId> = Vec::new();
    for (_, value) in query.iter().filter(|(key, _)| key == "users") {
        for text in value.split(',').filter(|t| !t.trim().is_empty()) {
            let id = user_id("users", text)?;
            if !users.contains(&id) {
                users.push(id);
            }
        }
    }
    if users.is_empty() {
        return Err(ApiError::bad_request(
            "users is required: a comma-separated list of up to 100 user ids",
        ));
    }
    if users.len() > MAX_NEXT_EVENT_USERS {
        return Err(ApiError::bad_request(format!(
            "users: at most {MAX_NEXT_EVENT_USERS} user ids are allowed, got {}",
            users.len()
        )));
    }
    let events = state
        .store
        .run(move |conn| schedules::next_events(conn, &users))
        .await?;
    let page: Vec<ScheduledResult> = events
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(ScheduledResult::from)
        .collect();
    Ok(HttpResponse::Ok().json(NextEvents {
        events_count: events.len(),
        results: page,
    }))
}

async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = path.into_inner();
    let not_found = || ApiError::not_found(format!("no scheduled state change has id {text}"));
    let id: ScheduleId = text.parse().map_err(|_| not_found())?;
    let actor = caller.actor();
    state
        .store
        .run(move |conn| schedules::delete_schedule(conn, id, &actor, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Schedules are never edited, as in JumpCloud: the caller deletes and recreates.
async fn not_editable(_caller: AdminCaller) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "scheduled state changes cannot be edited: delete the schedule \
         (DELETE /api/v2/bulk/userstates/{id}) and create a new one",
    ))
}
