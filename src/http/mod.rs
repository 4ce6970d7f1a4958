//! The HTTP interface: routes and the state handlers share.

pub mod admin_auth;
pub mod api_error;
mod health;

use actix_web::web;

use crate::store::Store;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
}

/// Registers every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .configure(crate::scim::routes);
}
