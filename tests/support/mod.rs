//! Shared pure test data (no AWS, no moto): the `pure` and `mocked` test binaries declare it
//! (`#[path = "../support/mod.rs"] mod support;`), a test module does `use crate::support::sample;`.

pub mod sample;
