//! Outbound provisioning connectors: they carry out the actions the provisioning plan decides.

pub mod ldap;

/// The LDAP client crate, for callers that need its types (tests, bind checks).
pub use ldap3;
