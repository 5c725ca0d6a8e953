#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clients;
pub mod discover;
pub mod error;
pub mod inventory;
pub mod plan;
pub mod spec;
pub mod stats;

pub use clients::{AwsClients, AwsClientsBuilder};
pub use error::{AwsApiError, Error, ErrorKind, Result};
pub use inventory::Inventory;
pub use plan::{Plan, PlanError};
pub use spec::Migration;
pub use stats::{CallRecorder, RecordedCall};
