//! Roster: a user-lifecycle server. The binary in `main.rs` is a thin shell over this library,
//! which the black-box tests also link.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod mail;
pub mod provisioning;
pub mod scheduler;
pub mod scim;
pub mod service;
pub mod store;
pub mod telemetry;
