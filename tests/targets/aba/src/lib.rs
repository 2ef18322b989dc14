//! No library: the crate is its test, `tests/aba.rs`.
