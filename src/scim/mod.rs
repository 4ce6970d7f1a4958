//! SCIM 2.0 service provider (RFC 7643/7644) at `/scim/v2`: the wire format, authentication
//! and limits. Storage and rules live in `store` and `service`; this module only translates.

mod auth;
mod body;
pub mod cli;
mod discovery;
mod error;
pub mod filter;
mod group_resource;
mod groups;
mod list;
pub mod patch;
mod projection;
pub mod schema;
mod user_document;
mod user_resource;
mod users;

use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};

pub use auth::{ScimCaller, ScimReader};
pub use error::ScimError;
pub use users::USER_RESOURCE;

/// The media type of every SCIM response.
pub const CONTENT_TYPE: &str = "application/scim+json";
/// Where the SCIM endpoints live.
pub const BASE_PATH: &str = "/scim/v2";

/// Bounds on what a SCIM request may ask for (DESIGN.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScimLimits {
    /// Largest request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest page a list returns; a larger `count` is cut to this (RFC 7644 §3.4.2.4).
    pub max_page_size: i64,
    /// Longest filter, in characters.
    pub max_filter_len: usize,
    /// Deepest nesting of parentheses, `not` and value paths in a filter.
    pub max_filter_depth: usize,
    /// Most operations in one PATCH.
    pub max_patch_operations: usize,
}

impl Default for ScimLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_page_size: 200,
            max_filter_len: 4096,
            max_filter_depth: 16,
            max_patch_operations: 100,
        }
    }
}

/// The limits registered with the app, or the defaults.
fn limits(request: &HttpRequest) -> ScimLimits {
    request
        .app_data::<web::Data<ScimLimits>>()
        .map(|limits| *limits.get_ref())
        .unwrap_or_default()
}

/// `scheme://host/scim/v2`, as the client reached us, for `meta.location` and `$ref`.
fn base_url(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}{BASE_PATH}", info.scheme(), info.host())
}

/// The weak ETag of a resource version: `W/"<version>"`, equal to `meta.version`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A resource whose other methods get 405, not 404.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Registers the SCIM routes under [`BASE_PATH`]. The router tries them in this order and
/// matches each pattern with an `{id}` by a regular expression, so the busiest come first:
/// a read of one user runs one expression, not three. A `.search` path comes before the `{id}`
/// pattern that would also match it.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope(BASE_PATH)
            .service(
                resource("/Users")
                    .route(web::get().to(users::list))
                    .route(web::post().to(users::create)),
            )
            .service(resource("/Users/.search").route(web::post().to(users::search)))
            .service(
                resource("/Users/{id}")
                    .route(web::get().to(users::get))
                    .route(web::put().to(users::replace))
                    .route(web::patch().to(users::patch))
                    .route(web::delete().to(users::delete)),
            )
            .service(
                resource("/Groups")
                    .route(web::get().to(groups::list))
                    .route(web::post().to(groups::create)),
            )
            .service(resource("/Groups/.search").route(web::post().to(groups::search)))
            .service(
                resource("/Groups/{id}")
                    .route(web::get().to(groups::get))
                    .route(web::put().to(groups::replace))
                    .route(web::patch().to(groups::patch))
                    .route(web::delete().to(groups::delete)),
            )
            .service(resource("/.search").route(web::post().to(list::search_all)))
            .service(
                resource("/ServiceProviderConfig")
                    .route(web::get().to(discovery::service_provider_config)),
            )
            .service(resource("/ResourceTypes").route(web::get().to(discovery::resource_types)))
            .service(
                resource("/ResourceTypes/{name}").route(web::get().to(discovery::resource_type)),
            )
            .service(resource("/Schemas").route(web::get().to(discovery::schemas)))
            .service(resource("/Schemas/{id}").route(web::get().to(discovery::schema)))
            .default_service(web::to(not_found)),
    );
}

async fn method_not_allowed(request: HttpRequest) -> Result<actix_web::HttpResponse, ScimError> {
    Err(ScimError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!(
            "{} is not supported on {}",
            request.method(),
            request.path()
        ),
    ))
}

async fn not_found(request: HttpRequest) -> Result<actix_web::HttpResponse, ScimError> {
    Err(ScimError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        None,
        format!(
            "{} {} is not a SCIM endpoint of this server",
            request.method(),
            request.path()
        ),
    ))
}
