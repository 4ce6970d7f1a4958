//! The HTTP interface: routes and the state handlers share.

mod access;
pub mod admin;
pub mod admin_auth;
pub mod api_error;
mod health;
mod resources;
mod schedule_query;
pub mod schedules;
mod usergroups;

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
        .configure(schedules::routes)
        .configure(admin::routes)
        .configure(provisioning_routes)
        .configure(crate::scim::routes);
}

/// The provisioning admin API: resources and their associations, user groups, jobs, access.
fn provisioning_routes(config: &mut web::ServiceConfig) {
    resources::routes(config);
    usergroups::routes(config);
    access::routes(config);
}

#[cfg(test)]
mod provisioning_tests;
