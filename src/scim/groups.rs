//! `/Groups`: list, search, read, create, replace, patch and delete, on the user groups the
//! rest of Roster uses.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::Value;

use super::body::read_json;
use super::group_resource::{self, MemberRef};
use super::list::{ListRequest, list_response};
use super::patch::{self, ResourceSchema};
use super::projection::Projection;
use super::schema::{GROUP_ATTRIBUTES, GROUP_SCHEMA};
use super::users::{header, tags_match};
use super::{CONTENT_TYPE, ScimCaller, ScimError, ScimReader, base_url, etag, limits};
use crate::domain::{Group, GroupId, GroupName, UserId};
use crate::http::AppState;
use crate::service::groups as group_service;
use crate::store::{DbConnection, groups, scim_query};

/// The Group resource's schema, for PATCH.
pub const GROUP_RESOURCE: ResourceSchema = ResourceSchema {
    core: GROUP_SCHEMA,
    attributes: GROUP_ATTRIBUTES,
    extensions: &[],
};

fn parse_id(id: &str) -> Result<GroupId, ScimError> {
    id.parse().map_err(|_| ScimError::not_found("Group", id))
}

fn not_found(id: GroupId) -> ScimError {
    ScimError::not_found("Group", &id.to_string())
}

fn members_of(conn: &mut DbConnection, id: GroupId) -> Result<Vec<MemberRef>, ScimError> {
    Ok(groups::members(conn, id)?
        .into_iter()
        .map(|id| MemberRef { id, display: None })
        .collect())
}

fn resource(
    conn: &mut DbConnection,
    group: &Group,
    projection: &Projection,
    base: &str,
) -> Result<Value, ScimError> {
    let members = if projection.excludes("members") {
        None
    } else {
        Some(members_of(conn, group.id)?)
    };
    Ok(projection.apply(group_resource::to_json(group, members.as_deref(), base)))
}

fn respond(status: StatusCode, version: i64, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .insert_header((ETAG, etag(version)))
        .body(body.to_string())
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

/// One page of groups as resources, with the total.
pub fn page(
    conn: &mut DbConnection,
    list: &ListRequest,
    base: &str,
) -> Result<(i64, Vec<Value>), ScimError> {
    let page =
        scim_query::search_groups(conn, list.filter.as_ref(), list.sort.as_ref(), &list.window)?;
    let resources = page
        .items
        .iter()
        .map(|group| resource(conn, group, &list.projection, base))
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
        .read(move |conn| page(conn, &list, &base))
        .await?;
    Ok(list_response(total, start_index, &resources))
}

pub async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    _reader: ScimReader,
) -> Result<HttpResponse, ScimError> {
    let list = ListRequest::from_query(&request)?;
    run_list(&request, &state, list).await
}

pub async fn search(
    request: HttpRequest,
    state: web::Data<AppState>,
    _reader: ScimReader,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let list = ListRequest::from_search(&request, payload).await?;
    run_list(&request, &state, list).await
}

pub async fn get(
    request: HttpRequest,
    state: web::Data<AppState>,
    _reader: ScimReader,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let projection = projection_of(&request)?;
    let base = base_url(&request);
    let (version, body) = state
        .store
        .read(move |conn| {
            let group = groups::find(conn, id)?.ok_or_else(|| not_found(id))?;
            Ok::<_, ScimError>((group.version, resource(conn, &group, &projection, &base)?))
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
    let actor = caller.actor();
    let now = Utc::now();
    let (group, body) = state
        .store
        .run(move |conn| {
            let mut group = Group::new(
                GroupName::parse("placeholder")
                    .map_err(|e| ScimError::invalid_value(e.to_string()))?,
                now,
            );
            let members = group_resource::apply(&resource_json, &mut group)?.unwrap_or_default();
            let group = group_service::create_group(conn, group, &members, &actor, now)?;
            let body = resource(conn, &group, &projection, &base)?;
            Ok::<_, ScimError>((group, body))
        })
        .await?;
    let location = format!("{}/Groups/{}", base_url(&request), group.id);
    let mut response = respond(StatusCode::CREATED, group.version, &body);
    response.headers_mut().insert(
        LOCATION,
        location
            .parse()
            .map_err(|_| ScimError::invalid_value("the Host header is not usable in a URL"))?,
    );
    Ok(response)
}

/// Reads the group and its members as a resource, lets `change` produce the wanted resource,
/// and writes the difference.
async fn write(
    request: &HttpRequest,
    state: &AppState,
    caller: &ScimCaller,
    id: GroupId,
    change: impl FnOnce(
        serde_json::Map<String, Value>,
    ) -> Result<serde_json::Map<String, Value>, ScimError>
    + Send
    + 'static,
) -> Result<HttpResponse, ScimError> {
    caller.require_write()?;
    let projection = projection_of(request)?;
    let base = base_url(request);
    let actor = caller.actor();
    let if_match = header(request, IF_MATCH);
    let (version, body) = state
        .store
        .run(move |conn| {
            let current = groups::find(conn, id)?.ok_or_else(|| not_found(id))?;
            if !tags_match(if_match.as_deref(), current.version) {
                return Err(ScimError::precondition_failed());
            }
            let members = members_of(conn, id)?;
            let before = group_resource::to_json(&current, Some(&members), &base);
            let after = change(before.as_object().cloned().unwrap_or_default())?;
            let mut wanted = current.clone();
            let wanted_members: BTreeSet<UserId> = group_resource::apply(&after, &mut wanted)?
                .unwrap_or_default()
                .into_iter()
                .collect();
            let group = group_service::update_group(
                conn,
                id,
                Some(current.version),
                &actor,
                Utc::now(),
                |group, members| {
                    *group = wanted;
                    *members = wanted_members;
                    Ok(())
                },
            )?
            .ok_or_else(|| not_found(id))?;
            Ok::<_, ScimError>((group.version, resource(conn, &group, &projection, &base)?))
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
    let mut wanted = body.as_object().cloned().unwrap_or_default();
    wanted.remove("id");
    write(&request, &state, &caller, id, move |_| Ok(wanted)).await
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
    write(&request, &state, &caller, id, move |mut resource| {
        patch::apply(&mut resource, &operations, &GROUP_RESOURCE, &limits)?;
        Ok(resource)
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
    let actor = caller.actor();
    let if_match = header(&request, IF_MATCH);
    state
        .store
        .run(move |conn| {
            let current = groups::find(conn, id)?.ok_or_else(|| not_found(id))?;
            if !tags_match(if_match.as_deref(), current.version) {
                return Err(ScimError::precondition_failed());
            }
            group_service::delete_group(conn, id, Some(current.version), &actor, Utc::now())?
                .ok_or_else(|| not_found(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
