//! Harness shared by the black-box tests.
