//! Helpers for the mocked tests (`tests/mocked/main.rs`: `#[macro_use] mod mocks;`) on top of
//! the test kit (`ecs_bluegreen::testing`): the stateful account is the kit's `MockAccount`;
//! tests put scripted rules *in front of* it (`Rules`), and the first matching rule answers.
//!
//! Modeled errors carry `ErrorMetadata` with the AWS error code, because the library (like
//! the SDK's retry classifier) classifies errors by code.
#![allow(dead_code)] // each test binary uses a different subset


use aws_smithy_mocks::Rule;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use ecs_bluegreen::testing::{AccountState, MockAccount, MockClients};
use ecs_bluegreen::{AwsClients, CallRecorder};

/// Error metadata with an AWS error code and message.
pub fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

/// A modeled error: `modeled!(OpError::Variant, ExceptionType, "Code", "message")`.
#[allow(unused_macros)]
macro_rules! modeled {
    ($variant:path, $exc:ident, $code:expr, $msg:expr) => {
        $variant($exc::builder().message($msg).meta($crate::mocks::meta($code, $msg)).build())
    };
}

/// Scripted rules, tried in order before the account answers.
#[derive(Debug, Clone, Default)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// These rules.
    pub fn of(rules: impl IntoIterator<Item = Rule>) -> Self {
        Self(rules.into_iter().collect())
    }

    /// These rules, then `more`.
    pub fn then(mut self, more: impl IntoIterator<Item = Rule>) -> Self {
        self.0.extend(more);
        self
    }
}

/// Clients answering only from `rules` (an unmatched request panics), recording into `recorder`.
pub fn clients(rules: &Rules, recorder: &CallRecorder, retry: RetryConfig) -> AwsClients {
    MockClients::new().rules(rules.0.iter().cloned()).interceptor(recorder.clone()).retry(retry).build()
}

/// The kit's account of the default scenario, with its starting state kept for comparison.
#[derive(Clone, Debug)]
pub struct World {
    pub account: MockAccount,
    start: AccountState,
}

impl World {
    /// The sample account (`support::sample`): nothing of the migration exists.
    pub fn sample() -> Self {
        let account = MockAccount::default_scenario();
        let start = account.state();
        World { account, start }
    }

    /// A copy of the state.
    pub fn state(&self) -> AccountState {
        self.account.state()
    }

    /// Panics unless every resource is as it was at the start.
    pub fn assert_as_before(&self, context: &str) {
        let diffs = self.start.differences(&self.account.state());
        assert!(diffs.is_empty(), "{context}: the account differs from the start:\n{}", diffs.join("\n"));
    }

    /// How often the account answered `operation` (scripted rules in front of it not counted).
    pub fn calls(&self, operation: &str) -> usize {
        self.account.calls().iter().filter(|c| c.operation == operation).count()
    }

    /// Clients answering from the account, with `extra` (e.g. a fault injector) on every client.
    pub fn clients_with<I>(&self, recorder: &CallRecorder, extra: &I) -> AwsClients
    where
        I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
    {
        self.account.clients_from(MockClients::new().interceptor(recorder.clone()).interceptor(extra.clone()))
    }

    /// Clients trying `faults` first, then the account; recording into `recorder`.
    pub fn clients(&self, faults: &Rules, recorder: &CallRecorder, retry: RetryConfig) -> AwsClients {
        self.account.clients_from(MockClients::new().rules(faults.0.iter().cloned()).interceptor(recorder.clone()).retry(retry))
    }
}

/// A journal whose process dies at its `n`th write (`CrashAt(InMemoryJournal::new(), n,
/// 0.into())`): that append fails as a crash would, and the journal keeps what came before.
pub struct CrashAt(pub ecs_bluegreen::InMemoryJournal, pub usize, pub std::sync::atomic::AtomicUsize);

impl ecs_bluegreen::Journal for CrashAt {
    fn append(&self, entry: ecs_bluegreen::journal::Entry) -> ecs_bluegreen::Result<u64> {
        if self.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == self.1 {
            return Err(ecs_bluegreen::Error::Journal("simulated crash".into()));
        }
        self.0.append(entry)
    }
    fn records(&self) -> ecs_bluegreen::Result<Vec<ecs_bluegreen::journal::Record>> {
        self.0.records()
    }
}
