//! Integration tests against a local moto server (`scripts/moto`). One test binary
//! (`cargo test --test moto`); each module is one former `tests/<name>.rs` and keeps its name as
//! the test filter, e.g. `cargo test --test moto migrate_moto::`.

#[path = "../common/mod.rs"]
mod common;

mod artifacts;
mod cli_moto;
mod kit_vs_moto;
mod migrate_moto;
mod moto_ext;
mod moto_fixture;
mod verify_moto;
