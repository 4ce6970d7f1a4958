//! The product's rules as plain Rust: users, their lifecycle states, default states for new
//! users and the shape of audit events. Nothing here touches a database, the network or a clock;
//! callers pass in whatever time or stored facts a rule needs.

pub mod activation_email;
pub mod audit;
pub mod changes;
pub mod defaults;
pub mod directory_insights;
pub mod group;
pub mod ids;
pub mod integration;
pub mod lifecycle;
pub mod password;
pub mod provisioning;
pub mod resource;
pub mod schedule;
pub mod user;

pub use defaults::{CreationMethod, DefaultState, StateDefaults};
pub use group::{Group, GroupName};
pub use ids::{AuditEventId, GroupId, IntegrationId, ResourceId, ScheduleId, UserId};
pub use lifecycle::{LifecycleError, LifecycleState, StateSource, Transition, Trigger};
pub use user::{
    Address, DEFAULT_ALTERNATE_EMAIL_TYPE, DEFAULT_EMAIL_TYPE, Email, PasswordStatus, PhoneNumber,
    User, UserName,
};
