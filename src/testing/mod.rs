//! A test kit for scripts built on this library (cargo feature `test-util`).
//!
//! [`MockAccount`] is a stateful mock AWS account on `aws-smithy-mocks`: a [`Scenario`] says what
//! it holds, [`MockAccount::clients`] gives ready [`AwsClients`](crate::AwsClients), and every
//! mutating call changes what later calls see, so a whole `plan` → `apply` → `rollback` runs
//! against it and a test asserts on the end state ([`MockAccount::state`]) rather than on call
//! sequences. [`Fault`] fails chosen calls with chosen AWS errors; [`fail_each_step`] runs a
//! script once per mutating call with a failure there ([`fail_each_step_on`]: on any account
//! you set up, or a fleet); [`FleetScenario`] builds a [`MockFleet`] of several services, load
//! balancers and pipelines for [`crate::fleet`] runs; [`MockAccount::calls`] records every
//! operation with its input. [`MockAccount::interceptor`] gives SDK clients of your own (a
//! custom step's) the same faults and recording. [`MockAccount::state`] is a copy;
//! [`MockAccount::edit`] changes the account behind the library's back.
//!
//! ```
//! use ecs_bluegreen::testing::{MockAccount, Scenario};
//! use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Migration, Outcome};
//! use ecs_bluegreen::wait::WaitPolicy;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let account = MockAccount::new(Scenario::default().on_ec2());
//! let aws = account.clients();
//! let migration = Migration::for_service("prod", "web").unwrap().build();
//! let plan = migration.plan(&aws).await.unwrap();
//! let fast = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
//! assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &fast).await.unwrap(), Outcome::Applied);
//! assert_eq!(account.state().services["web"].deployment_controller, "CODE_DEPLOY");
//! # }
//! ```
//!
//! Errors carry AWS's codes and messages (`ProvideErrorMetadata::code()` works); they are the
//! SDK's unhandled variant, so `is_*_exception()` matchers do not.

// The SDK's error types are large; the fake returns them by value like the SDK does.
#![allow(clippy::result_large_err)]


mod account;
mod build;
mod fake_codedeploy;
mod fake_ecs;
mod fake_elb;
mod fake_iam;
mod fake_pipeline;
mod fake_scaling;
mod fake_ssm;
mod fake_sts;
mod faults;
mod fleet;
mod harness;
mod interceptor;
pub mod sample;
mod scenario;

pub use account::{AccountState, Call, Condition, DeploymentState, MockAccount, MockClients, RoleState, ServiceDeploymentState, Transition};
pub use build::default_migration;
pub use faults::{Fault, InjectedError, UnknownOperation};
pub use fleet::{FaultTarget, FleetScenario, FleetState, MockFleet};
pub use harness::{FailEachStepReport, FaultRun, fail_each_step, fail_each_step_on};
pub use interceptor::AccountInterceptor;
pub use scenario::{
    ADMIN_TG_ARN, CODEDEPLOY_FOR_ECS_POLICY, DeploymentScript, EXISTING_ROLE_ARN, EXISTING_ROLE_NAME, EcsTiming, NativeDeploymentScript, RoleSetup, Scenario,
};
