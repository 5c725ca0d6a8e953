#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod clients;
pub mod artifacts;
pub(crate) mod convert;
pub mod deploy;
pub mod discover;
pub mod error;
pub mod inventory;
pub mod plan;
pub mod spec;
pub mod stats;
pub(crate) mod steps;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub mod txn;
pub mod verify;
pub mod wait;

pub use clients::{AwsClients, AwsClientsBuilder};
pub use deploy::{DeployOptions, DeployRequest, DeploymentOutcome, DeploymentReport, first_deployment};
pub use error::{AwsApiError, Error, ErrorKind, Result};
pub use inventory::Inventory;
pub use plan::{Plan, PlanError};
pub use spec::Migration;
pub use steps::ecs_service::DROPPED_FIELDS as DROPPED_SERVICE_FIELDS;
pub use stats::{CallRecorder, RecordedCall};
pub use txn::journal::{FileJournal, InMemoryJournal, Journal};
pub use txn::{ApplyOptions, Outcome, RollbackReport, resume, rollback};
