//! `/Users`: list, search, read, create, replace, patch and delete.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::{Map, Value};

use super::body::read_json;
use super::list::{ListRequest, list_response};
use super::patch::{self, ResourceSchema};
use super::projection::Projection;
use super::schema::{
    ENTERPRISE_ATTRIBUTES, ENTERPRISE_SCHEMA, ROSTER_ATTRIBUTES, ROSTER_SCHEMA, USER_ATTRIBUTES,
    USER_SCHEMA,
};
use super::user_resource::{self, GroupRef};
use super::{CONTENT_TYPE, ScimCaller, ScimError, base_url, etag, limits};
use crate::domain::{Email, LifecycleState, StateSource, User, UserId, UserName};
use crate::http::AppState;
use crate::service::ServiceError;
use crate::service::scim_users::{self, Deleted, StateRequest};
use crate::store::{DbConnection, groups, scim_query, users};

/// The User resource's schemas, for PATCH.
pub const USER_RESOURCE: ResourceSchema = ResourceSchema {
    core: USER_SCHEMA,
    attributes: USER_ATTRIBUTES,
    extensions: &[
        (ENTERPRISE_SCHEMA, ENTERPRISE_ATTRIBUTES),
        (ROSTER_SCHEMA, ROSTER_ATTRIBUTES),
    ],
};

/// How often a write without `If-Match` is retried when another write got in between.
const RETRIES: usize = 3;

fn parse_id(id: &str) -> Result<UserId, ScimError> {
    id.parse().map_err(|_| ScimError::not_found("User", id))
}

/// The value of an `If-Match`/`If-None-Match` header, if sent.
pub fn header(request: &HttpRequest, name: actix_web::http::header::HeaderName) -> Option<String> {
    request
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap_or_default().to_owned())
}

/// True when the header's list of entity tags names `version` (or is `*`); true when absent.
pub fn tags_match(header: Option<&str>, version: i64) -> bool {
    let Some(value) = header else { return true };
    let wanted = format!("\"{version}\"");
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == wanted)
}

fn groups_of(conn: &mut DbConnection, id: UserId) -> Result<Vec<GroupRef>, ScimError> {
    let mut refs = Vec::new();
    for group_id in groups::groups_of_user(conn, id)? {
        if let Some(group) = groups::find(conn, group_id)? {
            refs.push(GroupRef {
                id: group_id.to_string(),
                display: group.display_name.to_string(),
            });
        }
    }
    Ok(refs)
}

fn resource(
    conn: &mut DbConnection,
    user: &User,
    projection: &Projection,
    base: &str,
) -> Result<Value, ScimError> {
    let groups = if projection.excludes("groups") {
        Vec::new()
    } else {
        groups_of(conn, user.id)?
    };
    Ok(projection.apply(user_resource::to_json(user, &groups, base)))
}

fn respond(status: StatusCode, user_version: i64, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .insert_header((ETAG, etag(user_version)))
        .body(body.to_string())
}

/// One page of users as resources, with the total.
pub fn page(
    conn: &mut DbConnection,
    list: &ListRequest,
    base: &str,
) -> Result<(i64, Vec<Value>), ScimError> {
    let page =
        scim_query::search_users(conn, list.filter.as_ref(), list.sort.as_ref(), &list.window)?;
    let resources = page
        .items
        .iter()
        .map(|user| resource(conn, user, &list.projection, base))
        .collect::<Result<_, _>>()?;
    Ok((page.total, resources))
}

async fn run_list(
    request: &HttpRequest,
    state: &AppState,
    list: ListRequest,
) -> Result<HttpResponse, ScimError> {
    let base = base_url(request);
    let start_index = list.start_index;
    let (total, resources) = state
        .store
        .run(move |conn| page(conn, &list, &base))
        .await?;
    Ok(list_response(total, start_index, resources))
}

pub async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    _caller: ScimCaller,
) -> Result<HttpResponse, ScimError> {
    let list = ListRequest::from_query(&request)?;
    run_list(&request, &state, list).await
}

pub async fn search(
    request: HttpRequest,
    state: web::Data<AppState>,
    _caller: ScimCaller,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let list = ListRequest::from_search(&request, payload).await?;
    run_list(&request, &state, list).await
}

fn projection_of(request: &HttpRequest) -> Result<Projection, ScimError> {
    let query = web::Query::<Vec<(String, String)>>::from_query(request.query_string()).map_err(
        |error| ScimError::invalid_value(format!("the query string is malformed: {error}")),
    )?;
    let get = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    Ok(Projection::new(
        get("attributes"),
        get("excludedAttributes"),
    ))
}

pub async fn get(
    request: HttpRequest,
    state: web::Data<AppState>,
    _caller: ScimCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let projection = projection_of(&request)?;
    let base = base_url(&request);
    let (version, body) = state
        .store
        .run(move |conn| {
            let user = users::find(conn, id)?
                .ok_or_else(|| ScimError::not_found("User", &id.to_string()))?;
            Ok::<_, ScimError>((user.version, resource(conn, &user, &projection, &base)?))
        })
        .await?;
    let if_none_match = header(&request, IF_NONE_MATCH);
    if if_none_match.is_some() && tags_match(if_none_match.as_deref(), version) {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag(version)))
            .finish());
    }
    Ok(respond(StatusCode::OK, version, &body))
}

pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    caller: ScimCaller,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    caller.require_write()?;
    let body = read_json(&request, payload).await?;
    let resource_json = body.as_object().cloned().unwrap_or_default();
    let projection = projection_of(&request)?;
    let base = base_url(&request);
    let integration = caller.0.integration.clone();
    let now = Utc::now();
    let (user, body) = state
        .store
        .run(move |conn| {
            let mut user = User::new(
                UserName::parse("placeholder")
                    .map_err(|e| ScimError::invalid_value(e.to_string()))?,
                Email::parse("email", "placeholder@invalid")
                    .map_err(|e| ScimError::invalid_value(e.to_string()))?,
                LifecycleState::Staged,
                StateSource::Scim(integration.name.clone()),
                String::new(),
                now,
            );
            let state_request = user_resource::apply(&resource_json, &mut user)?;
            let user = scim_users::create(conn, user, state_request, &integration, now)?;
            let body = resource(conn, &user, &projection, &base)?;
            Ok::<_, ScimError>((user, body))
        })
        .await?;
    let location = format!("{}/Users/{}", base_url(&request), user.id);
    let mut response = respond(StatusCode::CREATED, user.version, &body);
    response.headers_mut().insert(
        LOCATION,
        location
            .parse()
            .map_err(|_| ScimError::invalid_value("the Host header is not usable in a URL"))?,
    );
    Ok(response)
}

/// Reads the user, lets `change` turn its resource into the new profile and state request,
/// and writes both at once. Without `If-Match`, a write that lost a race is retried on a fresh
/// read; with it, a stale version is 412.
async fn write(
    request: &HttpRequest,
    state: &AppState,
    caller: &ScimCaller,
    id: UserId,
    change: impl Fn(&Map<String, Value>, &User) -> Result<(User, StateRequest), ScimError>
    + Send
    + 'static,
) -> Result<HttpResponse, ScimError> {
    caller.require_write()?;
    let projection = projection_of(request)?;
    let base = base_url(request);
    let integration = caller.0.integration.clone();
    let if_match_header = header(request, IF_MATCH);
    let if_match = if_match_header.is_some();
    let (version, body) = state
        .store
        .run(move |conn| {
            for attempt in 1..=RETRIES {
                let current = users::find(conn, id)?
                    .ok_or_else(|| ScimError::not_found("User", &id.to_string()))?;
                if !tags_match(if_match_header.as_deref(), current.version) {
                    return Err(ScimError::precondition_failed());
                }
                let groups = groups_of(conn, id)?;
                let before = user_resource::to_json(&current, &groups, &base);
                let before = before.as_object().cloned().unwrap_or_default();
                let (wanted, mut state_request) = change(&before, &current)?;
                // A state equal to the current one asks for nothing (clients echo resources).
                state_request.state = state_request.state.filter(|s| *s != current.state);
                let result = scim_users::update(
                    conn,
                    id,
                    Some(current.version),
                    state_request,
                    &integration,
                    Utc::now(),
                    |user| {
                        *user = wanted;
                        Ok(())
                    },
                );
                match result {
                    Ok(user) => {
                        return Ok((user.version, resource(conn, &user, &projection, &base)?));
                    }
                    Err(ServiceError::Conflict) if !if_match && attempt < RETRIES => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            Err(ScimError::precondition_failed())
        })
        .await?;
    Ok(respond(StatusCode::OK, version, &body))
}

pub async fn replace(
    request: HttpRequest,
    state: web::Data<AppState>,
    caller: ScimCaller,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let body = read_json(&request, payload).await?;
    let resource_json = body.as_object().cloned().unwrap_or_default();
    write(&request, &state, &caller, id, move |_, current| {
        let mut wanted = current.clone();
        let state_request = user_resource::apply(&resource_json, &mut wanted)?;
        Ok((wanted, state_request))
    })
    .await
}

pub async fn patch(
    request: HttpRequest,
    state: web::Data<AppState>,
    caller: ScimCaller,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let body = read_json(&request, payload).await?;
    let limits = limits(&request);
    let operations = patch::parse_request(&body, &limits)?;
    write(&request, &state, &caller, id, move |before, current| {
        let mut after = before.clone();
        patch::apply(&mut after, &operations, &USER_RESOURCE, &limits)?;
        let mut wanted = current.clone();
        let parsed = user_resource::apply(&after, &mut wanted)?;
        let was = user_resource::apply(before, &mut current.clone())?;
        // Only what the operations changed is a request: the resource always shows `active`
        // and `state`, and repeating them asks for nothing.
        let state_request = StateRequest {
            active: parsed.active.filter(|active| Some(*active) != was.active),
            state: parsed.state.filter(|state| Some(*state) != was.state),
        };
        Ok((wanted, state_request))
    })
    .await
}

pub async fn delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    caller: ScimCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    caller.require_write()?;
    let id = parse_id(&id)?;
    let integration = caller.0.integration.clone();
    let if_match = header(&request, IF_MATCH);
    let outcome = state
        .store
        .run(move |conn| {
            let current = users::find(conn, id)?
                .ok_or_else(|| ScimError::not_found("User", &id.to_string()))?;
            if !tags_match(if_match.as_deref(), current.version) {
                return Err(ScimError::precondition_failed());
            }
            scim_users::delete(conn, id, Some(current.version), &integration, Utc::now())
                .map_err(ScimError::from)
        })
        .await?;
    match outcome {
        None => Err(ScimError::not_found("User", &id.to_string())),
        Some(Deleted::Deleted | Deleted::Suspended) => Ok(HttpResponse::NoContent().finish()),
    }
}
