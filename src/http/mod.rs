//! The HTTP interface: routes and the state handlers share.

mod access;
pub mod admin;
pub mod admin_auth;
pub mod api_error;
mod health;
mod request_span;
mod resources;
mod schedule_query;
pub mod schedules;
mod usergroups;

pub use request_span::RequestSpan;

use std::sync::Arc;

use actix_web::web;

use crate::service::token_verifier::TokenVerifier;
use crate::store::Store;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Shared by every worker, so a token's signature is checked once per server.
    pub scim_tokens: Arc<TokenVerifier>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            scim_tokens: Arc::default(),
        }
    }
}

/// Registers every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        // First: identity providers call SCIM far more often than anything else, and its one
        // scope is passed over with a prefix comparison, where each admin route with a path
        // parameter before it would be a pattern match on every SCIM request.
        .configure(crate::scim::routes)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .configure(schedules::routes)
        .configure(admin::routes)
        .configure(provisioning_routes);
}

/// The provisioning admin API: resources and their associations, user groups, jobs, access.
fn provisioning_routes(config: &mut web::ServiceConfig) {
    resources::routes(config);
    usergroups::routes(config);
    access::routes(config);
}

#[cfg(test)]
mod provisioning_tests;
