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
    ["Describe", "Get", "List", "BatchGet", "Simulate"].iter().any(|p| op.starts_with(p)) || matches!(op, "PutParameter" | "DeleteParameter")
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

/// Loses the answer of the mutating calls numbered in `lose_at` (1-based, numbered as
/// [`FailNthMutation`] does): the request reaches the service and takes effect, then the
/// attempt ends in a timeout as if the answer never arrived. The SDK's retry (on by default)
/// sends the call again and gets the service's second answer ("already exists", "not found").
///
/// Used by `examples/migrate.rs` (test hook `ECS_BLUEGREEN_LOSE_ANSWERS`).
#[derive(Debug, Clone)]
pub struct LoseNthAnswer {
    pub lose_at: Vec<usize>,
    pub seen: Arc<AtomicUsize>,
}

/// Marks an operation whose first attempt's answer is to be lost.
#[derive(Debug, Clone)]
struct LoseFirstAnswer(Arc<std::sync::atomic::AtomicBool>);

impl aws_smithy_types::config_bag::Storable for LoseFirstAnswer {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl LoseNthAnswer {
    pub fn at(lose_at: Vec<usize>) -> Self {
        Self { lose_at, seen: Arc::default() }
    }
}

impl Intercept for LoseNthAnswer {
    fn name(&self) -> &'static str {
        "LoseNthAnswer"
    }
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else { return Ok(()) };
        if is_read_only(meta.name()) {
            return Ok(());
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.lose_at.contains(&n) {
            cfg.interceptor_state().store_put(LoseFirstAnswer(Arc::default()));
        }
        Ok(())
    }
    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(mark) = cfg.load::<LoseFirstAnswer>() else { return Ok(()) };
        // Only the first attempt's answer is lost; the retry's answer arrives.
        if !mark.0.swap(true, Ordering::SeqCst) {
            use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
            use aws_smithy_runtime_api::client::result::ConnectorError;
            let lost = ConnectorError::timeout("injected fault: the answer was lost after the service did the call".into());
            context.inner_mut().set_output_or_error(Err(OrchestratorError::connector(lost)));
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
