//! Query parameters of list and `.search` requests, and the ListResponse they produce.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use scim_v2::filter::{AttrExp, AttrPath, Filter};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::body::read_json;
use super::projection::Projection;
use super::{CONTENT_TYPE, ScimError, ScimLimits, ScimReader, base_url, limits};
use crate::http::AppState;
use crate::store::scim_query::{QueryError, Sort, Window};

/// The schema of list responses.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A list or search request, checked.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub filter: Option<Filter>,
    pub sort: Option<Sort>,
    /// 1-based, as sent (at least 1).
    pub start_index: i64,
    pub window: Window,
    pub projection: Projection,
}

fn number(text: &str, name: &str) -> Result<i64, ScimError> {
    text.trim()
        .parse()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {text:?}")))
}

fn sort_path(text: &str, limits: &ScimLimits) -> Result<AttrPath, ScimError> {
    match super::filter::parse_filter(&format!("{text} pr"), limits) {
        Ok(Filter::Attr(AttrExp::Present(path))) => Ok(path),
        _ => Err(ScimError::invalid_value(format!(
            "sortBy {text:?} is not an attribute path"
        ))),
    }
}

impl ListRequest {
    /// Builds the request from named parameters (query string or search body, names compared
    /// without regard to case).
    fn from_params(
        params: &HashMap<String, String>,
        limits: &ScimLimits,
    ) -> Result<Self, ScimError> {
        let get = |name: &str| params.get(&name.to_ascii_lowercase()).map(String::as_str);
        let filter = get("filter")
            .filter(|text| !text.trim().is_empty())
            .map(|text| super::filter::parse_filter(text, limits))
            .transpose()?;
        let start_index = get("startIndex")
            .map(|text| number(text, "startIndex"))
            .transpose()?
            .unwrap_or(1)
            .max(1);
        let count = get("count")
            .map(|text| number(text, "count"))
            .transpose()?
            .unwrap_or(limits.max_page_size)
            .clamp(0, limits.max_page_size);
        let descending = match get("sortOrder").map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, not {other:?}"
                )));
            }
        };
        let sort = get("sortBy")
            .filter(|text| !text.trim().is_empty())
            .map(|text| sort_path(text, limits).map(|by| Sort { by, descending }))
            .transpose()?;
        Ok(Self {
            filter,
            sort,
            start_index,
            window: Window {
                skip: start_index - 1,
                limit: count,
            },
            projection: Projection::new(get("attributes"), get("excludedAttributes")),
        })
    }

    /// From a GET's query string.
    pub fn from_query(request: &HttpRequest) -> Result<Self, ScimError> {
        let query = web::Query::<Vec<(String, String)>>::from_query(request.query_string())
            .map_err(|error| {
                ScimError::invalid_value(format!("the query string is malformed: {error}"))
            })?;
        let params = query
            .into_inner()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Self::from_params(&params, &limits(request))
    }

    /// From a `.search` body.
    pub async fn from_search(
        request: &HttpRequest,
        payload: web::Payload,
    ) -> Result<Self, ScimError> {
        let body = read_json(request, payload).await?;
        let mut params = HashMap::new();
        for (key, value) in body.as_object().into_iter().flatten() {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Null => continue,
                _ if key.eq_ignore_ascii_case("schemas") => continue,
                other => {
                    return Err(ScimError::invalid_value(format!(
                        "{key} has an unexpected value {other}"
                    )));
                }
            };
            params.insert(key.to_ascii_lowercase(), text);
        }
        Self::from_params(&params, &limits(request))
    }
}

/// A ListResponse around one page; members in the order of the keys' bytes, as elsewhere.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<'a, R> {
    #[serde(rename = "Resources")]
    resources: &'a [R],
    items_per_page: usize,
    schemas: [&'static str; 1],
    start_index: i64,
    total_results: i64,
}

/// A ListResponse around one page.
pub fn list_response<R: Serialize>(total: i64, start_index: i64, resources: &[R]) -> HttpResponse {
    let body = ListResponse {
        resources,
        items_per_page: resources.len(),
        schemas: [LIST_SCHEMA],
        start_index,
        total_results: total,
    };
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(serde_json::to_string(&body).expect("a list serializes to JSON"))
}

/// `POST /.search` at the root: users, then groups, paged as one list. A filter naming an
/// attribute one resource type lacks matches nothing of that type.
pub async fn search_all(
    request: HttpRequest,
    state: web::Data<AppState>,
    _reader: ScimReader,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let list = ListRequest::from_search(&request, payload).await?;
    let base = base_url(&request);
    let start_index = list.start_index;
    let (total, resources) = state
        .store
        .read(move |conn| {
            fn lenient<T>(result: Result<T, QueryError>) -> Result<Option<T>, QueryError> {
                match result {
                    Err(QueryError::InvalidFilter(_)) => Ok(None),
                    other => other.map(Some),
                }
            }
            let everything = Window { skip: 0, limit: 0 };
            let user_total = lenient(crate::store::scim_query::search_users(
                conn,
                list.filter.as_ref(),
                None,
                &everything,
            ))?
            .map_or(0, |page| page.total);
            let group_total = lenient(crate::store::scim_query::search_groups(
                conn,
                list.filter.as_ref(),
                None,
                &everything,
            ))?
            .map_or(0, |page| page.total);
            let mut resources: Vec<Box<RawValue>> = Vec::new();
            if list.window.skip < user_total {
                let page = super::users::page(conn, &list, &base)?;
                resources.extend(page.1);
            }
            let remaining = list.window.limit - resources.len() as i64;
            if remaining > 0 && group_total > 0 {
                let mut groups_list = list.clone();
                groups_list.sort = None;
                groups_list.window = Window {
                    skip: (list.window.skip - user_total).max(0),
                    limit: remaining,
                };
                for group in super::groups::page(conn, &groups_list, &base)?.1 {
                    resources.push(
                        serde_json::value::to_raw_value(&group)
                            .expect("a group resource serializes to JSON"),
                    );
                }
            }
            Ok::<_, ScimError>((user_total + group_total, resources))
        })
        .await?;
    Ok(list_response(total, start_index, &resources))
}
