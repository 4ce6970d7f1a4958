//! Black-box tests: one binary, one module per area.

mod schedules;
mod serve;
