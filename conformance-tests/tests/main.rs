//! Black-box tests: one binary, one module per area.

mod admin_bulk_users;
mod admin_cli;
mod admin_email;
mod admin_insights;
mod admin_organizations;
mod admin_users;
mod provisioning_scim;
mod scheduler_firing;
mod schedules;
mod scim;
mod serve;
