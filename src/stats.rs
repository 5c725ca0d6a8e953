//! API-call accounting: an interceptor that records every AWS call made through
//! [`AwsClients`](crate::AwsClients) built with it.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// One recorded AWS call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RecordedCall {
    /// Service name as the SDK knows it, e.g. `ECS`.
    pub service: String,
    /// Operation name, e.g. `DescribeServices`.
    pub operation: String,
    /// When the call started, relative to the recorder's creation.
    #[serde(skip)]
    pub started: std::time::Duration,
    /// When it ended (`None` while in flight).
    #[serde(skip)]
    pub ended: Option<std::time::Duration>,
}

impl RecordedCall {
    /// Whether the operation only reads (Describe/Get/List/BatchGet, and IAM's policy simulation).
    pub fn is_read_only(&self) -> bool {
        ["Describe", "Get", "List", "BatchGet", "Simulate"].iter().any(|p| self.operation.starts_with(p))
    }
}

/// Records every operation called (once per operation; SDK retries are not counted again).
#[derive(Debug, Clone)]
pub struct CallRecorder {
    calls: Arc<Mutex<Vec<RecordedCall>>>,
    origin: std::time::Instant,
}

impl Default for CallRecorder {
    fn default() -> Self {
        Self { calls: Arc::default(), origin: std::time::Instant::now() }
    }
}

/// Index of the current call in the recorder, kept in the call's config bag.
#[derive(Debug, Clone, Copy)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl CallRecorder {
    /// A new, empty recorder.
    pub fn new() -> Self {
        Self::default()
    }
    /// The calls seen so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().expect("call recorder poisoned").clone()
    }
    /// The calls that were not read-only.
    pub fn mutating_calls(&self) -> Vec<RecordedCall> {
        self.calls().into_iter().filter(|c| !c.is_read_only()).collect()
    }
    /// The longest chain of calls that ran one after another (each starting after the previous
    /// one ended): the number of round trips a run could not overlap. Calls still in flight
    /// are not counted.
    pub fn critical_path_len(&self) -> usize {
        let mut spans: Vec<_> = self.calls().into_iter().filter_map(|c| Some((c.started, c.ended?))).collect();
        // Greedy by end time gives the most non-overlapping spans, i.e. the longest sequential chain.
        spans.sort_by_key(|&(_, end)| end);
        let mut last_end = None;
        let mut n = 0;
        for (start, end) in spans {
            if last_end.is_none_or(|e| start >= e) {
                n += 1;
                last_end = Some(end);
            }
        }
        n
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.calls.lock().expect("call recorder poisoned").clear();
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "ecs_bluegreen::CallRecorder"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let mut calls = self.calls.lock().expect("call recorder poisoned");
            calls.push(RecordedCall {
                service: meta.service().to_owned(),
                operation: meta.name().to_owned(),
                started: self.origin.elapsed(),
                ended: None,
            });
            let index = CallIndex(calls.len() - 1);
            drop(calls);
            cfg.interceptor_state().store_put(index);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(i)) = cfg.load::<CallIndex>().copied()
            && let Some(c) = self.calls.lock().expect("call recorder poisoned").get_mut(i)
        {
            c.ended = Some(self.origin.elapsed());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(start: u64, end: u64) -> RecordedCall {
        RecordedCall {
            service: "S".into(),
            operation: "Op".into(),
            started: Duration::from_millis(start),
            ended: Some(Duration::from_millis(end)),
        }
    }

    #[test]
    fn critical_path_counts_the_longest_sequential_chain() {
        let r = CallRecorder::new();
        // Three concurrent calls, then two in sequence, then one overlapping the last.
        r.calls.lock().unwrap().extend([call(0, 10), call(1, 12), call(2, 8), call(13, 20), call(21, 30), call(25, 31)]);
        assert_eq!(r.critical_path_len(), 3);
        assert_eq!(CallRecorder::new().critical_path_len(), 0);
    }
}
