//! Fault injection: an SDK interceptor that fails chosen mutating calls of a run.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Fails the mutating calls numbered in `fail_at` (1-based); counts them all in `seen`.
///
/// Also used by `examples/migrate.rs` (test hook `ECS_BLUEGREEN_FAIL_MUTATIONS`), so it depends
/// only on the SDK crates.
#[derive(Debug, Clone)]
pub struct FailNthMutation {
    pub fail_at: Vec<usize>,
    pub seen: Arc<AtomicUsize>,
    pub armed: Arc<std::sync::atomic::AtomicBool>,
}

impl FailNthMutation {
    pub fn new(fail_at: usize) -> Self {
        Self::at(vec![fail_at])
    }
    /// Fails every call numbered in `fail_at`.
    pub fn at(fail_at: Vec<usize>) -> Self {
        Self { fail_at, seen: Arc::default(), armed: Arc::new(true.into()) }
    }
    /// Stops injecting (e.g. before the rollback runs).
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }
}

/// Read-only calls and the run lock's SSM calls are not numbered (as in the kit's
/// `Fault::nth_mutation`): the numbers count changes to the migrated resources.
fn is_read_only(op: &str) -> bool {
    ["Describe", "Get", "List", "BatchGet"].iter().any(|p| op.starts_with(p)) || matches!(op, "PutParameter" | "DeleteParameter")
}

impl Intercept for FailNthMutation {
    fn name(&self) -> &'static str {
        "FailNthMutation"
    }
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else { return Ok(()) };
        if is_read_only(meta.name()) || !self.armed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail_at.contains(&n) {
            return Err(format!("injected fault at mutating call {n} ({})", meta.name()).into());
        }
        Ok(())
    }
}

/// Makes every mutating call take `delay` longer (blocking the calling thread before the
/// request is sent), so a test can signal a run in the middle. Used by `examples/migrate.rs`
/// (test hook `ECS_BLUEGREEN_SLOW_MUTATIONS`, milliseconds).
#[derive(Debug, Clone)]
pub struct SlowMutations(pub std::time::Duration);

impl Intercept for SlowMutations {
    fn name(&self) -> &'static str {
        "SlowMutations"
    }
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().is_some_and(|m| !is_read_only(m.name())) {
            std::thread::sleep(self.0);
        }
        Ok(())
    }
}
