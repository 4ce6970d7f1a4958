//! Use cases: each one checks the domain rules and writes its change, the audit events and any
//! follow-up work in one transaction. The admin API, SCIM, the CLI and the workers all call
//! these, so a rule holds whichever way a change arrives.

pub mod activation;
pub mod admin_users;
pub mod api_keys;
pub mod email;
mod error;
pub mod groups;
pub mod organization;
pub mod passwords;
pub mod provisioning;
pub mod schedules;
pub mod scim_tokens;
pub mod scim_users;
pub mod token_verifier;
pub mod users;

pub use error::ServiceError;

#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod tests;
