//! Integration tests against a local moto server (`scripts/moto`). One test binary
//! (`cargo test --test moto`); each module is one former `tests/<name>.rs` and keeps its name as
//! the test filter, e.g. `cargo test --test moto migrate_moto::`.
//!
//! The server: `MOTO_ENDPOINT` when set (`scripts/test` sets it); otherwise the first test that
//! needs moto runs `scripts/moto start` once for the whole binary, which installs moto into
//! `.venv/` on first use and starts it on a free port, or reuses the server it started before.
//! That server keeps running after the tests, so the next run starts at once: `scripts/moto
//! status` shows it, `scripts/moto stop` stops it. The CLI tests run `examples/migrate.rs`, which
//! a plain `cargo test` and `scripts/test` build (with `--test moto` alone: `cargo build --examples`).
//! About 4 test threads saturate moto: on a machine with many cores, `RUST_TEST_THREADS=4`.

#[path = "../common/mod.rs"]
mod common;

mod artifacts;
mod fleet_cli;
mod iac_moto;
mod from_codedeploy_moto;
mod cli_moto;
mod journal_cli;
mod kit_vs_moto;
mod limits_cli;
mod listener_actions_moto;
mod migrate_moto;
mod moto_ext;
mod moto_ext_native;
mod moto_fixture;
mod native_moto;
mod native_watch_moto;
mod permissions_moto;
mod real_account_moto;
mod rollback_cli;
mod run_safety;
mod scaling_moto;
mod verify_moto;
