#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod artifacts;
pub mod cancel;
pub mod clients;
pub mod compose;
pub(crate) mod convert;
pub mod deploy;
pub(crate) mod digest;
pub mod discover;
pub mod error;
pub mod events;
pub mod fleet;
pub mod iac;
pub mod iam_policy;
pub mod identity;
pub mod inventory;
pub mod journal;
pub mod lock;
mod lock_holder;
pub mod options;
pub mod permission;
pub mod permissions;
pub mod pipeline_role;
pub mod plan;
pub mod refusal;
pub mod registry;
pub mod report;
pub mod spec;
pub mod stats;
pub mod step;
pub(crate) mod steps;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub mod txn;
pub mod verify;
pub mod wait;

pub use cancel::CancelToken;
pub use clients::{AwsClients, AwsClientsBuilder, CallTimeouts};
pub use compose::Transaction;
pub use deploy::{DeployOptions, DeployRequest, DeploymentOutcome, DeploymentReport, first_deployment};
pub use error::{AwsApiError, Error, ErrorKind, Result};
pub use events::{Event, EventKind};
pub use inventory::Inventory;
pub use journal::{FileJournal, InMemoryJournal, Journal};
pub use options::ApplyOptions;
pub use plan::{Plan, PlanError};
pub use registry::StepRegistry;
pub use report::{Outcome, RollbackReport};
pub use spec::{Migration, StepId};
pub use step::Step;
pub use steps::ecs_service::DROPPED_FIELDS as DROPPED_SERVICE_FIELDS;
pub use stats::{CallRecorder, RecordedCall};
pub use txn::{resume, rollback};
