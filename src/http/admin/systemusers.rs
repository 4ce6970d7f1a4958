//! `/api/systemusers`: list, create, get, `PUT` and delete, in JumpCloud's v1 shapes.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::{self, Purpose, UserBody, project, user_json};
use super::{AdminSettings, blocking, list_query, user_id};
use crate::domain::{CreationMethod, LifecycleState, User};
use crate::http::AppState;
use crate::http::admin_auth::AdminCaller;
use crate::http::api_error::ApiError;
use crate::service::admin_users::{self, FieldEdit, NewPassword, UserUpdate};
use crate::service::passwords::hash_password;
use crate::service::users::{ManagerCascade, NewUser};
use crate::store::{user_queries, users};

pub async fn list(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let request = list_query::parse(&query)?;
    let query = request.query.clone();
    let (users, total) = state
        .store
        .run(move |conn| user_queries::list(conn, &query))
        .await?;
    let results: Vec<Value> = users
        .iter()
        .map(|user| project(user_json(user), request.fields.as_deref()))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "totalCount": total, "results": results })))
}

pub async fn get(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let user = state.store.run(move |conn| users::find(conn, id)).await?;
    let user = user.ok_or_else(|| ApiError::not_found(format!("no user has id {id}")))?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

/// Hashes the body's password, if any, off the async runtime.
async fn new_password(
    settings: &AdminSettings,
    body: &mut UserBody,
) -> Result<Option<NewPassword>, ApiError> {
    let Some(clear) = body.password.take() else {
        if let Some(expired) = body.password_expired {
            body.edits.push(FieldEdit::PasswordExpired(expired));
        }
        return Ok(None);
    };
    let policy = settings.password_policy.clone();
    let hash = blocking(move || hash_password(&policy, &clear)).await?;
    Ok(Some(NewPassword {
        hash,
        expired: body.password_expired.unwrap_or(false),
    }))
}

pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    settings: web::Data<AdminSettings>,
    json: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body::parse(&json, Purpose::Create, None)?;
    let password = new_password(&settings, &mut body).await?;
    let (Some(username), Some(email)) = (body.username.take(), body.email.take()) else {
        return Err(ApiError::bad_request("username and email are required"));
    };
    let requested_state = body
        .state
        .or((body.suspended == Some(true)).then_some(LifecycleState::Suspended));
    let actor = caller.actor();
    let now = Utc::now();
    let new = NewUser {
        user: User::new(
            username,
            email,
            LifecycleState::Activated,
            actor.source.clone(),
            "admin".into(),
            now,
        ),
        requested_state,
        method: CreationMethod::AdminApi,
    };
    let edits = body.edits;
    let user = state
        .store
        .run(move |conn| admin_users::create(conn, new, &edits, password, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    settings: web::Data<AdminSettings>,
    path: web::Path<String>,
    json: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let mut body = body::parse(&json, Purpose::Update, Some(path.as_str()))?;
    let password = new_password(&settings, &mut body).await?;
    body.edits
        .extend(body.username.take().map(FieldEdit::Username));
    body.edits.extend(body.email.take().map(FieldEdit::Email));
    let update = UserUpdate {
        state: body
            .state
            .or((body.suspended == Some(true)).then_some(LifecycleState::Suspended)),
        lift_suspension: body.state.is_none() && body.suspended == Some(false),
        edits: body.edits,
        password,
    };
    let actor = caller.actor();
    let user = state
        .store
        .run(move |conn| admin_users::update(conn, id, update, &actor, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    cascade_manager: Option<String>,
}

pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DeleteQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let cascade = match query.cascade_manager.as_deref() {
        None | Some("null") | Some("") => ManagerCascade::Clear,
        Some(manager) => ManagerCascade::Repoint(manager.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "cascade_manager: {manager:?} is neither null nor a user id"
            ))
        })?),
    };
    let actor = caller.actor();
    let user = state
        .store
        .run(move |conn| admin_users::delete(conn, id, cascade, &actor, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}
