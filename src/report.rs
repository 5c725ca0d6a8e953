//! What a run reports: its [`Outcome`], and what a rollback undid or left behind.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a successful run did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Every change was applied.
    Applied,
    /// The account already matched the plan; nothing was written.
    NothingToDo,
    /// A resumed run found an interrupted rollback and finished it.
    RolledBack(RollbackReport),
}

/// Something a rollback could not undo.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOver {
    /// The resource.
    pub what: String,
    /// Why undoing failed.
    pub error: String,
    /// How to remove or restore it by hand.
    pub how_to_fix: String,
}

impl LeftOver {
    /// A resource left behind.
    pub fn new(what: impl Into<String>, error: impl Into<String>, how_to_fix: impl Into<String>) -> Self {
        Self { what: what.into(), error: error.into(), how_to_fix: how_to_fix.into() }
    }
}

/// The result of a rollback. Check [`RollbackReport::is_clean`]: when it is not, resources
/// are left behind and [`RollbackReport::left_over`] says what and how to fix it.
#[must_use = "a rollback may leave resources behind; check is_clean()"]
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackReport {
    /// Effects undone, in undo order.
    pub undone: Vec<String>,
    /// Effects that could not be undone.
    pub left_over: Vec<LeftOver>,
}

impl RollbackReport {
    /// Whether everything was undone.
    pub fn is_clean(&self) -> bool {
        self.left_over.is_empty()
    }
}

impl fmt::Display for RollbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            write!(f, "rolled back {} change(s); the account is as it was", self.undone.len())?;
        } else {
            writeln!(f, "rollback INCOMPLETE: {} change(s) undone, {} left:", self.undone.len(), self.left_over.len())?;
            for l in &self.left_over {
                writeln!(f, "  - {}: {}\n    fix: {}", l.what, l.error, l.how_to_fix)?;
            }
        }
        Ok(())
    }
}
