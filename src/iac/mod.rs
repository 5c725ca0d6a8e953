//! Hand the migrated account back to infrastructure as code.
//!
//! After a migration the team's Terraform no longer matches the account: the next `terraform
//! apply` would undo the migration or recreate the service. From the journal of a run and the
//! live account this module writes what brings the code back in line:
//!
//! - [`read`] (I/O, read-only) collects what the run created, recreated or changed, with each
//!   resource's live values, into a plain [`HandOff`];
//! - [`render_terraform`] (pure) turns a [`HandOff`] into `imports.tf` (import blocks with the
//!   AWS provider's import IDs), `resources.tf` (configuration matching the live values),
//!   `removed.tf` (after a rollback) and a `README.md`; an [`AddressMap`] places resources at the
//!   user's own addresses;
//! - [`render_cloudformation`] (pure) writes CloudFormation template snippets with
//!   `DeletionPolicy: Retain`, the resource-import file and the import steps;
//! - [`terraform`] and [`cloudformation`] read and render.

pub mod address;
mod cloudformation;
mod fmt;
mod live;
pub mod model;
mod terraform;

use std::path::{Path, PathBuf};

pub use address::{Address, AddressMap};
pub use cloudformation::{CloudFormationFiles, IMPORT_FILE, TEMPLATE_FILE, render as render_cloudformation};
pub use live::read;
pub use model::HandOff;
pub use terraform::{ImportEntry, TerraformFiles, render as render_terraform};

use crate::AwsClients;
use crate::error::Result;
use crate::journal::Record;

/// Reads the hand-off of the journal's last run (see [`read`]) and renders it for Terraform.
///
/// # Errors
/// As [`read`]; [`crate::Error::Validation`] when `map` does not fit the hand-off.
pub async fn terraform(aws: &AwsClients, records: &[Record], map: &AddressMap) -> Result<TerraformFiles> {
    let hand = read(aws, records).await?;
    Ok(render_terraform(&hand, map)?)
}

/// Reads the hand-off of the journal's last run (see [`read`]) and renders it for CloudFormation.
///
/// # Errors
/// As [`read`].
pub async fn cloudformation(aws: &AwsClients, records: &[Record]) -> Result<CloudFormationFiles> {
    Ok(render_cloudformation(&read(aws, records).await?))
}

impl CloudFormationFiles {
    /// Writes the files into `dir` (created if missing), replacing files of those names, and
    /// returns their paths.
    ///
    /// # Errors
    /// Any I/O error; files written before it stay.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> std::io::Result<Vec<PathBuf>> {
        write_files(dir.as_ref(), &self.files())
    }
}

impl TerraformFiles {
    /// Writes the files into `dir` (created if missing), replacing files of those names, and
    /// returns their paths.
    ///
    /// # Errors
    /// Any I/O error; files written before it stay.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> std::io::Result<Vec<PathBuf>> {
        write_files(dir.as_ref(), &self.files())
    }
}

fn write_files(dir: &Path, files: &[(&str, &str)]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content)?;
        written.push(path);
    }
    Ok(written)
}
