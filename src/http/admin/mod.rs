//! The JumpCloud-compatible admin API: `/api/systemusers`, activation, bulk create and delete,
//! the organization's settings and the Directory Insights view of the audit trail. Handlers only extract, call a service and map the answer.

mod activation;
pub(crate) mod body;
mod bulk_delete;
mod bulk_users;
mod insights;
mod list_query;
mod organizations;
mod password_link;
mod set_password_page;
mod systemusers;

use actix_web::{HttpRequest, web};

use crate::domain::password::PasswordPolicy;

use super::api_error::ApiError;

/// Settings the admin handlers need besides the store.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    pub password_policy: PasswordPolicy,
}

/// Largest JSON body the admin API reads (a bulk delete of 1,000 ids fits easily).
const BODY_LIMIT: usize = 256 * 1024;

fn json_config() -> web::JsonConfig {
    json_config_with_limit(BODY_LIMIT)
}

fn json_config_with_limit(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _: &HttpRequest| {
            ApiError::bad_request(format!("the request body is not acceptable JSON: {error}"))
                .into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _: &HttpRequest| {
        ApiError::bad_request(format!("the query string is malformed: {error}")).into()
    })
}

/// Registers the admin routes (no shared scope, so other modules can add `/api/...` routes).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| {
        web::resource(path)
            .app_data(json_config())
            .app_data(query_config())
    };
    cfg.service(
        resource("/api/systemusers")
            .route(web::get().to(systemusers::list))
            .route(web::post().to(systemusers::create)),
    )
    .service(resource("/api/systemusers/bulk-delete").route(web::post().to(bulk_delete::delete)))
    .service(
        resource("/api/systemusers/{id}")
            .route(web::get().to(systemusers::get))
            .route(web::put().to(systemusers::update))
            .route(web::delete().to(systemusers::delete)),
    )
    .service(
        resource("/api/systemusers/{id}/state/activate")
            .route(web::post().to(activation::activate)),
    )
    .service(resource("/api/organizations").route(web::get().to(organizations::list)))
    .service(
        resource("/api/organizations/{id}")
            .route(web::get().to(organizations::get))
            .route(web::put().to(organizations::update)),
    )
    .service(resource("/insights/directory/v1/events").route(web::post().to(insights::events)))
    .service(
        web::resource("/set-password")
            .app_data(web::FormConfig::default().limit(16 * 1024))
            .route(web::get().to(set_password_page::show))
            .route(web::post().to(set_password_page::submit)),
    )
    .service(resource("/api/password/set").route(web::post().to(password_link::set)))
    .service(
        resource("/api/password/reset-request").route(web::post().to(password_link::reset_request)),
    );
    bulk_users::routes(cfg);
}

/// The `{id}` of a path, as a user id, or a 404 (an id that cannot exist names no user).
fn user_id(raw: &str) -> Result<crate::domain::UserId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("no user has id {raw}")))
}

/// Runs CPU-heavy work (password hashing) off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::service::ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    match web::block(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => Err(ApiError::internal(&error)),
    }
}
