//! Admin API for resources (LDAP directories, SCIM apps and the other resource types), their
//! associations with users and user groups, and the provisioning jobs that failed for good.
//! Secrets are write-only: responses only say whether one is set.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_auth::AdminCaller;
use super::api_error::ApiError;
use crate::domain::provisioning::ResourceType;
use crate::domain::resource::{Connection, Resource, Secret};
use crate::domain::{GroupId, ResourceId, UserId};
use crate::service::provisioning::{enqueue_on_resource, wake};
use crate::store::resources::{self, Member};
use crate::store::{groups, outbox, users, write_transaction};

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/api/v2/resources", web::get().to(list))
        .route("/api/v2/resources", web::post().to(create))
        .route("/api/v2/resources/{id}", web::get().to(get))
        .route("/api/v2/resources/{id}", web::delete().to(delete))
        .route("/api/v2/resources/{id}/resume", web::post().to(resume))
        .route(
            "/api/v2/resources/{id}/associations",
            web::get().to(associations),
        )
        .route(
            "/api/v2/resources/{id}/associations",
            web::post().to(associate),
        )
        .route("/api/v2/provisioning/jobs", web::get().to(jobs))
        .route(
            "/api/v2/provisioning/jobs/{id}/retry",
            web::post().to(retry_job),
        );
}

/// Parses a JSON body into `T`, answering a bad one in the admin API's error format.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("the request body is not valid: {error}")))
}

pub(crate) fn parse_id<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no {what} has id {text}")))
}

fn resource_json(resource: &Resource) -> Value {
    let connection = resource.connection.as_ref();
    json!({
        "id": resource.id.to_string(),
        "name": resource.name,
        "type": resource.kind.as_str(),
        "url": connection.map(|c| c.url.clone()),
        "bindDn": connection.and_then(|c| c.bind_dn.clone()),
        "baseDn": connection.and_then(|c| c.base_dn.clone()),
        "hasSecret": connection.is_some_and(|c| c.secret.is_some()),
        "options": resource.options,
        "paused": resource.paused.as_ref().map(|p| json!({ "reason": p.reason, "since": p.since })),
        "created": resource.created_at,
        "updated": resource.updated_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewResource {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    bind_dn: Option<String>,
    secret: Option<String>,
    base_dn: Option<String>,
    #[serde(default)]
    options: Option<Value>,
}

/// Checks a new resource and builds it; the message names the first field that is wrong.
fn validate(new: NewResource) -> Result<Resource, ApiError> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name must be 1 to 200 characters without control characters",
        ));
    }
    let kind: ResourceType =
        new.kind
            .parse()
            .map_err(|e: crate::domain::provisioning::UnknownResourceType| {
                ApiError::bad_request(format!("type: {e}"))
            })?;
    let options = new.options.unwrap_or_else(|| json!({}));
    if !options.is_object() {
        return Err(ApiError::bad_request("options must be a JSON object"));
    }
    crate::domain::resource::validate_options(kind, &options)
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    let non_empty =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (url, bind_dn, secret, base_dn) = (
        non_empty(new.url),
        non_empty(new.bind_dn),
        new.secret.filter(|s| !s.is_empty()),
        non_empty(new.base_dn),
    );
    let connection = match kind {
        ResourceType::LdapDirectory | ResourceType::ActiveDirectory => {
            let url =
                url.ok_or_else(|| ApiError::bad_request(format!("url is required for a {kind}")))?;
            if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
                return Err(ApiError::bad_request(
                    "url must start with ldap:// or ldaps://",
                ));
            }
            let bind_dn = bind_dn
                .ok_or_else(|| ApiError::bad_request(format!("bindDn is required for a {kind}")))?;
            let base_dn = base_dn
                .ok_or_else(|| ApiError::bad_request(format!("baseDn is required for a {kind}")))?;
            let secret = secret.ok_or_else(|| {
                ApiError::bad_request(format!(
                    "secret (the bind password) is required for a {kind}"
                ))
            })?;
            Some(Connection {
                url,
                bind_dn: Some(bind_dn),
                secret: Some(Secret::new(secret)),
                base_dn: Some(base_dn),
            })
        }
        ResourceType::ScimApp => {
            let url = url.ok_or_else(|| {
                ApiError::bad_request("url (the app's SCIM base URL) is required for a scim_app")
            })?;
            roster_connectors::scim::parse_base_url(&url)
                .map_err(|error| ApiError::bad_request(error.to_string()))?;
            let secret = secret.ok_or_else(|| {
                ApiError::bad_request("secret (the app's bearer token) is required for a scim_app")
            })?;
            Some(Connection {
                url,
                bind_dn: None,
                secret: Some(Secret::new(secret)),
                base_dn: None,
            })
        }
        _ => {
            if url.is_some() || bind_dn.is_some() || secret.is_some() || base_dn.is_some() {
                return Err(ApiError::bad_request(format!(
                    "a {kind} takes no url, bindDn, secret or baseDn: Roster only decides access to it"
                )));
            }
            None
        }
    };
    let now = Utc::now();
    Ok(Resource {
        id: ResourceId::generate(),
        name,
        kind,
        connection,
        options,
        paused: None,
        created_at: now,
        updated_at: now,
    })
}

async fn create(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let resource = validate(parse_body(&body)?)?;
    let stored = resource.clone();
    state
        .store
        .run(move |conn| resources::insert(conn, &stored))
        .await?;
    tracing::info!(resource.id = %resource.id, resource.name = %resource.name, resource.kind = %resource.kind, "resource created");
    Ok(HttpResponse::Created().json(resource_json(&resource)))
}

async fn list(state: web::Data<AppState>, _caller: AdminCaller) -> Result<HttpResponse, ApiError> {
    let all = state.store.run(resources::list).await?;
    Ok(HttpResponse::Ok().json(all.iter().map(resource_json).collect::<Vec<_>>()))
}

async fn find(state: &AppState, id: &str) -> Result<Resource, ApiError> {
    let id: ResourceId = parse_id(id, "resource")?;
    state
        .store
        .run(move |conn| resources::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no resource has id {id}")))
}

async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(resource_json(&find(&state, &id).await?)))
}

async fn delete(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let resource = find(&state, &id).await?;
    let id = resource.id;
    // The accounts already written stay in the target: Roster stops managing them.
    state
        .store
        .run(move |conn| write_transaction(conn, |conn| resources::delete(conn, id)))
        .await?;
    tracing::info!(resource.id = %id, "resource deleted");
    Ok(HttpResponse::NoContent().finish())
}

async fn resume(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let resource = find(&state, &id).await?;
    let id = resource.id;
    state
        .store
        .run(move |conn| resources::set_pause(conn, id, None, Utc::now()))
        .await?;
    tracing::info!(resource.id = %id, "provisioning target resumed by an admin");
    wake();
    Ok(HttpResponse::NoContent().finish())
}

async fn associations(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let resource = find(&state, &id).await?;
    let members = state
        .store
        .run(move |conn| resources::bindings(conn, resource.id))
        .await?;
    let body: Vec<Value> = members
        .into_iter()
        .map(|member| match member {
            Member::User(id) => json!({ "to": { "id": id.to_string(), "type": "user" } }),
            Member::Group(id) => json!({ "to": { "id": id.to_string(), "type": "user_group" } }),
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// JumpCloud's association operation: `{"op": "add"|"remove", "type": …, "id": …}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssociationOp {
    pub op: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

async fn associate(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let resource = find(&state, &id).await?;
    let request: AssociationOp = parse_body(&body)?;
    let add = match request.op.as_str() {
        "add" => true,
        "remove" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "op must be add or remove, not {other:?}"
            )));
        }
    };
    let member =
        match request.kind.as_str() {
            "user" => Member::User(request.id.parse::<UserId>().map_err(|_| {
                ApiError::bad_request(format!("id {:?} is not a user id", request.id))
            })?),
            "user_group" => Member::Group(request.id.parse::<GroupId>().map_err(|_| {
                ApiError::bad_request(format!("id {:?} is not a user group id", request.id))
            })?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "type must be user or user_group, not {other:?}"
                )));
            }
        };
    let resource_id = resource.id;
    state
        .store
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let now = Utc::now();
                let affected = match member {
                    Member::User(user) => {
                        if users::find(conn, user)?.is_none() {
                            return Err(ApiError::bad_request(format!("no user has id {user}")));
                        }
                        vec![user]
                    }
                    Member::Group(group) => {
                        if groups::find(conn, group)?.is_none() {
                            return Err(ApiError::bad_request(format!(
                                "no user group has id {group}"
                            )));
                        }
                        groups::members(conn, group)?
                    }
                };
                if add {
                    resources::bind(conn, resource_id, member, now)?;
                } else {
                    resources::unbind(conn, resource_id, member)?;
                }
                enqueue_on_resource(conn, &affected, resource_id, now)?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    tracing::info!(resource.id = %resource_id, op = %request.op, member.kind = %request.kind, member.id = %request.id, "resource association changed");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct JobQuery {
    status: Option<String>,
}

async fn jobs(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<JobQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = query.status.clone().unwrap_or_else(|| "parked".into());
    if !matches!(status.as_str(), "parked" | "pending") {
        return Err(ApiError::bad_request("status must be parked or pending"));
    }
    let rows = state
        .store
        .run(move |conn| outbox::jobs_with_status(conn, &status, 1000))
        .await?;
    let body: Vec<Value> = rows
        .into_iter()
        .map(|job| {
            json!({
                "id": job.id,
                "userId": job.user,
                "resourceId": job.resource,
                "status": job.status,
                "attempts": job.attempts,
                "nextAttemptAt": job.next_attempt_at,
                "lastError": job.last_error,
                "created": job.created_at,
                "updated": job.updated_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

async fn retry_job(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no parked job has id {id}")))?;
    let retried = state
        .store
        .run(move |conn| outbox::retry_parked(conn, id, Utc::now()))
        .await?;
    if !retried {
        return Err(ApiError::not_found(format!("no parked job has id {id}")));
    }
    tracing::info!(job.id = id, "parked provisioning job put back in the queue");
    wake();
    Ok(HttpResponse::NoContent().finish())
}
