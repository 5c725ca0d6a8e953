//! Pure tests: no AWS, no moto, no mocks. One test binary (`cargo test --test pure`); each
//! module is one former `tests/<name>.rs` and keeps its name as the test filter, e.g.
//! `cargo test --test pure plan_refusals::`.

#[path = "../support/mod.rs"]
mod support;

mod architecture;
mod plan_output;
mod plan_refusals;
