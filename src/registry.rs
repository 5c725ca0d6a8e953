//! The registry of users' step kinds: how a plan or a journal's [`CustomChange`] becomes a
//! [`Step`] again, so `apply`, `resume` and `rollback` can run and undo users' steps, also in
//! a process that did not plan them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::plan::CustomChange;
use crate::step::Step;

type Factory = Arc<dyn Fn(&CustomChange) -> Result<Box<dyn Step>> + Send + Sync>;

/// Users' step kinds, by name. Built-in steps need no registration.
///
/// ```
/// use ecs_bluegreen::StepRegistry;
/// # use ecs_bluegreen::step::*; use ecs_bluegreen::journal::Effect; use futures::future::BoxFuture;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct DnsRecord { name: String }
/// # impl Step for DnsRecord {
/// #   fn id(&self) -> StepId { StepId::new("acme/dns").unwrap() }
/// #   fn depends_on(&self) -> Vec<StepId> { vec![] }
/// #   fn planned(&self) -> Planned { Planned::custom("acme/dns-record", ecs_bluegreen::plan::Action::Create, "dns", self).unwrap() }
/// #   fn apply<'a>(&'a self, _: &'a StepContext<'a>) -> BoxFuture<'a, ecs_bluegreen::Result<()>> { Box::pin(async { Ok(()) }) }
/// #   fn undo<'a>(&'a self, _: &'a UndoContext<'a>, _: &'a Effect, _: bool) -> BoxFuture<'a, ecs_bluegreen::Result<()>> { Box::pin(async { Ok(()) }) }
/// # }
/// let registry = StepRegistry::new().register::<DnsRecord>("acme/dns-record");
/// assert!(registry.knows("acme/dns-record"));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct StepRegistry {
    factories: BTreeMap<String, Factory>,
}

impl fmt::Debug for StepRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.factories.keys()).finish()
    }
}

impl StepRegistry {
    /// An empty registry (the built-in steps only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a step type that is its own serialised state: the plan's state is
    /// deserialised back into `T`.
    pub fn register<T>(self, kind: impl Into<String>) -> Self
    where
        T: Step + DeserializeOwned + 'static,
    {
        self.register_with(kind, |state| {
            let step: T = serde_json::from_value(state.clone())
                .map_err(|e| Error::custom(format!("cannot rebuild the step from its state: {e}")))?;
            Ok(Box::new(step))
        })
    }

    /// Registers a factory: for steps that carry what is not serialised, such as their own
    /// SDK clients (capture them in the closure).
    pub fn register_with(
        mut self,
        kind: impl Into<String>,
        factory: impl Fn(&serde_json::Value) -> Result<Box<dyn Step>> + Send + Sync + 'static,
    ) -> Self {
        self.factories.insert(kind.into(), Arc::new(move |c: &CustomChange| factory(c.state())));
        self
    }

    /// Whether `kind` is registered.
    pub fn knows(&self, kind: &str) -> bool {
        self.factories.contains_key(kind)
    }

    /// Rebuilds a user's step from its planned change.
    pub(crate) fn build(&self, change: &CustomChange) -> Result<Box<dyn Step>> {
        match self.factories.get(change.kind()) {
            Some(f) => f(change),
            None => Err(Error::UnregisteredStep(crate::error::UnregisteredStep::new(
                change.kind(),
                self.factories.keys().cloned().collect(),
            ))),
        }
    }
}
