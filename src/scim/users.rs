//! `/Users`: list, search, read, create, replace, patch and delete.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::body::read_json;
use super::list::{ListRequest, list_response};
use super::patch::{self, ResourceSchema};
use super::projection::Projection;
use super::schema::{self, ROSTER_SCHEMA, USER_ATTRIBUTES, USER_SCHEMA};
use super::user_document::{self, UserBody};
use super::user_resource::{self, GroupRef, Purpose, Related, Requested, SentPassword};
use super::{CONTENT_TYPE, ScimCaller, ScimError, ScimLimits, ScimReader, base_url, etag, limits};
use crate::domain::{Email, LifecycleState, StateSource, User, UserId, UserName};
use crate::http::AppState;
use crate::service::ServiceError;
use crate::service::passwords::{PasswordHash, hash_synced_password};
use crate::service::scim_users::{self, Deleted, StateRequest};
use crate::store::{DbConnection, StoreError, groups, schedules, scim_query, users};

/// The User resource's schemas, for PATCH.
pub const USER_RESOURCE: ResourceSchema = ResourceSchema {
    core: USER_SCHEMA,
    attributes: USER_ATTRIBUTES,
    extensions: &schema::EXTENSIONS,
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

/// What of a user's related rows a response shows.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    groups: bool,
    scheduled: bool,
}

impl Wanted {
    const ALL: Self = Self {
        groups: true,
        scheduled: true,
    };

    fn by(projection: &Projection) -> Self {
        Self {
            groups: !projection.excludes("groups"),
            scheduled: projection.asks_for(ROSTER_SCHEMA, "scheduledStateChanges"),
        }
    }
}

/// The groups and pending schedules of each user, in the order given, with at most two
/// queries whatever the number of users.
fn related_of(
    conn: &mut DbConnection,
    users: &[&User],
    wanted: Wanted,
) -> Result<Vec<Related>, ScimError> {
    let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
    let mut related: HashMap<UserId, Related> = HashMap::new();
    if wanted.groups {
        for membership in groups::memberships_of_users(conn, &ids)? {
            related
                .entry(membership.user)
                .or_default()
                .groups
                .push(GroupRef {
                    id: membership.group.to_string(),
                    display: membership.display_name,
                });
        }
    }
    if wanted.scheduled {
        for change in schedules::for_users(conn, &ids)? {
            related
                .entry(change.user_id)
                .or_default()
                .scheduled
                .push(change);
        }
    }
    Ok(ids
        .iter()
        .map(|id| related.remove(id).unwrap_or_default())
        .collect())
}

/// The user's resource as `projection` shows it, as JSON text.
fn resource(
    conn: &mut DbConnection,
    user: &User,
    projection: &Projection,
    base: &str,
) -> Result<String, ScimError> {
    let related = related_of(conn, &[user], Wanted::by(projection))?
        .pop()
        .unwrap_or_default();
    Ok(UserBody::new(user, &related, base, projection).to_json_text())
}

fn respond(status: StatusCode, user_version: i64, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .insert_header((ETAG, etag(user_version)))
        .body(body)
}

/// One page of users as resources, with the total.
pub fn page(
    conn: &mut DbConnection,
    list: &ListRequest,
    base: &str,
) -> Result<(i64, Vec<Box<RawValue>>), ScimError> {
    let page =
        scim_query::search_users(conn, list.filter.as_ref(), list.sort.as_ref(), &list.window)?;
    let users: Vec<&User> = page.items.iter().collect();
    let related = related_of(conn, &users, Wanted::by(&list.projection))?;
    let resources = users
        .iter()
        .zip(&related)
        .map(|(user, related)| UserBody::new(user, related, base, &list.projection).to_raw())
        .collect();
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
    _reader: ScimReader,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = parse_id(&id)?;
    let projection = projection_of(&request)?;
    let base = base_url(&request);
    let (version, body) = state
        .store
        .read(move |conn| {
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
    Ok(respond(StatusCode::OK, version, body))
}

/// Hashes a password the identity provider sent, if any, on a blocking thread: Argon2 is made
/// to take a while, and neither the server's event loop nor the database writer should wait
/// for it.
async fn hash_sent(password: Option<SentPassword>) -> Result<Option<PasswordHash>, ScimError> {
    let Some(SentPassword(clear)) = password else {
        return Ok(None);
    };
    match tokio::task::spawn_blocking(move || hash_synced_password(&clear)).await {
        Ok(hashed) => Ok(Some(hashed?)),
        Err(join_error) if join_error.is_panic() => {
            std::panic::resume_unwind(join_error.into_panic())
        }
        Err(_) => Err(StoreError::unavailable("password hashing was cancelled").into()),
    }
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
    let projection = projection_of(&request)?.naming_body(&resource_json);
    let base = base_url(&request);
    let integration = caller.0.integration.clone();
    let now = Utc::now();
    let mut user = User::new(
        UserName::parse("placeholder").map_err(|e| ScimError::invalid_value(e.to_string()))?,
        Email::parse("email", "placeholder@invalid")
            .map_err(|e| ScimError::invalid_value(e.to_string()))?,
        LifecycleState::Staged,
        StateSource::Scim(integration.name.clone()),
        String::new(),
        now,
    );
    let requested = user_resource::apply(&resource_json, &mut user, Purpose::Create)?;
    let password = hash_sent(requested.password).await?;
    let user = state
        .store
        .write(move |conn| {
            scim_users::create(conn, user, requested.state, password, &integration, now)
        })
        .await?;
    // A new user belongs to no group and has nothing scheduled yet.
    let body = UserBody::new(&user, &Related::default(), &base, &projection).to_json_text();
    let location = format!("{base}/Users/{}", user.id);
    let mut response = respond(StatusCode::CREATED, user.version, body);
    response.headers_mut().insert(
        LOCATION,
        location
            .parse()
            .map_err(|_| ScimError::invalid_value("the Host header is not usable in a URL"))?,
    );
    Ok(response)
}

/// What a PUT or a PATCH asks of a user.
enum Edit {
    /// PUT: the resource replaces the profile.
    Replace(Map<String, Value>),
    /// PATCH: the operations apply to the resource as it stands.
    Patch(Vec<patch::Operation>, ScimLimits),
}

impl Edit {
    /// What the user's resource must show for the edit to apply to it.
    fn needs(&self) -> Wanted {
        match self {
            Self::Replace(_) => Wanted {
                groups: false,
                scheduled: false,
            },
            // Read-only attributes may be echoed back unchanged, so all of them must be there.
            Self::Patch(..) => Wanted::ALL,
        }
    }

    /// The profile to store and what the request asks of the state and password.
    fn apply(
        &self,
        current: &User,
        related: &Related,
        base: &str,
    ) -> Result<(User, Requested), ScimError> {
        let mut wanted = current.clone();
        match self {
            Self::Replace(resource) => {
                let requested = user_resource::apply(resource, &mut wanted, Purpose::Update)?;
                Ok((wanted, requested))
            }
            Self::Patch(operations, limits) => {
                let Value::Object(mut after) = user_document::to_json(current, related, base)
                else {
                    unreachable!("a user resource is an object");
                };
                patch::apply(&mut after, operations, &USER_RESOURCE, limits)?;
                let parsed = user_resource::apply(&after, &mut wanted, Purpose::Update)?;
                // Only what the operations changed is a request: the resource always shows
                // `active`, and repeating it asks for nothing.
                let was_active = current.state == LifecycleState::Activated;
                let requested = Requested {
                    state: StateRequest {
                        active: parsed.state.active.filter(|active| *active != was_active),
                        state: None,
                    },
                    password: parsed.password,
                };
                Ok((wanted, requested))
            }
        }
    }
}

/// The user as read for a write, and what the write is to store.
struct Prepared {
    current: User,
    related: Related,
    wanted: User,
    requested: Requested,
}

/// Reads the user, applies `edit` to it and writes the new profile and state request at once.
/// The reading and the editing happen before the write, which stores the result only if the
/// user is still at the version read. Without `If-Match`, a write that lost a race is retried
/// on a fresh read; with it, a stale version is 412.
async fn write(
    request: &HttpRequest,
    state: &AppState,
    caller: &ScimCaller,
    id: UserId,
    projection: Projection,
    edit: Edit,
) -> Result<HttpResponse, ScimError> {
    caller.require_write()?;
    let base = base_url(request);
    let if_match = header(request, IF_MATCH);
    let edit = std::sync::Arc::new(edit);
    let shown = Wanted::by(&projection);
    for attempt in 1..=RETRIES {
        let prepared = {
            let (edit, if_match, base) = (edit.clone(), if_match.clone(), base.clone());
            state
                .store
                .read(move |conn| {
                    let current = users::find(conn, id)?
                        .ok_or_else(|| ScimError::not_found("User", &id.to_string()))?;
                    if !tags_match(if_match.as_deref(), current.version) {
                        return Err(ScimError::precondition_failed());
                    }
                    let needed = edit.needs();
                    let read = Wanted {
                        groups: needed.groups || shown.groups,
                        scheduled: needed.scheduled,
                    };
                    let related = related_of(conn, &[&current], read)?
                        .pop()
                        .unwrap_or_default();
                    let (wanted, requested) = edit.apply(&current, &related, &base)?;
                    Ok::<_, ScimError>(Prepared {
                        current,
                        related,
                        wanted,
                        requested,
                    })
                })
                .await?
        };
        let Prepared {
            current,
            mut related,
            wanted,
            requested,
        } = prepared;
        let password = hash_sent(requested.password).await?;
        let integration = caller.0.integration.clone();
        let written = state
            .store
            .write(move |conn| {
                scim_users::update(
                    conn,
                    current,
                    requested.state.active,
                    password,
                    &integration,
                    Utc::now(),
                    |user| {
                        *user = wanted;
                        Ok(())
                    },
                )
            })
            .await;
        match written {
            Ok(user) => {
                // A user's write leaves its groups as they were; its pending schedules are
                // read again when shown.
                if shown.scheduled {
                    related.scheduled = state
                        .store
                        .read(move |conn| schedules::for_users(conn, &[user.id]))
                        .await?;
                }
                let body = UserBody::new(&user, &related, &base, &projection).to_json_text();
                return Ok(respond(StatusCode::OK, user.version, body));
            }
            Err(ServiceError::Conflict) if if_match.is_none() && attempt < RETRIES => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ScimError::precondition_failed())
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
    let projection = projection_of(&request)?.naming_body(&resource_json);
    let edit = Edit::Replace(resource_json);
    write(&request, &state, &caller, id, projection, edit).await
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
    // The attributes the operations give values to come back in the response even when they
    // are returned only on request; a removal gives none.
    let projection = operations
        .iter()
        .filter(|operation| operation.op != patch::Op::Remove)
        .fold(projection_of(&request)?, |projection, operation| {
            match (&operation.path, &operation.value) {
                (Some(path), value) => projection.naming_path(path, value.as_ref()),
                (None, Some(Value::Object(value))) => projection.naming_body(value),
                (None, _) => projection,
            }
        });
    let edit = Edit::Patch(operations, limits);
    write(&request, &state, &caller, id, projection, edit).await
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
        .write(move |conn| {
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
