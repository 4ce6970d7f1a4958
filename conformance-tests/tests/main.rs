//! Black-box tests: one binary, one module per area.

mod scim;
mod serve;
