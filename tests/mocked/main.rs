//! Tests on mocked SDK clients and the test kit (`ecs_bluegreen::testing`): no server, virtual
//! time. One test binary (`cargo test --test mocked`); each module is one former
//! `tests/<name>.rs` and keeps its name as the test filter, e.g. `cargo test --test mocked mocked_deploy::`.

#[path = "../support/mod.rs"]
mod support;
// Before the test modules: they use its `modeled!` macro.
#[macro_use]
mod mocks;
#[path = "../common/faults.rs"]
mod faults;

mod composition;
mod drift_rollback;
mod fleet;
mod from_codedeploy;
mod mocked_cutover_timing;
mod mocked_deploy;
mod mocked_discovery;
mod mocked_errors;
mod mocked_fault_each_call;
mod mocked_service_fields;
mod native;
mod native_deploy;
mod native_to_rolling;
mod native_verify;
mod listener_actions;
mod long_waits;
mod lost_answers;
mod permissions;
mod pipeline_role;
mod run_lock;
mod scaling;
mod testing_kit;
mod verify_checks;
mod what_aws_refuses;
