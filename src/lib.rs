//! Roster: a user-lifecycle server. The binary in `main.rs` is a thin shell over this library,
//! which the black-box tests also link.

pub mod domain;
pub mod service;
pub mod store;
