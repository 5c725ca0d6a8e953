//! API-call accounting: an interceptor that records every AWS call made through
//! [`AwsClients`](crate::AwsClients) built with it.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One recorded AWS call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedCall {
    /// Service name as the SDK knows it, e.g. `ECS`.
    pub service: String,
    /// Operation name, e.g. `DescribeServices`.
    pub operation: String,
}

impl RecordedCall {
    /// Whether the operation only reads (Describe/Get/List/BatchGet).
    pub fn is_read_only(&self) -> bool {
        ["Describe", "Get", "List", "BatchGet"].iter().any(|p| self.operation.starts_with(p))
    }
}

/// Records every operation called (once per operation; SDK retries are not counted again).
#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    calls: Arc<Mutex<Vec<RecordedCall>>>,
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
            self.calls.lock().expect("call recorder poisoned").push(RecordedCall {
                service: meta.service().to_owned(),
                operation: meta.name().to_owned(),
            });
        }
        Ok(())
    }
}
