//! Outbound provisioning connectors: they carry out the actions the provisioning plan decides.

pub mod ldap;
pub mod scim;

/// The LDAP client crate, for callers that need its types (tests, bind checks).
pub use ldap3;

/// How a failed call to a target should be handled; every connector sorts its failures into
/// these, so that the dispatcher retries, parks and pauses the same way for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// May pass by itself (network, busy, unavailable, rate limited): retry later.
    Transient,
    /// Will fail again the same way (schema, refused value): park it for an admin.
    Permanent,
    /// The target refuses Roster's own credentials or rights: every call would fail, so the
    /// whole target is paused.
    TargetRefused,
}
