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
mod user_resource;
mod users;

use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};

pub use auth::ScimCaller;
pub use error::ScimError;

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

/// Registers the SCIM routes under [`BASE_PATH`].
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope(BASE_PATH)
            .route(
                "/ServiceProviderConfig",
                web::get().to(discovery::service_provider_config),
            )
            .route("/ResourceTypes", web::get().to(discovery::resource_types))
            .route(
                "/ResourceTypes/{name}",
                web::get().to(discovery::resource_type),
            )
            .route("/Schemas", web::get().to(discovery::schemas))
            .route("/Schemas/{id}", web::get().to(discovery::schema))
            .route("/.search", web::post().to(list::search_all))
            .route("/Users", web::get().to(users::list))
            .route("/Users", web::post().to(users::create))
            .route("/Users/.search", web::post().to(users::search))
            .route("/Users/{id}", web::get().to(users::get))
            .route("/Users/{id}", web::put().to(users::replace))
            .route("/Users/{id}", web::patch().to(users::patch))
            .route("/Users/{id}", web::delete().to(users::delete))
            .route("/Groups", web::get().to(groups::list))
            .route("/Groups", web::post().to(groups::create))
            .route("/Groups/.search", web::post().to(groups::search))
            .route("/Groups/{id}", web::get().to(groups::get))
            .route("/Groups/{id}", web::put().to(groups::replace))
            .route("/Groups/{id}", web::patch().to(groups::patch))
            .route("/Groups/{id}", web::delete().to(groups::delete))
            .default_service(web::to(not_found)),
    );
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
