//! JumpCloud v2 user groups for the admin API: `/api/v2/usergroups` and their members. A
//! membership change queues provisioning for the users it affects, in the same transaction.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_auth::AdminCaller;
use super::api_error::ApiError;
use super::resources::{AssociationOp, parse_body, parse_id};
use crate::domain::{Group, GroupId, GroupName, UserId};
use crate::service::groups::{create_group, delete_group, update_group};
use crate::store::{groups, users};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/api/v2/usergroups", web::get().to(list))
        .route("/api/v2/usergroups", web::post().to(create))
        .route("/api/v2/usergroups/{id}", web::get().to(get))
        .route("/api/v2/usergroups/{id}", web::delete().to(delete))
        .route("/api/v2/usergroups/{id}/members", web::get().to(members))
        .route(
            "/api/v2/usergroups/{id}/members",
            web::post().to(change_members),
        );
}

fn group_json(group: &Group) -> Value {
    json!({
        "id": group.id.to_string(),
        "name": group.display_name.as_str(),
        "description": group.description,
        "type": "user_group",
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
    description: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewGroup = parse_body(&body)?;
    let name = GroupName::parse(&new.name)
        .map_err(|e| ApiError::bad_request(format!("name: {}", e.reason)))?;
    let now = Utc::now();
    let mut group = Group::new(name, now);
    group.description = new.description;
    let actor = caller.actor();
    let group = state
        .store
        .run(move |conn| create_group(conn, group, &[], &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(group_json(&group)))
}

async fn list(state: web::Data<AppState>, _caller: AdminCaller) -> Result<HttpResponse, ApiError> {
    let all = state
        .store
        .run(|conn| groups::list(conn, 0, 10_000))
        .await?;
    Ok(HttpResponse::Ok().json(all.iter().map(group_json).collect::<Vec<_>>()))
}

async fn find(state: &AppState, id: &str) -> Result<Group, ApiError> {
    let id: GroupId = parse_id(id, "user group")?;
    state
        .store
        .run(move |conn| groups::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user group has id {id}")))
}

async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(group_json(&find(&state, &id).await?)))
}

async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = find(&state, &id).await?;
    let actor = caller.actor();
    state
        .store
        .run(move |conn| delete_group(conn, group.id, None, &actor, Utc::now()))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user group has id {}", group.id)))?;
    Ok(HttpResponse::NoContent().finish())
}

async fn members(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let group = find(&state, &id).await?;
    let ids = state
        .store
        .run(move |conn| groups::members(conn, group.id))
        .await?;
    let body: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({ "attributes": null, "to": { "attributes": null, "id": id.to_string(), "type": "user" } }))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

async fn change_members(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let group = find(&state, &id).await?;
    let request: AssociationOp = parse_body(&body)?;
    if request.kind != "user" {
        return Err(ApiError::bad_request(format!(
            "type must be user, not {:?}",
            request.kind
        )));
    }
    let add = match request.op.as_str() {
        "add" => true,
        "remove" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "op must be add or remove, not {other:?}"
            )));
        }
    };
    let user: UserId = request
        .id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("id {:?} is not a user id", request.id)))?;
    if state
        .store
        .run(move |conn| users::find(conn, user))
        .await?
        .is_none()
    {
        return Err(ApiError::bad_request(format!("no user has id {user}")));
    }
    let actor = caller.actor();
    state
        .store
        .run(move |conn| {
            update_group(conn, group.id, None, &actor, Utc::now(), |_, members| {
                if add {
                    members.insert(user);
                } else {
                    members.remove(&user);
                }
                Ok(())
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user group has id {}", group.id)))?;
    Ok(HttpResponse::NoContent().finish())
}
